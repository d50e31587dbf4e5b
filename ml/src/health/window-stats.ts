import { regimeOf, type Frame } from '../features/frames.js';

/** Mean of one signal over the window's frames that match `keep` (default: engine running). */
export function meanOf(frames: readonly Frame[], index: number, keep: (f: Frame) => boolean = isRunning): number {
  // A loop, not filter/map: this runs a few dozen times per window for every vehicle of the fleet.
  let sum = 0;
  let n = 0;
  for (const f of frames) {
    if (!keep(f)) continue;
    const v = f.v[index] as number;
    if (Number.isFinite(v)) {
      sum += v;
      n++;
    }
  }
  return n === 0 ? NaN : sum / n;
}

export function medianOf(frames: readonly Frame[], index: number, keep: (f: Frame) => boolean): number {
  const values = frames
    .filter(keep)
    .map((f) => f.v[index] ?? NaN)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (values.length === 0) return NaN;
  return values[Math.floor(values.length / 2)] as number;
}

export function isRunning(f: Frame): boolean {
  return regimeOf(f.v) !== 'off';
}

export function isOff(f: Frame): boolean {
  return regimeOf(f.v) === 'off';
}

/** The frames of the last `ms` of a window (the freshest evidence, for fast-moving faults). */
export function tail(frames: readonly Frame[], ms: number): readonly Frame[] {
  const end = frames[frames.length - 1]?.t ?? 0;
  return frames.filter((f) => f.t > end - ms);
}

export function fmt(value: number, digits = 1): string {
  return value.toFixed(digits);
}
