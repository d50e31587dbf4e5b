/**
 * A bounded streaming histogram (Ben-Haim & Tom-Tov): at most `bins` weighted centroids, the two
 * closest merged when a new value would exceed them, exact min and max kept apart. A vehicle's
 * normal holds a few dozen of these, so each stays a few hundred bytes of JSON whatever the hours.
 * `cap` bounds the total weight: once reached, older weight is scaled down so a new value always
 * counts at least 1/cap, and a developing fault moves the normal only slowly.
 */
export interface Sketch {
  /** Centroid values, ascending. */
  c: number[];
  /** Centroid weights. */
  w: number[];
  min: number | null;
  max: number | null;
  /** Values added (not scaled down: the evidence count calibration criteria read). */
  count: number;
}

/**
 * Centroids per sketch: 8 keep the tails and median the checks read (the extremes are exact anyway)
 * at half the JSON of 16; the evaluation's per-car figures are the same with either.
 */
export const SKETCH_BINS = 8;
/**
 * For a distribution only ever read at its extremes (q = 0 or 1) and count: no centroids at all,
 * a few bytes of JSON and no merge work per value.
 */
export const EXTREMES_ONLY = 0;
export const SKETCH_CAP = 5000;

/** Five significant digits: far below any sensor's resolution, and short JSON. */
function compact(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const scale = 10 ** (4 - Math.floor(Math.log10(Math.abs(x))));
  return Math.round(x * scale) / scale;
}

export function createSketch(): Sketch {
  return { c: [], w: [], min: null, max: null, count: 0 };
}

export function addToSketch(s: Sketch, value: number, bins = SKETCH_BINS, cap = SKETCH_CAP): void {
  if (!Number.isFinite(value)) return;
  s.count++;
  s.min = s.min === null ? value : Math.min(s.min, value);
  s.max = s.max === null ? value : Math.max(s.max, value);
  if (bins === EXTREMES_ONLY) return;
  let total = 0;
  for (const w of s.w) total += w;
  if (total >= cap) {
    const k = (cap - 1) / total;
    for (let i = 0; i < s.w.length; i++) s.w[i] = compact((s.w[i] as number) * k);
  }
  let at = 0;
  while (at < s.c.length && (s.c[at] as number) < value) at++;
  if (s.c[at] === value) {
    s.w[at] = (s.w[at] as number) + 1;
    return;
  }
  s.c.splice(at, 0, value);
  s.w.splice(at, 0, 1);
  if (s.c.length <= bins) return;
  let best = 0;
  let gap = Infinity;
  for (let i = 0; i + 1 < s.c.length; i++) {
    const d = (s.c[i + 1] as number) - (s.c[i] as number);
    if (d < gap) {
      gap = d;
      best = i;
    }
  }
  const w1 = s.w[best] as number;
  const w2 = s.w[best + 1] as number;
  s.c[best] = compact(((s.c[best] as number) * w1 + (s.c[best + 1] as number) * w2) / (w1 + w2));
  s.w[best] = compact(w1 + w2);
  s.c.splice(best + 1, 1);
  s.w.splice(best + 1, 1);
}

/**
 * The q-quantile (0..1), interpolated between centroids and clamped to the exact extremes; NaN
 * when empty. q = 0 and q = 1 return the exact min and max (the only ones an EXTREMES_ONLY sketch has).
 */
export function sketchQuantile(s: Sketch, q: number): number {
  if (s.min === null || s.max === null) return NaN;
  if (q <= 0) return s.min;
  if (q >= 1) return s.max;
  if (s.c.length === 0) return NaN;
  let total = 0;
  for (const w of s.w) total += w;
  const target = q * total;
  // Each centroid's weight is spread half either side of it; the ends run to the exact extremes.
  let cum = 0;
  let prevX = s.min;
  let prevCum = 0;
  for (let i = 0; i < s.c.length; i++) {
    const w = s.w[i] as number;
    const mid = cum + w / 2;
    const x = s.c[i] as number;
    if (target <= mid) {
      const span = mid - prevCum;
      return span <= 0 ? x : prevX + ((x - prevX) * (target - prevCum)) / span;
    }
    prevX = x;
    prevCum = mid;
    cum += w;
  }
  const span = total - prevCum;
  return span <= 0 ? s.max : prevX + ((s.max - prevX) * (target - prevCum)) / span;
}

export function isSketch(value: unknown): value is Sketch {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  const nums = (a: unknown): boolean => Array.isArray(a) && a.every((x) => typeof x === 'number' && Number.isFinite(x));
  const numOrNull = (x: unknown): boolean => x === null || (typeof x === 'number' && Number.isFinite(x));
  return (
    nums(s.c) &&
    nums(s.w) &&
    (s.c as number[]).length === (s.w as number[]).length &&
    numOrNull(s.min) &&
    numOrNull(s.max) &&
    typeof s.count === 'number' &&
    Number.isFinite(s.count)
  );
}

/**
 * After calibration a sketch's extremes may move only a small step per value (2 % of its span):
 * the car's normal still follows slow, real change (seasons, wear), but a developing fault that
 * ramps window by window cannot drag the limits ahead of itself.
 */
export const SLOW_STEP = 0.02;

export function learnIntoSketch(s: Sketch, value: number, slow: boolean, bins = SKETCH_BINS): void {
  if (!Number.isFinite(value)) return;
  if (slow && s.min !== null && s.max !== null) {
    const step = Math.max((s.max - s.min) * SLOW_STEP, Number.EPSILON);
    value = Math.min(s.max + step, Math.max(s.min - step, value));
  }
  addToSketch(s, compact(value), bins);
}

/**
 * `[count, min, max]`: a distribution only ever read at its extremes (a signal's operating range,
 * its largest zig-zag) as three numbers of JSON. Learns exactly as a sketch's exact min and max do.
 */
export type Extremes = [count: number, min: number | null, max: number | null];

export function createExtremes(): Extremes {
  return [0, null, null];
}

export function learnIntoExtremes(e: Extremes, value: number, slow: boolean): void {
  if (!Number.isFinite(value)) return;
  const [count, min, max] = e;
  if (slow && min !== null && max !== null) {
    const step = Math.max((max - min) * SLOW_STEP, Number.EPSILON);
    value = Math.min(max + step, Math.max(min - step, value));
  }
  value = compact(value);
  e[0] = count + 1;
  e[1] = min === null ? value : Math.min(min, value);
  e[2] = max === null ? value : Math.max(max, value);
}

/** Lowest and highest learned value; NaN while empty. */
export const lowest = (e: Extremes): number => e[1] ?? NaN;
export const highest = (e: Extremes): number => e[2] ?? NaN;

export function isExtremes(value: unknown): value is Extremes {
  const numOrNull = (x: unknown): boolean => x === null || (typeof x === 'number' && Number.isFinite(x));
  return (
    Array.isArray(value) &&
    value.length === 3 &&
    typeof value[0] === 'number' &&
    Number.isFinite(value[0]) &&
    value[0] >= 0 &&
    numOrNull(value[1]) &&
    numOrNull(value[2])
  );
}
