import { listDriveFiles, loadDrives, type Drive } from '../dataset/carobd.js';
import { splitDrives, type DriveSplit } from '../dataset/split.js';
import type { Frame } from '../features/frames.js';
import { createZScoreBaseline } from '../models/baseline.js';
import type { ClutchModel } from '../models/model.js';
import { trainModel, type TrainedModel } from '../models/train.js';
import { createOnlineScorer } from '../online/scorer.js';
import { FAULT_TYPES, injectFault, type FaultType } from './inject.js';

/** Anything that turns a drive's frames into alert times. */
export type Detector = (frames: readonly Frame[]) => { at: number; label: string }[];

export function modelDetector(model: ClutchModel): Detector {
  return (frames) => {
    const scorer = createOnlineScorer({ model, now: () => 0 });
    return scorer.pushFrames('eval', frames).map((a) => ({ at: a.at, label: a.condition }));
  };
}

export function baselineDetector(): Detector {
  return (frames) => {
    const baseline = createZScoreBaseline();
    return baseline.pushFrames('eval', frames).map((a) => ({ at: a.at, label: `zscore.${a.signal}` }));
  };
}

export interface FaultMetrics {
  fault: FaultType | 'clean';
  episodes: number;
  truePositives: number;
  falsePositives: number;
  precision: number;
  recall: number;
  f1: number;
  medianDelayS: number;
}

export interface DetectorReport {
  name: string;
  perFault: FaultMetrics[];
  cleanDrives: number;
  cleanHours: number;
  cleanAlerts: number;
  falseAlarmsPer100h: number;
  /** Labels of alerts on clean drives, to see what fires falsely. */
  cleanAlertLabels: Record<string, number>;
  minF1: number;
}

export interface EvaluationReport {
  seed: number;
  split: DriveSplit;
  testFiles: string[];
  copiesPerDrive: number;
  training: Omit<TrainedModel, 'model'>;
  model: ClutchModel;
  detectors: DetectorReport[];
  seconds: number;
}

export interface EvaluateOptions {
  datasetDir: string;
  seed?: number;
  /** Faulty copies per test drive and fault type (different onsets and magnitudes). */
  copiesPerDrive?: number;
  epochs?: number;
  /** Test drives shorter than this cannot show a fault and its detection. */
  minDriveMinutes?: number;
  log?: (line: string) => void;
  /** Evaluate this model instead of training one. */
  model?: ClutchModel;
}

