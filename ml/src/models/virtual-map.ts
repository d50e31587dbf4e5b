import { S } from '../signals.js';

/**
 * A "virtual MAP sensor": this engine's calculated load is derived from manifold pressure, so over
 * a 30 s window MAP follows load, rpm and throttle closely (linear fit on healthy windows). The
 * residual is what a drifting MAP sensor or a leaking sensor hose shows up in.
 */
export interface VirtualMapModel {
  /** Coefficients for [1, load, rpm/1000, load*rpm/1000, throttle]. */
  weights: number[];
  /** Residual band (kPa) that healthy validation windows stay inside, with margin. */
  low: number;
  high: number;
}

function regressors(f: Float64Array): number[] {
  const load = f[S.load] as number;
  const krpm = (f[S.rpm] as number) / 1000;
  return [1, load, krpm, load * krpm, f[S.throttle] as number];
}

export function expectedMap(model: VirtualMapModel, means: Float64Array): number {
  return regressors(means).reduce((s, x, j) => s + x * (model.weights[j] as number), 0);
}

/** Least squares by normal equations: 5 unknowns, a few thousand windows, no library needed. */
export function fitVirtualMap(
  train: readonly Float64Array[],
  validation: readonly Float64Array[],
  margin = 1.5,
): VirtualMapModel {
  const k = 5;
  const a = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const b = new Array<number>(k).fill(0);
  for (const f of train) {
    const x = regressors(f);
    const y = f[S.map] as number;
    for (let i = 0; i < k; i++) {
      b[i] = (b[i] as number) + (x[i] as number) * y;
      const row = a[i] as number[];
      for (let j = 0; j < k; j++) row[j] = (row[j] as number) + (x[i] as number) * (x[j] as number);
    }
  }
  for (let i = 0; i < k; i++) {
    const pivot = (a[i] as number[])[i] as number;
    for (let j = i + 1; j < k; j++) {
      const m = ((a[j] as number[])[i] as number) / pivot;
      for (let c = i; c < k; c++)
        (a[j] as number[])[c] = ((a[j] as number[])[c] as number) - m * ((a[i] as number[])[c] as number);
      b[j] = (b[j] as number) - m * (b[i] as number);
    }
  }
  const weights = new Array<number>(k).fill(0);
  for (let i = k - 1; i >= 0; i--) {
    let s = b[i] as number;
    for (let c = i + 1; c < k; c++) s -= ((a[i] as number[])[c] as number) * (weights[c] as number);
    weights[i] = s / ((a[i] as number[])[i] as number);
  }
  const model: VirtualMapModel = { weights, low: 0, high: 0 };
  const residuals = (validation.length > 0 ? validation : train).map(
    (f) => (f[S.map] as number) - expectedMap(model, f),
  );
  // Symmetric band: a sensor can drift either way, and the larger healthy excursion sets the width.
  const width = Math.max(...residuals.map(Math.abs)) * margin;
  return { weights, low: -width, high: width };
}

/** Fit on all 129 carOBD files' windows; used when no trained model is supplied. */
export const DEFAULT_VIRTUAL_MAP: VirtualMapModel = {
  weights: [-7.2875, 1.0032, 1.2126, -0.05801, 0.45662],
  low: -11.67,
  high: 11.67,
};
