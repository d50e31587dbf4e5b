import type { Drive } from '../dataset/carobd.js';
import type { Frame } from '../features/frames.js';
import { createZScoreBaseline } from '../models/baseline.js';
import type { ClutchModel } from '../models/model.js';
import type { VehicleNormal } from '../normal/vehicle-normal.js';
import { createOnlineScorer } from '../online/scorer.js';
import { judgeEpisode, type ScoredAlert } from './attribution.js';
import { FAULT_TYPES, injectFault, type Applicability, type FaultType } from './inject.js';

/** What one detector raised on one drive, plus the samples it filtered as implausible (per signal). */
export interface DetectorRun {
  alerts: ScoredAlert[];
  dataQuality: Record<string, number>;
}

/** Anything that turns a drive's frames into alerts. */
export type Detector = (frames: readonly Frame[]) => DetectorRun;

/**
 * The production scoring path: an online scorer started from a copy of the vehicle's calibrated
 * normal (what ingest does with a stored normal), fed the drive frame by frame.
 */
export function modelDetector(model: ClutchModel, normal: VehicleNormal): Detector {
  return (frames) => {
    const scorer = createOnlineScorer({ model, now: () => 0 });
    scorer.seedNormal('eval', structuredClone(normal));
    const alerts = scorer
      .pushFrames('eval', frames)
      .map((a) => ({ at: a.at, condition: a.condition, signals: a.signals }));
    const dataQuality: Record<string, number> = {};
    for (const q of scorer.takeDataQuality()) dataQuality[q.signal] = (dataQuality[q.signal] ?? 0) + q.filtered;
    return { alerts, dataQuality };
  };
}

export function baselineDetector(): Detector {
  return (frames) => ({
    alerts: createZScoreBaseline()
      .pushFrames('eval', frames)
      .map((a) => ({ at: a.at, condition: `zscore.${a.signal}`, signals: [a.signal] })),
    dataQuality: {},
  });
}

export interface FaultMetrics {
  fault: FaultType;
  /** False when the car lacks the fault's signals: no episodes, left out of min F1. */
  applicable: boolean;
  /** Why not applicable, e.g. "no ecu.control_module_voltage". */
  reason?: string;
  episodes: number;
  truePositives: number;
  falsePositives: number;
  precision: number;
  recall: number;
  f1: number;
  medianDelayS: number;
  /** Alerts on the faulty copies that did not name the fault, by condition (`before:` = before onset). */
  wrongAlerts: Record<string, number>;
}

export interface DetectorReport {
  name: string;
  perFault: FaultMetrics[];
  cleanDrives: number;
  cleanHours: number;
  cleanAlerts: number;
  falseAlarmsPer100h: number;
  /** Conditions of alerts on clean drives, to see what fires falsely. */
  cleanAlertLabels: Record<string, number>;
  /** Implausible samples the scorer filtered on the clean drives, per signal. */
  dataQuality: Record<string, number>;
  /** Over the applicable faults with episodes only; NaN when there is none. */
  minF1: number;
}

export function durationHours(frames: readonly Frame[]): number {
  if (frames.length < 2) return 0;
  return ((frames[frames.length - 1] as Frame).t - (frames[0] as Frame).t) / 3_600_000;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const bump = (counts: Record<string, number>, key: string, by = 1): void => {
  counts[key] = (counts[key] ?? 0) + by;
};

/** The episodes of one car: its clean test drives and how to make each faulty copy. */
export interface Episodes {
  clean: readonly Drive[];
  /** Test drives long enough to carry a fault (≥ 8 min with the engine running at some point). */
  faultable: readonly Drive[];
  applicability: readonly Applicability[];
  copies: number;
  seed: number;
  present: ReadonlySet<number>;
}

/**
 * Episode-level scoring. A faulty copy is a true positive when an alert naming the injected fault
 * fires at or after onset; it is a false positive when any alert fires before onset or an alert
 * naming something else fires after it (it can be both). Each clean test drive with any alert is
 * a false-positive episode charged to every fault type. Faulty copies are made one at a time, the
 * same for every detector (seeded), and dropped after scoring.
 */
export function scoreDetector(name: string, detector: Detector, episodes: Episodes): DetectorReport {
  let cleanAlerts = 0;
  let cleanWithAlert = 0;
  let cleanHours = 0;
  const cleanAlertLabels: Record<string, number> = {};
  const dataQuality: Record<string, number> = {};
  for (const d of episodes.clean) {
    const run = detector(d.frames);
    cleanHours += durationHours(d.frames);
    cleanAlerts += run.alerts.length;
    if (run.alerts.length > 0) cleanWithAlert++;
    for (const a of run.alerts) bump(cleanAlertLabels, a.condition);
    for (const [signal, n] of Object.entries(run.dataQuality)) bump(dataQuality, signal, n);
  }
  const perFault: FaultMetrics[] = [];
  for (const fault of FAULT_TYPES) {
    const app = episodes.applicability.find((a) => a.fault === fault);
    const wrongAlerts: Record<string, number> = {};
    if (!app?.applicable) {
      perFault.push({
        fault,
        applicable: false,
        ...(app?.reason ? { reason: app.reason } : {}),
        episodes: 0,
        truePositives: 0,
        falsePositives: 0,
        precision: NaN,
        recall: NaN,
        f1: NaN,
        medianDelayS: NaN,
        wrongAlerts,
      });
      continue;
    }
    let tp = 0;
    let fpEpisodes = 0;
    let n = 0;
    const delays: number[] = [];
    for (const drive of episodes.faultable) {
      for (let k = 0; k < episodes.copies; k++) {
        const copy = injectFault(drive, fault, { seed: episodes.seed * 1000 + k, present: episodes.present });
        const outcome = judgeEpisode(detector(copy.frames).alerts, copy.onsetMs, copy);
        n++;
        if (outcome.detected) {
          tp++;
          delays.push(outcome.delayS);
        }
        if (outcome.falsePositive) fpEpisodes++;
        for (const w of outcome.wrong) bump(wrongAlerts, w);
      }
    }
    const fp = fpEpisodes + cleanWithAlert;
    // No test drive long enough for a faulty copy: nothing measured (NaN), not a score of 0.
    const precision = n === 0 ? NaN : tp + fp === 0 ? 0 : tp / (tp + fp);
    const recall = n === 0 ? NaN : tp / n;
    const f1 = n === 0 ? NaN : precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    perFault.push({
      fault,
      applicable: true,
      episodes: n,
      truePositives: tp,
      falsePositives: fp,
      precision,
      recall,
      f1,
      medianDelayS: median(delays),
      wrongAlerts,
    });
  }
  const measured = perFault.filter((m) => m.applicable && Number.isFinite(m.f1));
  return {
    name,
    perFault,
    cleanDrives: episodes.clean.length,
    cleanHours,
    cleanAlerts,
    falseAlarmsPer100h: cleanHours === 0 ? NaN : (cleanAlerts / cleanHours) * 100,
    cleanAlertLabels,
    dataQuality,
    minF1: measured.length === 0 ? NaN : Math.min(...measured.map((m) => m.f1)),
  };
}
