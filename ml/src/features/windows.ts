import { S, SIGNAL_COUNT } from '../signals.js';
import { regimeOf, type Frame, type Regime } from './frames.js';

/** 30 s windows every 15 s: long enough to average out fuel-trim hunting, short enough to alert fast. */
export const WINDOW_MS = 30_000;
export const HOP_MS = 15_000;

export interface FeatureWindow {
  start: number;
  end: number;
  /** Majority regime of the window's frames. */
  regime: Regime;
  frames: readonly Frame[];
  /** Share of frames with the engine running (0..1). */
  runningShare: number;
}

/** Signals whose within-window spread the autoencoder sees (they move with the driver's foot). */
const SPREAD = [S.rpm, S.speed, S.load, S.map, S.throttle, S.stft] as const;
/** Slow signals whose sample-to-sample jitter reveals a noisy sensor or loose connector. */
const JITTER = [S.coolant, S.iat, S.voltage] as const;

export const FEATURE_NAMES: readonly string[] = [
  ...['rpm', 'speed', 'load', 'coolant', 'iat', 'stft', 'ltft', 'map', 'throttle', 'catalyst', 'voltage'].map(
    (n) => `mean.${n}`,
  ),
  ...['rpm', 'speed', 'load', 'map', 'throttle', 'stft'].map((n) => `std.${n}`),
  ...['coolant', 'iat', 'voltage'].map((n) => `jitter.${n}`),
  'idle_share',
];

/** Signal index each feature is about (for explanations); -1 for the regime share. */
export const FEATURE_SIGNAL: readonly number[] = [
  ...Array.from({ length: SIGNAL_COUNT }, (_, i) => i),
  ...SPREAD,
  ...JITTER,
  -1,
];

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (Number.isFinite(v)) {
      sum += v;
      n++;
    }
  }
  return n === 0 ? NaN : sum / n;
}

/**
 * The autoencoder's input for a window, computed over engine-running frames only; null when the
 * engine ran for under half the window or a feature signal is missing (nothing to compare).
 */
export function windowFeatures(window: FeatureWindow): Float64Array | null {
  if (window.runningShare < 0.5) return null;
  const running = window.frames.filter((f) => regimeOf(f.v) !== 'off');
  if (running.length < 4) return null;
  const out = new Float64Array(FEATURE_NAMES.length);
  let k = 0;
  const column = (idx: number): Float64Array => Float64Array.from(running, (f) => f.v[idx] ?? NaN);
  for (let i = 0; i < SIGNAL_COUNT; i++) out[k++] = mean(column(i));
  for (const idx of SPREAD) {
    const col = column(idx);
    const m = mean(col);
    let ss = 0;
    for (const v of col) ss += (v - m) ** 2;
    out[k++] = Math.sqrt(ss / col.length);
  }
  for (const idx of JITTER) {
    const col = column(idx);
    let sum = 0;
    for (let i = 1; i < col.length; i++) sum += Math.abs((col[i] as number) - (col[i - 1] as number));
    out[k++] = sum / (col.length - 1);
  }
  out[k++] = running.filter((f) => regimeOf(f.v) === 'idle').length / running.length;
  for (const v of out) if (!Number.isFinite(v)) return null;
  return out;
}

function makeWindow(frames: readonly Frame[], start: number, end: number): FeatureWindow {
  const counts: Record<Regime, number> = { off: 0, idle: 0, moving: 0 };
  for (const f of frames) counts[regimeOf(f.v)]++;
  const regime = (Object.keys(counts) as Regime[]).reduce((a, b) => (counts[b] > counts[a] ? b : a));
  const runningShare = frames.length === 0 ? 0 : (counts.idle + counts.moving) / frames.length;
  return { start, end, regime, frames, runningShare };
}

/**
 * Incremental windowing used by both the offline pipeline and the online scorer, so training and
 * production see identical windows. Memory is bounded by one window of frames.
 */
export interface Windower {
  push(frame: Frame): FeatureWindow | null;
}

export function createWindower(windowMs = WINDOW_MS, hopMs = HOP_MS): Windower {
  let buffer: Frame[] = [];
  let nextEnd: number | null = null;
  return {
    push(frame) {
      if (nextEnd === null) nextEnd = frame.t + windowMs;
      // A gap longer than a window (logger off, new trip) restarts windowing rather than mixing trips.
      const last = buffer[buffer.length - 1];
      if (last && frame.t - last.t > windowMs) {
        buffer = [];
        nextEnd = frame.t + windowMs;
      }
      if (frame.t < nextEnd) {
        buffer.push(frame);
        return null;
      }
      const start = nextEnd - windowMs;
      const window = makeWindow(
        buffer.filter((f) => f.t >= start),
        start,
        nextEnd,
      );
      nextEnd += hopMs;
      buffer = buffer.filter((f) => f.t >= nextEnd! - windowMs);
      buffer.push(frame);
      return window;
    },
  };
}

export function slidingWindows(frames: readonly Frame[], windowMs = WINDOW_MS, hopMs = HOP_MS): FeatureWindow[] {
  const w = createWindower(windowMs, hopMs);
  const out: FeatureWindow[] = [];
  for (const f of frames) {
    const win = w.push(f);
    if (win) out.push(win);
  }
  return out;
}
