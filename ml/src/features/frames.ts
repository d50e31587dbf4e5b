import { FEATURE_SIGNALS, SIGNAL_COUNT, S, featureIndex } from '../signals.js';

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
 * `pool` (optional, kept by the caller per vehicle) is where the frames' values are stored.
 */
export function readingsToFrames(readings: readonly Reading[], last?: Float64Array, pool?: FramePool): Frame[] {
  const state = last ?? new Float64Array(SIGNAL_COUNT).fill(NaN);
  // Without a caller's pool, one buffer sized for this batch (readings in order span at most that
  // many buckets; more chunks only if the order turns out not to hold, just before the walk gives up).
  const slots = pool ?? { buffer: new Float64Array(Math.max(1, bucketSpan(readings)) * SIGNAL_COUNT), used: 0 };
  // Ingest hands over each car's readings in time order, a reading cycle per instant: walk them once,
  // a frame per bucket (this runs for every batch of the fleet). Anything else is put in bucket order
  // first, stable, so a later reading of a bucket still wins: the walk gives up at the first reading
  // whose bucket goes back and starts over on a sorted copy.
  const before = state.slice();
  const frames = bucketFrames(readings, state, slots);
  if (frames) return frames;
  state.set(before);
  const sorted = [...readings].sort((a, b) => bucketOf(a) - bucketOf(b));
  return bucketFrames(sorted, state, slots) as Frame[];
}

/**
 * Where frames' values live: a small typed array of its own costs an off-heap allocation (~0.7 µs,
 * more than everything else a frame costs), a view onto a shared chunk a few tens of ns. A caller
 * that converts batch after batch for one vehicle (the online scorer) keeps one pool per vehicle:
 * a chunk serves many batches. Chunks are never reused, so a frame's values never change under it.
 */
export interface FramePool {
  buffer: Float64Array;
  /** Values of `buffer` already handed out. */
  used: number;
}

/** Frames per chunk of a long-lived pool (1.4 KB): one allocation every 16 frames. */
const POOL_FRAMES = 16;

export function createFramePool(): FramePool {
  return { buffer: new Float64Array(0), used: 0 };
}

/**
 * One walk in the given order, carrying values forward in `state`; null when a usable reading's
 * bucket is earlier than the previous one (only usable readings can change the frames, so skipped
 * ones may sit anywhere).
 */
function bucketFrames(readings: readonly Reading[], state: Float64Array, pool: FramePool): Frame[] | null {
  const frames: Frame[] = [];
  // Plain locals, no closure over them: the loop keeps them in registers (it runs per reading).
  let bucket = Number.NEGATIVE_INFINITY;
  let seen = 0;
  for (const r of readings) {
    const idx = featureIndex(r.signal);
    if (idx === undefined || !Number.isFinite(r.value)) continue;
    const t = toMillis(r.time);
    if (!Number.isFinite(t)) continue;
    const b = Math.floor(t / FRAME_MS) * FRAME_MS;
    if (b !== bucket) {
      if (b < bucket) return null;
      if (seen !== 0) frames.push({ t: bucket, v: copyInto(pool, state), seen });
      seen = 0;
      bucket = b;
    }
    state[idx] = r.value;
    seen |= 1 << idx;
  }
  if (seen !== 0) frames.push({ t: bucket, v: copyInto(pool, state), seen });
  return frames;
}

/** A copy of `state` in the pool's next slot (a new chunk when the current one is full). */
function copyInto(pool: FramePool, state: Float64Array): Float64Array {
  if (pool.used + SIGNAL_COUNT > pool.buffer.length) {
    pool.buffer = new Float64Array(POOL_FRAMES * SIGNAL_COUNT);
    pool.used = 0;
  }
  const v = pool.buffer.subarray(pool.used, pool.used + SIGNAL_COUNT);
  pool.used += SIGNAL_COUNT;
  v.set(state);
  return v;
}

