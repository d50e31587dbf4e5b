import { S, SIGNAL_COUNT } from '../signals.js';
import { regimeOf, type Frame } from './frames.js';
import { FEATURE_NAMES, FEATURE_SIGNAL, type FeatureWindow } from './windows.js';

/**
 * The fleet model's view of a window: the same 21 features as `windowFeatures`, but a signal the
 * car (or its logger) does not report is masked instead of voiding the whole window, and spreads
 * and jitters are taken on a log scale so one car's calm idle and another's busy motorway both land
 * in a few robust units of that car's own scale.
 */
export const FEATURE_COUNT = FEATURE_NAMES.length;

/** Signals within-window spread is taken of (must match windows.ts FEATURE_NAMES order). */
const SPREAD = [S.rpm, S.speed, S.load, S.map, S.throttle, S.stft] as const;
const JITTER = [S.coolant, S.iat, S.voltage] as const;

/** Features taken on a log scale (spreads and jitters: non-negative and heavy-tailed). */
export const LOG_FEATURE: readonly boolean[] = FEATURE_NAMES.map(
  (n) => n.startsWith('std.') || n.startsWith('jitter.'),
);

/**
 * Resolution floor per signal in its SAE J1979 unit: the smallest step an OBD-II PID of that kind
 * reports (rpm 0.25, km/h 1, % of 255 counts, °C 1, kPa 1, V 0.001 but loggers round to 0.1). Used so
 * a spread or jitter of zero has a finite log, and as the least scale a feature may get.
 */
const SIGNAL_RESOLUTION: readonly number[] = (() => {
  const r = new Array<number>(SIGNAL_COUNT).fill(1);
  r[S.rpm] = 10;
  r[S.speed] = 1;
  r[S.load] = 0.5;
  r[S.coolant] = 1;
  r[S.iat] = 1;
  r[S.stft] = 0.8;
  r[S.ltft] = 0.8;
  r[S.map] = 1;
  r[S.throttle] = 0.5;
  r[S.catalyst] = 1;
  r[S.voltage] = 0.1;
  return r;
})();

/** Offset added before the log of a spread/jitter feature: one resolution step of its signal. */
export const LOG_OFFSET: readonly number[] = FEATURE_NAMES.map((_, k) =>
  LOG_FEATURE[k] ? (SIGNAL_RESOLUTION[FEATURE_SIGNAL[k] as number] as number) : 0,
);

/**
 * Least scale per feature, in transformed units: a mean may not be scaled below two resolution steps,
 * a log spread below 0.25 (a 28 % change), the idle share below 0.25 (it is bimodal: a window idles
 * or it does not). Without it a signal that sat still through calibration would make every later
 * sample look extreme.
 */
export const DEFAULT_SCALE_FLOOR: readonly number[] = FEATURE_NAMES.map((name, k) => {
  if (name === 'idle_share') return 0.25;
  if (LOG_FEATURE[k]) return 0.25;
  return 2 * (SIGNAL_RESOLUTION[FEATURE_SIGNAL[k] as number] as number);
});

/**
 * Features the model reads but is not judged on. The average intake air and coolant temperatures
 * follow the weather and the warm-up, which nothing in a 30 s window predicts (a cold morning is not a
 * fault); their sensors are judged on jitter here and on the vehicle's own warm-up curve by the
 * cooling checks. The average rpm and speed and the idle share are the operating point the driver
 * chose (route, gear): they tell the model where the engine is, and are never masked in training
 * either; how rpm and speed move within the window (their spread) is still judged.
 */
export const CONTEXT_ONLY: readonly boolean[] = FEATURE_NAMES.map(
  (n) => n === 'mean.coolant' || n === 'mean.iat' || n === 'idle_share' || n === 'mean.rpm' || n === 'mean.speed',
);

export interface VehicleFeatures {
  /** Transformed feature values (log scale for spreads and jitters); NaN where masked. */
  x: Float64Array;
  /** 1 where the feature's signal was reported in at least half the window's running frames. */
  present: Uint8Array;
}

/**
 * The finite values of one signal over the frames, read straight from the frames: a typed array per
 * column would be an off-heap allocation each, which cost more than the rest of a window's features.
 */
function finiteColumn(frames: readonly Frame[], signal: number): number[] {
  const out: number[] = [];
  for (const f of frames) {
    const v = f.v[signal];
    if (v !== undefined && Number.isFinite(v)) out.push(v);
  }
  return out;
}

