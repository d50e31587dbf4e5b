import { performance } from 'node:perf_hooks';
import { createRng } from './dataset/rng.js';
import { framesToReadings, FRAME_MS, type Frame, type Reading } from './features/frames.js';
import { HOP_MS } from './features/windows.js';
import { createZScoreBaseline } from './models/baseline.js';
import { RULES_ONLY_MODEL, type ClutchModel } from './models/model.js';
import { createOnlineScorer } from './online/scorer.js';
import { createVehicleNormal, parseVehicleNormal, type VehicleNormal } from './normal/vehicle-normal.js';
import { learnNormalFromFrames } from './normal/learn-offline.js';
import { FEATURE_SIGNALS, SIGNAL_COUNT } from './signals.js';

export interface ScoringThroughput {
  windowsPerSecond: number;
  meanMsPerBatch: number;
}

export interface ScoringBenchmark extends ScoringThroughput {
  baseline: ScoringThroughput;
  /** Our windows/s divided by the baseline's (higher is better for us). */
  ratio: number;
  windows: number;
  batches: number;
}

export interface BenchmarkOptions {
  /** Number of 15 s scoring windows to push (each is one ingest batch of 30 frames × 11 signals). */
  windows: number;
  /** Frames to replay (e.g. a real carOBD drive); synthetic idle/drive frames when omitted. */
  frames?: readonly Frame[];
  model?: ClutchModel;
  vehicles?: number;
  /**
   * A calibrated normal every bench vehicle starts from (learn it once with `calibratedNormal`): with
   * it the per-vehicle checks and the anomaly model run as they do on a car past calibration; without
   * it every vehicle is still calibrating and only the always-on checks run.
   */
  normal?: VehicleNormal;
}

/**
 * A vehicle's normal learned through the model's scoring path from `frames` replayed as separate
 * trips (10 min apart) until `hours` of data: a bench vehicle past calibration. Real use learns from
 * the car's own first hours instead.
 */
export function calibratedNormal(
  frames: readonly Frame[],
  model: ClutchModel = RULES_ONLY_MODEL,
  hours = 4,
): VehicleNormal {
  const normal = createVehicleNormal();
  if (frames.length === 0) return normal;
  const span = (frames[frames.length - 1] as Frame).t - (frames[0] as Frame).t + 600_000;
  const copies = Math.max(1, Math.ceil((hours * 3_600_000) / span));
  const t0 = (frames[0] as Frame).t;
  const replay: Frame[] = [];
  for (let c = 0; c < copies; c++) for (const f of frames) replay.push({ t: f.t - t0 + c * span, v: f.v });
  learnNormalFromFrames(normal, replay, { model });
  return normal;
}

/** Plausible, deterministic frames (warm engine, alternating idle and cruise) when no drive is given. */
function syntheticFrames(count: number): Frame[] {
  const rng = createRng(1);
  return Array.from({ length: count }, (_, i) => {
    const moving = Math.floor(i / 600) % 2 === 1;
    const v = new Float64Array(SIGNAL_COUNT);
    v.set([
      moving ? 2000 + 300 * rng.normal() : 750 + 20 * rng.normal(),
      moving ? 60 + 5 * rng.normal() : 0,
      moving ? 40 + 10 * rng.normal() : 27 + rng.normal(),
      88 + Math.round(rng.normal()),
      40,
      2 * rng.normal(),
      -1,
      moving ? 45 + 5 * rng.normal() : 28 + rng.normal(),
      moving ? 22 : 16,
      500,
      13.9 + 0.05 * rng.normal(),
    ]);
    return { t: i * FRAME_MS, v };
  });
}

/**
 * Measures the online scorer the way ingest calls it (readings batches per vehicle) and the z-score
 * baseline on the same frames, in the same run. For the lead's bench; prints nothing.
 */
export function benchmarkScoring(options: BenchmarkOptions): ScoringBenchmark {
  const perWindow = HOP_MS / FRAME_MS;
  const total = options.windows * perWindow;
  const source =
    options.frames && options.frames.length > 0 ? options.frames : syntheticFrames(Math.min(total, 20_000));
  const frames: Frame[] = Array.from({ length: total }, (_, i) => {
    const f = source[i % source.length] as Frame;
    return { t: i * FRAME_MS, v: f.v };
  });
  const vehicles = Math.max(1, options.vehicles ?? 1);
  const batches: { vehicle: string; frames: Frame[]; readings: Reading[] }[] = [];
  for (let b = 0; b * perWindow < frames.length; b++) {
    const slice = frames.slice(b * perWindow, (b + 1) * perWindow);
    batches.push({ vehicle: `v${b % vehicles}`, frames: slice, readings: framesToReadings(slice, FEATURE_SIGNALS) });
  }
  const scorer = createOnlineScorer({ model: options.model ?? RULES_ONLY_MODEL });
  if (options.normal) {
    // Each vehicle gets its own copy: the scorer updates a normal in place.
    const json = JSON.stringify(options.normal);
    for (let v = 0; v < vehicles; v++) scorer.seedNormal(`v${v}`, parseVehicleNormal(JSON.parse(json)));
  }
  let start = performance.now();
  for (const batch of batches) scorer.push(batch.vehicle, batch.readings);
  const oursMs = performance.now() - start;
  const baseline = createZScoreBaseline();
  start = performance.now();
  for (const batch of batches) baseline.pushFrames(batch.vehicle, batch.frames);
  const baseMs = performance.now() - start;
  const throughput = (ms: number): ScoringThroughput => ({
    windowsPerSecond: batches.length / Math.max(ms / 1000, 1e-9),
    meanMsPerBatch: ms / batches.length,
  });
  const ours = throughput(oursMs);
  const base = throughput(baseMs);
  return {
    ...ours,
    baseline: base,
    ratio: ours.windowsPerSecond / base.windowsPerSecond,
    windows: batches.length,
    batches: batches.length,
  };
}