/** Buckets from the first to the last usable reading (their count when the readings are in order). */
function bucketSpan(readings: readonly Reading[]): number {
  const usable = (r: Reading): number =>
    featureIndex(r.signal) !== undefined && Number.isFinite(r.value) ? bucketOf(r) : Number.NaN;
  let first = Number.NaN;
  for (let i = 0; i < readings.length && !Number.isFinite(first); i++) first = usable(readings[i] as Reading);
  let last = Number.NaN;
  for (let i = readings.length - 1; i >= 0 && !Number.isFinite(last); i--) last = usable(readings[i] as Reading);
  if (!Number.isFinite(first) || !Number.isFinite(last)) return 1;
  return Math.min(readings.length, Math.max(1, (last - first) / FRAME_MS + 1));
}

/** A reading's frame bucket; NaN for an unreadable time (such readings are skipped anyway). */
function bucketOf(r: Reading): number {
  const t = toMillis(r.time);
  return Number.isFinite(t) ? Math.floor(t / FRAME_MS) * FRAME_MS : Number.NEGATIVE_INFINITY;
}

/**
 * Readings as columns, for a caller that holds many (ingest's scoring queue): reading i is the
 * feature signal `feature[i]` (featureColumn; -1 for a signal no model reads) at `time[i]` (epoch
 * ms) with `value[i]`. Three typed arrays per batch instead of an object per reading: what waits to
 * be scored costs the garbage collector nothing to keep.
 */
export interface ReadingColumns {
  feature: Int8Array;
  time: Float64Array;
  value: Float64Array;
}

/** Readings start..end-1 of some columns: one vehicle's, in the order they are given. */
export interface ColumnRange {
  columns: ReadingColumns;
  start: number;
  end: number;
}

/** A signal key's entry in ReadingColumns.feature: its feature index, or -1 when no model reads it. */
export function featureColumn(key: string): number {
  return featureIndex(key) ?? -1;
}

/**
 * readingsToFrames for readings held as columns: the ranges in order are the batch. Same frames,
 * same carrying forward in `last`, same pool use; readings whose buckets go back take the
 * reading-based path (sorted there), which is rare enough to pay for its objects.
 */
export function columnsToFrames(ranges: readonly ColumnRange[], last?: Float64Array, pool?: FramePool): Frame[] {
  const state = last ?? new Float64Array(SIGNAL_COUNT).fill(NaN);
  const slots = pool ?? createFramePool();
  const before = state.slice();
  const frames = bucketColumns(ranges, state, slots);
  if (frames) return frames;
  state.set(before);
  return readingsToFrames(columnsToReadings(ranges), state, slots);
}

/** bucketFrames over columns. */
function bucketColumns(ranges: readonly ColumnRange[], state: Float64Array, pool: FramePool): Frame[] | null {
  const frames: Frame[] = [];
  let bucket = Number.NEGATIVE_INFINITY;
  let seen = 0;
  for (const { columns, start, end } of ranges) {
    const { feature, time, value } = columns;
    for (let i = start; i < end; i++) {
      const idx = feature[i]!;
      const v = value[i]!;
      if (idx < 0 || !Number.isFinite(v)) continue;
      const t = time[i]!;
      if (!Number.isFinite(t)) continue;
      const b = Math.floor(t / FRAME_MS) * FRAME_MS;
      if (b !== bucket) {
        if (b < bucket) return null;
        if (seen !== 0) frames.push({ t: bucket, v: copyInto(pool, state), seen });
        seen = 0;
        bucket = b;
      }
      state[idx] = v;
      seen |= 1 << idx;
    }
  }
  if (seen !== 0) frames.push({ t: bucket, v: copyInto(pool, state), seen });
  return frames;
}

/** The ranges' readings as objects (signals no model reads are left out: no frame has them). */
export function columnsToReadings(ranges: readonly ColumnRange[]): Reading[] {
  const out: Reading[] = [];
  for (const { columns, start, end } of ranges)
    for (let i = start; i < end; i++) {
      const idx = columns.feature[i]!;
      if (idx >= 0) out.push({ signal: FEATURE_SIGNALS[idx]!, time: columns.time[i]!, value: columns.value[i]! });
    }
  return out;
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
