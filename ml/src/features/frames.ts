import { SIGNAL_COUNT, S, featureIndex } from '../signals.js';

/** One instant of a vehicle: every feature signal's latest value (NaN = never seen). */
export interface Frame {
  /** Milliseconds (epoch or drive-relative; only differences matter). */
  t: number;
  v: Float64Array;
  /** Bit i set when signal i was reported in this frame (not carried forward); default: all. */
  seen?: number;
}

export type Regime = 'off' | 'idle' | 'moving';

/**
 * Regime thresholds read off the carOBD data itself: engine-off rows sit at 0–298 rpm and running
 * rows start at 376 rpm (the histogram has a gap in between), and the speed sensor reports whole
 * km/h with parked rows at 0 and rolling rows from 3 km/h.
 */
export const RUNNING_RPM = 300;
export const MOVING_KMH = 2;

export function regimeOf(v: Float64Array): Regime {
  const rpm = v[S.rpm] ?? NaN;
  if (!(rpm >= RUNNING_RPM)) return 'off';
  const speed = v[S.speed] ?? NaN;
  return speed > MOVING_KMH ? 'moving' : 'idle';
}

export interface Reading {
  signal: string;
  /** ISO string or epoch milliseconds. */
  time: string | number;
  value: number;
}

/** Frame resolution: carOBD logs about two rows a second, so half-second buckets keep every row. */
export const FRAME_MS = 500;

export function toMillis(time: string | number): number {
  return typeof time === 'number' ? time : Date.parse(time);
}

/**
 * Turns a batch of readings into frames, carrying each signal's last value forward (`last` is
 * updated in place, so a caller can keep it between batches). Readings for signals we do not model
 * are ignored; readings are bucketed to FRAME_MS so signals polled a few ms apart share a frame.
 */
export function readingsToFrames(readings: readonly Reading[], last?: Float64Array): Frame[] {
  const state = last ?? new Float64Array(SIGNAL_COUNT).fill(NaN);
  // Ingest hands over each car's readings in time order, a reading cycle per instant: walk them once,
  // a frame per bucket, without a per-reading allocation (this runs for every batch of the fleet).
  // Anything else is put in bucket order first, stable, so a later reading of a bucket still wins.
  const ordered = inBucketOrder(readings) ? readings : [...readings].sort((a, b) => bucketOf(a) - bucketOf(b));
  const frames: Frame[] = [];
  let bucket = Number.NaN;
  let seen = 0;
  const emit = (): void => {
    if (seen !== 0) frames.push({ t: bucket, v: Float64Array.from(state), seen });
    seen = 0;
  };
  for (const r of ordered) {
    const idx = featureIndex(r.signal);
    const t = toMillis(r.time);
    if (idx === undefined || !Number.isFinite(t) || !Number.isFinite(r.value)) continue;
    const b = Math.floor(t / FRAME_MS) * FRAME_MS;
    if (b !== bucket) {
      emit();
      bucket = b;
    }
    state[idx] = r.value;
    seen |= 1 << idx;
  }
  emit();
  return frames;
}

/** A reading's frame bucket; NaN for an unreadable time (such readings are skipped anyway). */
function bucketOf(r: Reading): number {
  const t = toMillis(r.time);
  return Number.isFinite(t) ? Math.floor(t / FRAME_MS) * FRAME_MS : Number.NEGATIVE_INFINITY;
}

function inBucketOrder(readings: readonly Reading[]): boolean {
  let previous = Number.NEGATIVE_INFINITY;
  for (const r of readings) {
    const b = bucketOf(r);
    if (b < previous) return false;
    previous = b;
  }
  return true;
}

/** The inverse, for replaying a drive through the public reading-based API. */
export function framesToReadings(frames: readonly Frame[], signals: readonly string[]): Reading[] {
  const out: Reading[] = [];
  for (const f of frames) {
    signals.forEach((signal, i) => {
      const value = f.v[i];
      if (value !== undefined && Number.isFinite(value)) out.push({ signal, time: f.t, value });
    });
  }
  return out;
}
