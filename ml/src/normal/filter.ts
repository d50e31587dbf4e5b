import { FEATURE_SIGNALS, S, SIGNAL_COUNT, signalDefinition } from '../signals.js';
import { ALL_SEEN } from '../features/context.js';
import type { Frame } from '../features/frames.js';

/**
 * Physical limits tighter than the J1979 encoding where the encoding is wider than any car: a
 * 12 V or 24 V system's module voltage never reads above 40 V.
 */
const PHYSICAL_MAX: Partial<Record<number, number>> = { [S.voltage]: 40 };

/**
 * A sample that leaves and returns faster than the sensor's thermal mass allows is a bad sample,
 * not a temperature: a coolant sender cannot move 10 °C in one sample and come back; intake air
 * and catalyst sensors are lighter and see faster real changes. Fast signals (rpm, MAP, trims,
 * voltage) legitimately spike (a blip, a cranking dip), so only their encodable range is checked.
 */
const SPIKE: Partial<Record<number, number>> = { [S.coolant]: 10, [S.iat]: 20, [S.catalyst]: 200 };

export interface FilterState {
  /** The frame held back one step so a spike can be seen returning. */
  pending: Frame | null;
  /** Last accepted value per signal (NaN before the first). */
  accepted: Float64Array;
  /** Per signal: samples filtered since the counts were last taken, and the latest such value. */
  filtered: Float64Array;
  example: Float64Array;
  lastAt: Float64Array;
}

export function createFilter(): FilterState {
  return {
    pending: null,
    accepted: new Float64Array(SIGNAL_COUNT).fill(NaN),
    filtered: new Float64Array(SIGNAL_COUNT),
    example: new Float64Array(SIGNAL_COUNT).fill(NaN),
    lastAt: new Float64Array(SIGNAL_COUNT).fill(NaN),
  };
}

/** Per signal: the plausible range (encoding and physics), read once rather than per sample. */
const LOW = Float64Array.from(FEATURE_SIGNALS, (_, i) => signalDefinition(i).min);
const HIGH = Float64Array.from(FEATURE_SIGNALS, (_, i) =>
  Math.min(signalDefinition(i).max, PHYSICAL_MAX[i] ?? Infinity),
);
const SPIKE_AT = Float64Array.from(FEATURE_SIGNALS, (_, i) => SPIKE[i] ?? NaN);

/**
 * Pushes a frame, returns the previous one with its implausible samples replaced by the last good
 * value (one frame of delay), or null for the first frame. Frames are copied, never mutated.
 */
export function filterFrame(state: FilterState, frame: Frame): Frame | null {
  const current = state.pending;
  state.pending = frame;
  if (!current) return null;
  return clean(state, current, frame);
}

/** Releases the held-back frame (end of data), judged without a following sample. */
export function flushFilter(state: FilterState): Frame | null {
  const current = state.pending;
  state.pending = null;
  return current ? clean(state, current, null) : null;
}

function clean(state: FilterState, frame: Frame, next: Frame | null): Frame {
  let out: Frame | null = null;
  const seen = frame.seen ?? ALL_SEEN;
  const nextSeen = next ? (next.seen ?? ALL_SEEN) : 0;
  for (let i = 0; i < SIGNAL_COUNT; i++) {
    const value = frame.v[i] as number;
    const before = state.accepted[i] as number;
    if ((seen & (1 << i)) === 0) {
      // Carried forward from the last report: if that report was filtered, carry the good value.
      if (Number.isFinite(before) && value !== before && value === state.example[i]) {
        out ??= { t: frame.t, v: frame.v.slice(), seen: frame.seen };
        out.v[i] = before;
      }
      continue;
    }
    if (!Number.isFinite(value)) continue;
    let bad = !(value >= (LOW[i] as number) && value <= (HIGH[i] as number));
    const jump = SPIKE_AT[i] as number;
    if (!bad && next && (nextSeen & (1 << i)) !== 0 && Number.isFinite(before) && !Number.isNaN(jump)) {
      const after = next.v[i] as number;
      bad =
        Math.abs(value - before) > jump &&
        Math.abs(value - after) > jump &&
        Math.abs(after - before) <= jump / 2 &&
        Math.sign(value - before) === Math.sign(value - after);
    }
    if (bad) {
      out ??= { t: frame.t, v: frame.v.slice(), seen: frame.seen };
      out.v[i] = before;
      state.filtered[i] = (state.filtered[i] as number) + 1;
      state.example[i] = value;
      state.lastAt[i] = frame.t;
    } else state.accepted[i] = value;
  }
  return out ?? frame;
}

/** Filtered-sample counts since the last call, per signal, then reset. */
export function takeFiltered(state: FilterState): { signal: string; filtered: number; example: number; at: number }[] {
  const out: { signal: string; filtered: number; example: number; at: number }[] = [];
  for (let i = 0; i < SIGNAL_COUNT; i++) {
    const n = state.filtered[i] as number;
    if (n === 0) continue;
    out.push({
      signal: FEATURE_SIGNALS[i] as string,
      filtered: n,
      example: state.example[i] as number,
      at: state.lastAt[i] as number,
    });
    state.filtered[i] = 0;
  }
  return out;
}