/**
 * Features of one window for the fleet model; null when the engine ran for under half of it (or
 * rpm/speed are missing: then there is no regime to compare with).
 */
export function vehicleFeatures(window: FeatureWindow): VehicleFeatures | null {
  if (window.runningShare < 0.5) return null;
  const running: Frame[] = window.frames.filter((f) => regimeOf(f.v) !== 'off');
  if (running.length < 4) return null;
  const x = new Float64Array(FEATURE_COUNT).fill(NaN);
  const present = new Uint8Array(FEATURE_COUNT);
  const cols: number[][] = Array.from({ length: SIGNAL_COUNT }, (_, i) => finiteColumn(running, i));
  const enough = (i: number): boolean => (cols[i] as number[]).length * 2 >= running.length;
  let k = 0;
  const set = (value: number, ok: boolean): void => {
    if (ok && Number.isFinite(value)) {
      x[k] = value;
      present[k] = 1;
    }
    k++;
  };
  for (let i = 0; i < SIGNAL_COUNT; i++) {
    const col = cols[i] as number[];
    set(col.reduce((s, v) => s + v, 0) / col.length, enough(i));
  }
  for (const i of SPREAD) {
    const col = cols[i] as number[];
    const m = col.reduce((s, v) => s + v, 0) / col.length;
    const sd = Math.sqrt(col.reduce((s, v) => s + (v - m) ** 2, 0) / col.length);
    set(Math.log(sd + (LOG_OFFSET[k] as number)), enough(i));
  }
  for (const i of JITTER) {
    const col = cols[i] as number[];
    let sum = 0;
    for (let j = 1; j < col.length; j++) sum += Math.abs((col[j] as number) - (col[j - 1] as number));
    set(Math.log(sum / Math.max(1, col.length - 1) + (LOG_OFFSET[k] as number)), enough(i) && col.length >= 2);
  }
  set(running.filter((f) => regimeOf(f.v) === 'idle').length / running.length, true);
  if (!present[S.rpm] || !present[S.speed]) return null;
  return { x, present };
}

/** A transformed feature value back in engineering units (undoes the log of spreads and jitters). */
export function featureValue(k: number, transformed: number): number {
  return LOG_FEATURE[k] ? Math.max(0, Math.exp(transformed) - (LOG_OFFSET[k] as number)) : transformed;
}

// ---------------------------------------------------------------------------------------------
// Streaming quantiles: the P² algorithm (Jain & Chlamtac 1985) generalised to several markers, so a
// vehicle's feature centre and scale are learned window by window in a fixed few numbers per feature.

/** Marker probabilities: min, q10, q25, median, q75, q90, max. */
export const SKETCH_P: readonly number[] = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1];

export interface QuantileSketch {
  /** Marker heights (the first SKETCH_P.length observations while count < markers). */
  q: number[];
  /** Marker positions (1-based ranks). */
  n: number[];
  count: number;
}

export function createSketch(): QuantileSketch {
  return { q: [], n: [], count: 0 };
}

export function sketchAdd(s: QuantileSketch, x: number, p: readonly number[] = SKETCH_P): void {
  if (!Number.isFinite(x)) return;
  const m = p.length;
  s.count++;
  if (s.count <= m) {
    s.q.push(x);
    s.q.sort((a, b) => a - b);
    if (s.count === m) s.n = Array.from({ length: m }, (_, i) => i + 1);
    return;
  }
  const q = s.q;
  const n = s.n;
  let cell: number;
  if (x < (q[0] as number)) {
    q[0] = x;
    cell = 0;
  } else if (x >= (q[m - 1] as number)) {
    q[m - 1] = x;
    cell = m - 2;
  } else {
    cell = 0;
    while (cell < m - 2 && x >= (q[cell + 1] as number)) cell++;
  }
  for (let i = cell + 1; i < m; i++) n[i] = (n[i] as number) + 1;
  const total = s.count;
  for (let i = 1; i < m - 1; i++) {
    const want = 1 + (total - 1) * (p[i] as number);
    const d = want - (n[i] as number);
    const up = (n[i + 1] as number) - (n[i] as number);
    const down = (n[i - 1] as number) - (n[i] as number);
    if ((d >= 1 && up > 1) || (d <= -1 && down < -1)) {
      const step = Math.sign(d);
      const qi = q[i] as number;
      const qp = q[i + 1] as number;
      const qm = q[i - 1] as number;
      const ni = n[i] as number;
      const np = n[i + 1] as number;
      const nm = n[i - 1] as number;
      const parabolic =
        qi +
        (step / (np - nm)) * ((ni - nm + step) * ((qp - qi) / (np - ni)) + (np - ni - step) * ((qi - qm) / (ni - nm)));
      if (qm < parabolic && parabolic < qp) q[i] = parabolic;
      else {
        const j = i + step;
        q[i] = qi + (step * ((q[j] as number) - qi)) / ((n[j] as number) - ni);
      }
      n[i] = ni + step;
    }
  }
}

