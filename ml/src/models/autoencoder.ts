import { createHash } from 'node:crypto';
import { FEATURE_NAMES, FEATURE_SIGNAL } from '../features/windows.js';
import { FEATURE_COUNT } from '../features/vehicle-features.js';
import { createRng } from '../dataset/rng.js';
import { SIGNAL_COUNT } from '../signals.js';
import { initTf, tf } from './tf-backend.js';

export interface DenseLayer {
  /** Row-major [inputs][outputs]. */
  kernel: number[];
  inputs: number;
  outputs: number;
  bias: number[];
  activation: 'tanh' | 'linear';
}

/** Artifact format written by this code; anything else (the one-car v1 with absolute means) is not scored. */
export const ARTIFACT_FORMAT = 2;

/** How each vehicle sets its own threshold from its own windows (see fleet-anomaly.ts). */
export interface ThresholdPolicy {
  /** Running windows that learn the vehicle's feature centre and scale. */
  normWindows: number;
  /** Further windows whose scores set the vehicle's threshold. */
  scoreWindows: number;
  /** Threshold = margin × this quantile of the vehicle's calibration scores ... */
  quantile: number;
  margin: number;
  /** ... and never below this (a vehicle whose calibration scores were all tiny is not hair-trigger). */
  minThreshold: number;
}

/**
 * Everything needed to score a window without TF.js (scoring runs in plain JS in ingest). Inputs are
 * per-vehicle robust z-scores plus a presence mask; the vehicle's centre, scale and threshold live
 * in its own AnomalyState, not here, so one artifact serves every car.
 */
export interface AutoencoderArtifact {
  format: typeof ARTIFACT_FORMAT;
  /** Content hash of the weights: a vehicle state learned with another artifact is reset. */
  id: string;
  featureNames: string[];
  /** Least per-vehicle scale per feature (transformed units), see vehicle-features.ts. */
  scaleFloor: number[];
  /** Per feature: true when its reconstruction error counts in the score (false: context only). */
  scored: boolean[];
  /**
   * Per feature: true when some training car had it. A feature no training car reported has
   * untrained weights: a vehicle that has it gets it masked (the model judges only what it learned).
   */
  trained: boolean[];
  /** Dense stack over [z (features), mask (features)] → reconstructed z. */
  layers: DenseLayer[];
  threshold: ThresholdPolicy;
  /** Consecutive anomalous windows needed before alerting. */
  confirmWindows: number;
  /** Cars and window counts it was trained on (for the registry and the docs). */
  trainedOn: { name: string; windows: number }[];
}

export interface TrainOptions {
  seed: number;
  epochs?: number;
  batchSize?: number;
  hidden?: number[];
  learningRate?: number;
  confirmWindows?: number;
}

/** One training example: robust z-scores and the mask of features present. */
export interface MaskedExample {
  z: Float64Array;
  mask: Float64Array;
}

export interface FitResult {
  layers: DenseLayer[];
  lossHistory: number[];
  backend: string;
}

/**
 * Fits the masked autoencoder: input [z·mask, mask], output the reconstruction multiplied by the
 * mask, target z·mask. Masked features thus neither feed the model nor count in its loss. Seeded
 * initialisers and a seeded shuffle (TF's own shuffling uses Math.random) make it deterministic.
 */
export async function fitMaskedAutoencoder(
  examples: readonly MaskedExample[],
  options: TrainOptions,
): Promise<FitResult> {
  if (examples.length === 0) throw new Error('no training windows');
  const backend = await initTf();
  const width = FEATURE_COUNT;
  const hidden = options.hidden ?? [12, 5, 12];
  const order = createRng(options.seed).shuffle(examples.map((_, i) => i));
  const zs: number[][] = [];
  const ms: number[][] = [];
  for (const i of order) {
    const e = examples[i] as MaskedExample;
    zs.push(Array.from(e.z, (v, k) => v * (e.mask[k] as number)));
    ms.push(Array.from(e.mask));
  }
  const zIn = tf.input({ shape: [width] });
  const mIn = tf.input({ shape: [width] });
  let h = tf.layers.concatenate().apply([zIn, mIn]) as tf.SymbolicTensor;
  const dense: tf.layers.Layer[] = [];
  hidden.forEach((units, k) => {
    const layer = tf.layers.dense({
      units,
      activation: 'tanh',
      kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed + k }),
      biasInitializer: 'zeros',
    });
    dense.push(layer);
    h = layer.apply(h) as tf.SymbolicTensor;
  });
  const out = tf.layers.dense({
    units: width,
    activation: 'linear',
    kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed + hidden.length }),
    biasInitializer: 'zeros',
  });
  dense.push(out);
  const masked = tf.layers.multiply().apply([out.apply(h) as tf.SymbolicTensor, mIn]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: [zIn, mIn], outputs: masked });
  model.compile({ optimizer: tf.train.adam(options.learningRate ?? 0.005), loss: 'meanSquaredError' });
  const z = tf.tensor2d(zs, [zs.length, width]);
  const m = tf.tensor2d(ms, [ms.length, width]);
  try {
    const history = await model.fit([z, m], z, {
      epochs: options.epochs ?? 40,
      batchSize: options.batchSize ?? 64,
      shuffle: false,
      verbose: 0,
    });
    const lossHistory = (history.history.loss ?? []).map(Number);
    const layers: DenseLayer[] = dense.map((layer, k) => {
      const [kernel, bias] = layer.getWeights();
      if (!kernel || !bias) throw new Error('dense layer without weights');
      const [inputs, outputs] = kernel.shape as [number, number];
      return {
        kernel: Array.from(kernel.dataSync()),
        inputs,
        outputs,
        bias: Array.from(bias.dataSync()),
        activation: k === dense.length - 1 ? 'linear' : 'tanh',
      };
    });
    return { layers, lossHistory, backend };
  } finally {
    z.dispose();
    m.dispose();
    model.dispose();
  }
}

