import { createRng } from '../dataset/rng.js';
import type { Frame } from '../features/frames.js';
import {
  createSketch,
  FEATURE_COUNT,
  fitNormaliser,
  normaliseFeatures,
  normaliserFrom,
  sketchAdd,
  sketchQuantile,
  vehicleFeatures,
  MIN_PRESENT_SHARE,
  DEFAULT_SCALE_FLOOR,
  CONTEXT_ONLY,
  type FeatureNormaliser,
  type QuantileSketch,
  type VehicleFeatures,
} from '../features/vehicle-features.js';
import { FEATURE_NAMES, slidingWindows, windowFeatures, type FeatureWindow } from '../features/windows.js';
import { anomalyFinding } from '../health/anomaly.js';
import type { Finding } from '../health/types.js';
import { S } from '../signals.js';
import {
  anomalyScore,
  ARTIFACT_FORMAT,
  artifactId,
  featureSignal,
  fitMaskedAutoencoder,
  type AutoencoderArtifact,
  type MaskedExample,
  type ThresholdPolicy,
  type TrainOptions,
} from './autoencoder.js';
import { calibrate } from './calibration.js';
import type { ClutchModel } from './model.js';
import { fitVirtualMap } from './virtual-map.js';

/** What training returns: the deployable model plus figures for the training log. */
export interface TrainedModel {
  model: ClutchModel;
  trainingWindows: number;
  validationWindows: number;
  lossHistory: number[];
  validationScore: number;
  backend: string;
}

/**
 * Per-vehicle threshold policy. The first hour of running windows learns the vehicle's centre and
 * scale, the next two hours its own error distribution per feature (3 h in all, the same calibration
 * period as the vehicle normal). Each feature's limit is a margin over a high quantile of that
 * distribution (a quantile, not the maximum, so a fault present in under 1 % of the calibration
 * windows does not raise it), and never below a squared error of 20 (about 4.5 robust scales): the
 * least limit that kept clean drives free of alerts with a model trained on another car, while a
 * noisy or wrongly scaled sensor still lands far above it (its error saturates near the ±8 clamp).
 */
export const DEFAULT_THRESHOLD_POLICY: ThresholdPolicy = {
  normWindows: 240,
  scoreWindows: 480,
  quantile: 0.99,
  margin: 4,
  minThreshold: 20,
};

/** Marker probabilities of the score sketch. */
const SCORE_P: readonly number[] = [0, 0.5, 0.9, 0.99, 1];

/**
 * One vehicle's side of the fleet model (JSON, a few KB): its own feature centre and scale, its own
 * error distribution and the per-feature limits taken from it, and which artifact they belong to.
 */
export interface AnomalyState {
  version: 1;
  /** Artifact the state was learned with; another artifact resets it. */
  artifactId: string | null;
  /** Running windows learned into the normalisation so far. */
  normWindows: number;
  /** Per-feature streaming quantiles while the normalisation is learned (null once frozen). */
  sketches: QuantileSketch[] | null;
  /** Frozen robust centre and scale per feature (null: feature absent on this vehicle). */
  centre: (number | null)[] | null;
  scale: (number | null)[] | null;
  /** Windows scored into the vehicle's own error distribution. */
  scoreWindows: number;
  /** Per-feature streaming quantiles of the reconstruction error while the thresholds are learned. */
  scores: QuantileSketch[] | null;
  /**
   * This vehicle's limit per feature on the squared reconstruction error, once it has seen enough
   * windows (null: the feature is not judged on this vehicle).
   */
  thresholds: (number | null)[] | null;
}

export function createAnomalyState(): AnomalyState {
  return {
    version: 1,
    artifactId: null,
    normWindows: 0,
    sketches: null,
    centre: null,
    scale: null,
    scoreWindows: 0,
    scores: null,
    thresholds: null,
  };
}

/** A state learned with another artifact starts over (its scores mean nothing to this one). */
function bind(state: AnomalyState, artifact: AutoencoderArtifact): void {
  if (state.artifactId === artifact.id) return;
  Object.assign(state, createAnomalyState(), { artifactId: artifact.id });
}

function normaliserOf(state: AnomalyState): FeatureNormaliser | null {
  if (!state.centre || !state.scale) return null;
  return { centre: state.centre.map((c) => c ?? NaN), scale: state.scale.map((s) => s ?? NaN) };
}

const orNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** Learn this vehicle's feature normalisation and score distribution from a healthy window. */
export function learnAnomaly(state: AnomalyState, artifact: AutoencoderArtifact, window: FeatureWindow): void {
  bind(state, artifact);
  const f = vehicleFeatures(window);
  if (!f) return;
  const policy = artifact.threshold;
  if (!state.centre) {
    state.sketches ??= Array.from({ length: FEATURE_COUNT }, createSketch);
    for (let k = 0; k < FEATURE_COUNT; k++) if (f.present[k]) sketchAdd(state.sketches[k]!, f.x[k]!);
    state.normWindows++;
    if (state.normWindows >= policy.normWindows) {
      const norm = normaliserFrom(state.sketches, state.normWindows, artifact.scaleFloor);
      state.centre = norm.centre.map(orNull);
      state.scale = norm.scale.map(orNull);
      state.sketches = null;
    }
    return;
  }
  follow(state, f);
  // The threshold is frozen once set: a fault that lasts (and keeps being learned from) must not
  // raise the limit that is meant to catch it.
  if (state.thresholds !== null) return;
  const norm = normaliserOf(state)!;
  const { z, mask } = normaliseFeatures(norm, f);
  const { contributions } = anomalyScore(artifact, z, mask);
  state.scores ??= Array.from({ length: FEATURE_COUNT }, createSketch);
  for (let k = 0; k < FEATURE_COUNT; k++)
    if (mask[k] && artifact.scored[k]) sketchAdd(state.scores[k]!, contributions[k]!, SCORE_P);
  state.scoreWindows++;
  if (state.scoreWindows >= policy.scoreWindows) {
    const scores = state.scores;
    state.thresholds = scores.map((sk) =>
      sk.count < state.scoreWindows * MIN_PRESENT_SHARE
        ? null
        : Math.max(policy.minThreshold, policy.margin * sketchQuantile(sk, policy.quantile, SCORE_P)),
    );
    state.scores = null;
  }
}

/**
 * After the normalisation is frozen the centre keeps following the vehicle slowly: each learned
 * window moves it by at most ADAPT_RATE of a scale towards the window (a sign-like step, so one
 * absurd window weighs no more than a slightly high one). That is about one scale per hour of
 * driving: enough for the seasons (intake air follows the weather), far too slow to absorb a fault
 * the check raises within minutes.
 */
const ADAPT_RATE = 0.004;

function follow(state: AnomalyState, f: VehicleFeatures): void {
  const { centre, scale } = state;
  if (!centre || !scale) return;
  for (let k = 0; k < FEATURE_COUNT; k++) {
    const c = centre[k];
    const sc = scale[k];
    if (c === null || c === undefined || sc === null || sc === undefined || !f.present[k]) continue;
    const step = Math.max(-1, Math.min(1, ((f.x[k] as number) - c) / sc));
    centre[k] = c + ADAPT_RATE * step * sc;
  }
}

export function anomalyReady(state: AnomalyState, artifact: AutoencoderArtifact): boolean {
  return state.artifactId === artifact.id && state.thresholds !== null;
}

/** How far the vehicle is through the anomaly model's calibration (for "calibrating" displays). */
export function anomalyProgress(
  state: AnomalyState,
  artifact: AutoencoderArtifact,
): { windows: number; windowsNeeded: number; ready: boolean } {
  const needed = artifact.threshold.normWindows + artifact.threshold.scoreWindows;
  if (state.artifactId !== artifact.id) return { windows: 0, windowsNeeded: needed, ready: false };
  return {
    windows: state.normWindows + state.scoreWindows,
    windowsNeeded: needed,
    ready: anomalyReady(state, artifact),
  };
}

/** The window's score in this vehicle's units; null when the window has no features or the state is not ready. */
export function scoreWindow(
  state: AnomalyState,
  artifact: AutoencoderArtifact,
  window: FeatureWindow,
): { features: VehicleFeatures; norm: FeatureNormaliser; result: ReturnType<typeof anomalyScore> } | null {
  const norm = normaliserOf(state);
  if (!norm) return null;
  const features = vehicleFeatures(window);
  if (!features) return null;
  const { z, mask } = normaliseFeatures(norm, features);
  return { features, norm, result: anomalyScore(artifact, z, mask) };
}