/** Quantile `p` (one of the marker probabilities, or interpolated between them). */
export function sketchQuantile(s: QuantileSketch, prob: number, p: readonly number[] = SKETCH_P): number {
  if (s.count === 0) return NaN;
  if (s.count < p.length) {
    // Too few for markers: the exact quantile of what was seen.
    const pos = prob * (s.q.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(s.q.length - 1, lo + 1);
    return (s.q[lo] as number) + (pos - lo) * ((s.q[hi] as number) - (s.q[lo] as number));
  }
  for (let i = 0; i < p.length - 1; i++) {
    const a = p[i] as number;
    const b = p[i + 1] as number;
    if (prob >= a && prob <= b) {
      const f = b === a ? 0 : (prob - a) / (b - a);
      return (s.q[i] as number) + f * ((s.q[i + 1] as number) - (s.q[i] as number));
    }
  }
  return s.q[p.length - 1] as number;
}

// ---------------------------------------------------------------------------------------------
// Per-vehicle normalisation.

export interface FeatureNormaliser {
  /** Robust centre (median) per feature; NaN for a feature the vehicle does not have. */
  centre: number[];
  /** Robust scale per feature (IQR / 1.349, at least the floor). */
  scale: number[];
}

/** A feature the vehicle reported in under this share of its windows counts as absent on it. */
export const MIN_PRESENT_SHARE = 0.5;

/** Centre and scale from per-feature sketches and presence counts. */
export function normaliserFrom(
  sketches: readonly QuantileSketch[],
  windows: number,
  floors: readonly number[] = DEFAULT_SCALE_FLOOR,
): FeatureNormaliser {
  const centre: number[] = [];
  const scale: number[] = [];
  sketches.forEach((s, k) => {
    if (windows === 0 || s.count < windows * MIN_PRESENT_SHARE) {
      centre.push(NaN);
      scale.push(NaN);
      return;
    }
    const iqr = (sketchQuantile(s, 0.75) - sketchQuantile(s, 0.25)) / 1.349;
    const wide = (sketchQuantile(s, 0.9) - sketchQuantile(s, 0.1)) / 2.563;
    centre.push(sketchQuantile(s, 0.5));
    scale.push(Math.max(iqr, wide, floors[k] as number));
  });
  return { centre, scale };
}

/** Fits a normaliser on a batch of windows (training: one car's windows) through the same sketches. */
export function fitNormaliser(rows: readonly VehicleFeatures[], floors?: readonly number[]): FeatureNormaliser {
  const sketches = Array.from({ length: FEATURE_COUNT }, createSketch);
  for (const r of rows) for (let k = 0; k < FEATURE_COUNT; k++) if (r.present[k]) sketchAdd(sketches[k]!, r.x[k]!);
  return normaliserFrom(sketches, rows.length, floors);
}

/** Clamp in robust units: a dead sensor's absurd reading must not dominate every other feature. */
export const Z_CLAMP = 8;

/**
 * Robust z-scores and the model's mask: a feature is used when the window has it and the vehicle
 * has a scale for it; masked features read 0 (the vehicle's centre) and carry mask 0.
 */
export function normaliseFeatures(
  norm: FeatureNormaliser,
  f: VehicleFeatures,
): { z: Float64Array; mask: Float64Array } {
  const z = new Float64Array(FEATURE_COUNT);
  const mask = new Float64Array(FEATURE_COUNT);
  for (let k = 0; k < FEATURE_COUNT; k++) {
    const c = norm.centre[k] as number;
    const sc = norm.scale[k] as number;
    if (!f.present[k] || !Number.isFinite(c) || !Number.isFinite(sc)) continue;
    z[k] = Math.max(-Z_CLAMP, Math.min(Z_CLAMP, ((f.x[k] as number) - c) / sc));
    mask[k] = 1;
  }
  return { z, mask };
}
