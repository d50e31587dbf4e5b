import { FEATURE_NAMES, FEATURE_SIGNAL } from '../features/windows.js';
import { createRng } from '../dataset/rng.js';
import { initTf, tf } from './tf-backend.js';

export interface DenseLayer {
  /** Row-major [inputs][outputs]. */
  kernel: number[];
  inputs: number;
  outputs: number;
  bias: number[];
  activation: 'tanh' | 'linear';
}

/** Everything needed to score a window without TF.js: scoring runs in plain JS in ingest. */
export interface AutoencoderArtifact {
  featureNames: string[];
  mean: number[];
  std: number[];
  layers: DenseLayer[];
  /** Reconstruction error above which a window is anomalous (from validation drives). */
  threshold: number;
  /** Consecutive anomalous windows needed before alerting. */
  confirmWindows: number;
}

export interface TrainOptions {
  seed: number;
  epochs?: number;
  batchSize?: number;
  hidden?: number[];
  learningRate?: number;
  /** Threshold = margin × the highest validation score. */
  thresholdMargin?: number;
  confirmWindows?: number;
}

export interface TrainResult {
  artifact: AutoencoderArtifact;
  lossHistory: number[];
  validationLoss: number;
  backend: string;
}

/** Floor for feature spreads so a feature that never moved in training cannot divide by zero. */
const MIN_STD = 1e-3;
/** Clamp z-scores so one absurd value cannot saturate training or overflow a score. */
const Z_CLAMP = 50;

export function normalise(x: ArrayLike<number>, mean: readonly number[], std: readonly number[]): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const z = ((x[i] as number) - (mean[i] as number)) / (std[i] as number);
    out[i] = Math.max(-Z_CLAMP, Math.min(Z_CLAMP, z));
  }
  return out;
}

export async function trainAutoencoder(
  train: readonly Float64Array[],
  validation: readonly Float64Array[],
  options: TrainOptions,
): Promise<TrainResult> {
  if (train.length === 0) throw new Error('no training windows');
  const backend = await initTf();
  const width = FEATURE_NAMES.length;
  const hidden = options.hidden ?? [12, 5, 12];
  const mean = Array.from({ length: width }, (_, j) => train.reduce((s, x) => s + (x[j] as number), 0) / train.length);
  const std = Array.from({ length: width }, (_, j) =>
    Math.max(
      MIN_STD,
      Math.sqrt(train.reduce((s, x) => s + ((x[j] as number) - (mean[j] as number)) ** 2, 0) / train.length),
    ),
  );
  // Shuffle once with the seed, then fit without TF's own (Math.random based) shuffling.
  const order = createRng(options.seed).shuffle(train.map((_, i) => i));
  const xs = order.map((i) => Array.from(normalise(train[i] as Float64Array, mean, std)));
  const vs = validation.map((x) => Array.from(normalise(x, mean, std)));

  const model = tf.sequential();
  hidden.forEach((units, k) => {
    model.add(
      tf.layers.dense({
        units,
        activation: 'tanh',
        inputShape: k === 0 ? [width] : undefined,
        kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed + k }),
        biasInitializer: 'zeros',
      }),
    );
  });
  model.add(
    tf.layers.dense({
      units: width,
      activation: 'linear',
      kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed + hidden.length }),
      biasInitializer: 'zeros',
    }),
  );
  model.compile({ optimizer: tf.train.adam(options.learningRate ?? 0.005), loss: 'meanSquaredError' });
  const x = tf.tensor2d(xs, [xs.length, width]);
  const lossHistory: number[] = [];
  try {
    const history = await model.fit(x, x, {
      epochs: options.epochs ?? 40,
      batchSize: options.batchSize ?? 64,
      shuffle: false,
      verbose: 0,
    });
    for (const l of history.history.loss ?? []) lossHistory.push(Number(l));
    const layers: DenseLayer[] = model.layers.map((layer, k) => {
      const [kernel, bias] = layer.getWeights();
      if (!kernel || !bias) throw new Error('dense layer without weights');
      const [inputs, outputs] = kernel.shape as [number, number];
      return {
        kernel: Array.from(kernel.dataSync()),
        inputs,
        outputs,
        bias: Array.from(bias.dataSync()),
        activation: k === model.layers.length - 1 ? 'linear' : 'tanh',
      };
    });
    const artifact: AutoencoderArtifact = {
      featureNames: [...FEATURE_NAMES],
      mean,
      std,
      layers,
      threshold: Infinity,
      confirmWindows: options.confirmWindows ?? 2,
    };
    const scores = validation.map((v) => anomalyScore(artifact, v).score).sort((a, b) => a - b);
    const highest = scores[scores.length - 1] ?? 1;
    artifact.threshold = highest * (options.thresholdMargin ?? 1.25);
    const validationLoss = vs.length === 0 ? NaN : scores.reduce((s, v) => s + v, 0) / scores.length;
    return { artifact, lossHistory, validationLoss, backend };
  } finally {
    x.dispose();
    model.dispose();
  }
}

/** Plain-JS forward pass (the same maths as the TF model): cheap enough to run per window in ingest. */
export function reconstruct(artifact: AutoencoderArtifact, z: Float64Array): Float64Array {
  let h: Float64Array = z;
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
  /** Mean squared reconstruction error in standardised units. */
  score: number;
  /** Per-feature squared error, for explanations. */
  contributions: Float64Array;
  /** The reconstruction mapped back to engineering units. */
  expected: Float64Array;
}

export function anomalyScore(artifact: AutoencoderArtifact, features: Float64Array): AnomalyScore {
  const z = normalise(features, artifact.mean, artifact.std);
  const r = reconstruct(artifact, z);
  const contributions = new Float64Array(z.length);
  const expected = new Float64Array(z.length);
  let sum = 0;
  for (let i = 0; i < z.length; i++) {
    const d = (z[i] as number) - (r[i] as number);
    contributions[i] = d * d;
    sum += d * d;
    expected[i] = (r[i] as number) * (artifact.std[i] as number) + (artifact.mean[i] as number);
  }
  return { score: sum / z.length, contributions, expected };
}

/** Which signal a feature describes (for alert `signals`), -1 for the regime share. */
export function featureSignal(feature: number): number {
  return FEATURE_SIGNAL[feature] ?? -1;
}