/** [] until the state has enough windows for a per-vehicle threshold (then the check is ready). */
export function checkAnomaly(state: AnomalyState, artifact: AutoencoderArtifact, window: FeatureWindow): Finding[] {
  bind(state, artifact);
  const thresholds = state.thresholds;
  if (thresholds === null) return [];
  const scored = scoreWindow(state, artifact, window);
  if (!scored) return [];
  // Each feature against this vehicle's own limit for it: a signal whose healthy error is wide
  // (voltage around engine starts) gets a wide limit without blunting the others.
  const ratio = ratios(scored.result.contributions, thresholds);
  if (!(Math.max(...ratio) > 1)) return [];
  const { z, mask } = normaliseFeatures(scored.norm, scored.features);
  return [
    anomalyFinding({
      x: scored.features.x,
      centre: scored.norm.centre,
      scale: scored.norm.scale,
      result: scored.result,
      ratio,
      limits: thresholds.map((t) => t ?? NaN),
      lead: culprit(artifact, z, mask, ratio, thresholds),
      confirmWindows: artifact.confirmWindows,
    }),
  ];
}

function ratios(contributions: Float64Array, thresholds: readonly (number | null)[]): Float64Array {
  return Float64Array.from(contributions, (c, k) => {
    const limit = thresholds[k];
    return limit === null || limit === undefined ? 0 : c / limit;
  });
}

/**
 * Which signal to name. A corrupted input also spoils the reconstruction of the others (a noisy
 * intake-air reading can make the trims look wrong), so the feature with the largest error is not
 * always the culprit. Each of the three most-out-of-line signals is masked in turn and the window
 * scored again: the one whose removal leaves the rest most in line is the one that disagrees.
 */