function durationHours(frames: readonly Frame[]): number {
  if (frames.length < 2) return 0;
  return ((frames[frames.length - 1] as Frame).t - (frames[0] as Frame).t) / 3_600_000;
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Episode-level scoring. A faulty copy is a positive episode: it is a true positive when any alert
 * fires at or after onset, and it also counts a false positive when an alert fires before onset.
 * Each clean test drive with any alert is a false-positive episode charged to EVERY fault type.
 */
export function scoreDetector(
  name: string,
  detector: Detector,
  clean: readonly Drive[],
  faulty: ReadonlyMap<FaultType, ReturnType<typeof injectFault>[]>,
): DetectorReport {
  let cleanAlerts = 0;
  let cleanEpisodesWithAlert = 0;
  let cleanHours = 0;
  const cleanAlertLabels: Record<string, number> = {};
  for (const d of clean) {
    const alerts = detector(d.frames);
    cleanHours += durationHours(d.frames);
    cleanAlerts += alerts.length;
    if (alerts.length > 0) cleanEpisodesWithAlert++;
    for (const a of alerts) cleanAlertLabels[a.label] = (cleanAlertLabels[a.label] ?? 0) + 1;
  }
  const perFault: FaultMetrics[] = [];
  for (const fault of FAULT_TYPES) {
    const copies = faulty.get(fault) ?? [];
    let tp = 0;
    let fpBefore = 0;
    const delays: number[] = [];
    for (const copy of copies) {
      const alerts = detector(copy.frames);
      const after = alerts.filter((a) => a.at >= copy.onsetMs);
      if (alerts.some((a) => a.at < copy.onsetMs)) fpBefore++;
      if (after.length > 0) {
        tp++;
        delays.push((Math.min(...after.map((a) => a.at)) - copy.onsetMs) / 1000);
      }
    }
    const fp = fpBefore + cleanEpisodesWithAlert;
    const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
    const recall = copies.length === 0 ? 0 : tp / copies.length;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    perFault.push({
      fault,
      episodes: copies.length,
      truePositives: tp,
      falsePositives: fp,
      precision,
      recall,
      f1,
      medianDelayS: median(delays),
    });
  }
  return {
    name,
    perFault,
    cleanDrives: clean.length,
    cleanHours,
    cleanAlerts,
    falseAlarmsPer100h: cleanHours === 0 ? NaN : (cleanAlerts / cleanHours) * 100,
    cleanAlertLabels,
    minF1: Math.min(...perFault.map((m) => m.f1)),
  };
}

export async function runEvaluation(options: EvaluateOptions): Promise<EvaluationReport> {
  const started = Date.now();
  const seed = options.seed ?? 7;
  const log = options.log ?? (() => undefined);
  const copies = options.copiesPerDrive ?? 2;
  const files = await listDriveFiles(options.datasetDir);
  const split = splitDrives(files, seed);
  log(
    `split by drive file (seed ${seed}): ${split.train.length} train, ${split.validation.length} validation, ${split.test.length} test`,
  );
  let trained: TrainedModel;
  if (options.model) {
    trained = {
      model: options.model,
      trainingWindows: 0,
      validationWindows: 0,
      lossHistory: [],
      validationScore: NaN,
      backend: 'n/a',
    };
  } else {
    trained = await trainModel(options.datasetDir, split, { seed, epochs: options.epochs });
    log(
      `trained autoencoder on ${trained.trainingWindows} windows (${trained.backend}); final loss ` +
        `${trained.lossHistory[trained.lossHistory.length - 1]?.toFixed(4)}, threshold ${trained.model.autoencoder?.threshold.toFixed(3)}`,
    );
  }
  const minMs = (options.minDriveMinutes ?? 8) * 60_000;
  const test = (await loadDrives(options.datasetDir, split.test)).filter(
    (d) => durationHours(d.frames) * 3_600_000 >= minMs,
  );
  const faulty = new Map<FaultType, ReturnType<typeof injectFault>[]>();
  for (const fault of FAULT_TYPES) {
    faulty.set(
      fault,
      test.flatMap((d) => Array.from({ length: copies }, (_, k) => injectFault(d, fault, { seed: seed * 1000 + k }))),
    );
  }
  log(`test: ${test.length} drives, ${copies} faulty copies per drive and fault type`);
  const detectors = [
    scoreDetector('autoencoder + health checks', modelDetector(trained.model), test, faulty),
    scoreDetector('baseline: rolling z-score', baselineDetector(), test, faulty),
  ];
  const { model, ...training } = trained;
  return {
    seed,
    split,
    testFiles: test.map((d) => d.file),
    copiesPerDrive: copies,
    training,
    model,
    detectors,
    seconds: (Date.now() - started) / 1000,
  };
}

const pct = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '  -  ');

export function formatReport(report: EvaluationReport): string {
  const lines: string[] = [];
  for (const d of report.detectors) {
    lines.push('', `== ${d.name} ==`);
    lines.push('fault type     episodes  TP  FP  precision  recall     F1   median delay (s)');
    for (const m of d.perFault) {
      lines.push(
        `${m.fault.padEnd(14)} ${String(m.episodes).padStart(8)} ${String(m.truePositives).padStart(3)} ${String(m.falsePositives).padStart(3)}` +
          `  ${pct(m.precision).padStart(9)}  ${pct(m.recall).padStart(6)}  ${pct(m.f1).padStart(5)}   ${Number.isFinite(m.medianDelayS) ? m.medianDelayS.toFixed(0).padStart(8) : '       -'}`,
      );
    }
    lines.push(
      `clean test drives: ${d.cleanDrives} (${d.cleanHours.toFixed(1)} vehicle-hours), alerts: ${d.cleanAlerts}, ` +
        `false alarms/100h: ${d.falseAlarmsPer100h.toFixed(2)}`,
    );
    const labels = Object.entries(d.cleanAlertLabels);
    if (labels.length > 0) lines.push(`  false alarms by condition: ${labels.map(([k, v]) => `${k}×${v}`).join(', ')}`);
  }
  const ours = report.detectors[0];
  lines.push('', `evaluated in ${report.seconds.toFixed(1)} s`);
  lines.push(
    `min F1: ${ours ? ours.minF1.toFixed(3) : 'n/a'}, false alarms/100h: ${ours ? ours.falseAlarmsPer100h.toFixed(2) : 'n/a'}`,
  );
  return lines.join('\n');
}