/** Stable id of an artifact's weights and feature layout. */
export function artifactId(
  layers: readonly DenseLayer[],
  featureNames: readonly string[],
  scaleFloor: readonly number[],
  scored: readonly boolean[],
  trained: readonly boolean[],
): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ featureNames, scaleFloor, scored, trained, layers }));
  return `ae2-${hash.digest('hex').slice(0, 16)}`;
}

/** True for an artifact this code can score (format 2, the current feature layout, sane weights). */
export function isCurrentArtifact(a: unknown): a is AutoencoderArtifact {
  if (typeof a !== 'object' || a === null) return false;
  const x = a as Partial<AutoencoderArtifact>;
  if (x.format !== ARTIFACT_FORMAT || typeof x.id !== 'string') return false;
  if (!Array.isArray(x.featureNames) || x.featureNames.join() !== FEATURE_NAMES.join()) return false;
  if (!Array.isArray(x.scaleFloor) || x.scaleFloor.length !== FEATURE_COUNT) return false;
  if (!Array.isArray(x.scored) || x.scored.length !== FEATURE_COUNT) return false;
  if (!Array.isArray(x.trained) || x.trained.length !== FEATURE_COUNT) return false;
  if (!Array.isArray(x.layers) || x.layers.length === 0) return false;
  let width = 2 * FEATURE_COUNT;
  for (const l of x.layers) {
    if (l.inputs !== width || l.kernel?.length !== l.inputs * l.outputs || l.bias?.length !== l.outputs) return false;
    width = l.outputs;
  }
  return width === FEATURE_COUNT && typeof x.threshold === 'object' && x.threshold !== null;
}

/** Plain-JS forward pass of the dense stack (the same maths as the TF model). */
export function reconstruct(artifact: AutoencoderArtifact, z: Float64Array, mask: Float64Array): Float64Array {
  let h: Float64Array = new Float64Array(2 * z.length);
  for (let k = 0; k < z.length; k++) {
    h[k] = (z[k] as number) * (mask[k] as number);
    h[z.length + k] = mask[k] as number;
  }
  for (const layer of artifact.layers) {
    const out = new Float64Array(layer.outputs);
    for (let o = 0; o < layer.outputs; o++) {
      let s = layer.bias[o] as number;
      for (let i = 0; i < layer.inputs; i++) s += (h[i] as number) * (layer.kernel[i * layer.outputs + o] as number);
      out[o] = layer.activation === 'tanh' ? Math.tanh(s) : s;
    }
    h = out;
  }
  return h;
}

export interface AnomalyScore {
  /**
   * The largest per-signal reconstruction error: for each signal, the squared errors of its features
   * (average, spread, jitter) summed, in the vehicle's robust units. A per-signal maximum, not a mean
   * over all features, so one sensor going wrong is not diluted by the ten that are fine.
   */
  score: number;
  /** Per signal (index as in FEATURE_SIGNALS): summed squared error of its present features. */
  perSignal: Float64Array;
  /** Per-feature squared error (0 where masked), for explanations. */
  contributions: Float64Array;
  /** The reconstruction in the vehicle's robust units. */
  reconstruction: Float64Array;
}

export function anomalyScore(artifact: AutoencoderArtifact, z: Float64Array, vehicleMask: Float64Array): AnomalyScore {
  const mask = Float64Array.from(vehicleMask, (m, k) => (artifact.trained[k] ? m : 0));
  const r = reconstruct(artifact, z, mask);
  const contributions = new Float64Array(z.length);
  const perSignal = new Float64Array(SIGNAL_COUNT);
  for (let i = 0; i < z.length; i++) {
    if (!mask[i] || !artifact.scored[i]) continue;
    const d = (z[i] as number) - (r[i] as number);
    contributions[i] = d * d;
    const sig = FEATURE_SIGNAL[i] ?? -1;
    if (sig >= 0) perSignal[sig] = (perSignal[sig] as number) + d * d;
  }
  return { score: Math.max(0, ...perSignal), perSignal, contributions, reconstruction: r };
}

/** Which signal a feature describes (for alert `signals`), -1 for the regime share. */
export function featureSignal(feature: number): number {
  return FEATURE_SIGNAL[feature] ?? -1;
}