function culprit(
  artifact: AutoencoderArtifact,
  z: Float64Array,
  mask: Float64Array,
  ratio: Float64Array,
  thresholds: readonly (number | null)[],
): number {
  const worst = new Map<number, number>();
  ratio.forEach((r, k) => {
    const sig = featureSignal(k);
    if (sig >= 0 && r > 0) worst.set(sig, Math.max(worst.get(sig) ?? 0, r));
  });
  const candidates = [...worst.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([sig]) => sig);
  let best = candidates[0] ?? -1;
  let bestRest = Infinity;
  for (const sig of candidates) {
    const without = Float64Array.from(mask, (m, k) => (featureSignal(k) === sig ? 0 : m));
    const rest = Math.max(0, ...ratios(anomalyScore(artifact, z, without).contributions, thresholds));
    if (rest < bestRest) {
      bestRest = rest;
      best = sig;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Training.

export interface FleetTrainOptions extends TrainOptions {
  log?: (line: string) => void;
  version?: string;
  /** Every n-th drive of each car is held out for validation (default 7; 0 = none). */
  validationEvery?: number;
  /** Share of signals dropped at random in the augmented copy of each window (default 0.3). */
  dropout?: number;
  threshold?: Partial<ThresholdPolicy>;
}

/** Signals never dropped: they define the window's regime and every car has them. */
const ALWAYS = new Set<number>([S.rpm, S.speed]);

interface CarWindows {
  name: string;
  norm: FeatureNormaliser;
  train: VehicleFeatures[];
  validation: VehicleFeatures[];
  trainDrives: Frame[][];
  validationDrives: Frame[][];
}

/** One car's drives; `validation` drives, when given, are held out instead of every n-th drive. */
export interface FleetCar {
  name: string;
  drives: Frame[][];
  validation?: Frame[][];
}

const featureRows = (frames: readonly Frame[]): VehicleFeatures[] =>
  slidingWindows(frames)
    .map(vehicleFeatures)
    .filter((r): r is VehicleFeatures => r !== null);

/** Windows with every feature present (the virtual MAP sensor's inputs). */
const strictRows = (drives: readonly Frame[][]): Float64Array[] =>
  drives.flatMap((d) =>
    slidingWindows(d)
      .map(windowFeatures)
      .filter((x): x is Float64Array => x !== null),
  );

/** A copy of the example with a random subset of its signals masked (all features of a signal together). */
function dropSignals(e: MaskedExample, share: number, rng: ReturnType<typeof createRng>): MaskedExample {
  const dropped = new Set<number>();
  for (let k = 0; k < FEATURE_COUNT; k++) {
    const sig = featureSignal(k);
    if (sig >= 0 && !ALWAYS.has(sig) && e.mask[k] && !dropped.has(sig) && rng.next() < share) dropped.add(sig);
  }
  const mask = Float64Array.from(e.mask, (m, k) => (dropped.has(featureSignal(k)) ? 0 : m));
  return { z: Float64Array.from(e.z, (v, k) => v * (mask[k] as number)), mask };
}

/**
 * Train one model on several cars' drives: each car's windows are normalised with that car's own
 * robust centre and scale (as each vehicle will be in production), features the car lacks are
 * masked, and every window also appears with a random subset of its signals masked so the model
 * copes with whatever subset a new car reports. Cars are weighted equally. Seeded and deterministic.
 */
export async function trainFleetModel(cars: FleetCar[], options: FleetTrainOptions): Promise<TrainedModel> {
  const log = options.log ?? (() => undefined);
  const every = options.validationEvery ?? 7;
  const prepared: CarWindows[] = cars.map((car) => {
    const held = (i: number): boolean =>
      !car.validation && every > 0 && car.drives.length > 1 && i % every === every - 1;
    const trainDrives = car.drives.filter((_, i) => !held(i));
    const validationDrives = car.validation ?? car.drives.filter((_, i) => held(i));
    const train = trainDrives.flatMap(featureRows);
    const validation = validationDrives.flatMap(featureRows);
    return {
      name: car.name,
      norm: fitNormaliser([...train, ...validation]),
      train,
      validation,
      trainDrives,
      validationDrives,
    };
  });
  const usable = prepared.filter((c) => c.train.length > 0);
  if (usable.length === 0) throw new Error('no training windows');
  const rng = createRng(options.seed ^ 0x5eed);
  const largest = Math.max(...usable.map((c) => c.train.length));
  const examples: MaskedExample[] = [];
  for (const car of usable) {
    const own = car.train.map((f) => normaliseFeatures(car.norm, f));
    const repeat = Math.max(1, Math.round(largest / own.length));
    for (let r = 0; r < repeat; r++) {
      for (const e of own) {
        examples.push(e);
        examples.push(dropSignals(e, options.dropout ?? 0.3, rng));
      }
    }
    const present = car.norm.centre.filter(Number.isFinite).length;
    log(
      `${car.name}: ${car.train.length} training windows (×${repeat}), ${car.validation.length} validation, ${present}/${FEATURE_COUNT} features present`,
    );
  }
  const fit = await fitMaskedAutoencoder(examples, options);
  const scaleFloor = [...DEFAULT_SCALE_FLOOR];
  const scored = CONTEXT_ONLY.map((c) => !c);
  const trained = FEATURE_NAMES.map((_, k) => usable.some((c) => Number.isFinite(c.norm.centre[k])));
  const artifact: AutoencoderArtifact = {
    format: ARTIFACT_FORMAT,
    id: artifactId(fit.layers, FEATURE_NAMES, scaleFloor, scored, trained),
    featureNames: [...FEATURE_NAMES],
    scaleFloor,
    scored,
    trained,
    layers: fit.layers,
    threshold: { ...DEFAULT_THRESHOLD_POLICY, ...options.threshold },
    confirmWindows: options.confirmWindows ?? 4,
    trainedOn: usable.map((c) => ({ name: c.name, windows: c.train.length })),
  };
  const valScores = usable.flatMap((c) =>
    c.validation.map((f) => {
      const { z, mask } = normaliseFeatures(c.norm, f);
      return anomalyScore(artifact, z, mask).score;
    }),
  );
  const validationScore = valScores.length === 0 ? NaN : valScores.reduce((s, v) => s + v, 0) / valScores.length;
  log(
    `fleet autoencoder: final loss ${fit.lossHistory.at(-1)?.toFixed(4)}, mean validation score ${validationScore.toFixed(3)} (${fit.backend})`,
  );

  // The rule checks' limits and the virtual MAP sensor are fitted as before, on every car's drives;
  // the virtual MAP needs engine load, so cars without it add no windows to its fit.
  const mapTrain = strictRows(prepared.flatMap((c) => c.trainDrives));
  const mapValidation = strictRows(prepared.flatMap((c) => c.validationDrives));
  const calibration = calibrate(prepared.flatMap((c) => c.trainDrives));
  const model: ClutchModel = {
    version: options.version ?? `fleet-ae-seed${options.seed}`,
    calibration:
      mapTrain.length >= 20 ? { ...calibration, virtualMap: fitVirtualMap(mapTrain, mapValidation) } : calibration,
    autoencoder: artifact,
  };
  return {
    model,
    trainingWindows: usable.reduce((s, c) => s + c.train.length, 0),
    validationWindows: valScores.length,
    lossHistory: fit.lossHistory,
    validationScore,
    backend: fit.backend,
  };
}
