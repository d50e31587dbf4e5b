import { SIGNAL_COUNT, S } from '../signals.js';
import { regimeOf, type Frame } from './frames.js';

/**
 * Slow per-vehicle state the windowed checks need: how long the engine has run, the last start's
 * cranking dip, and how long each sensor has read exactly the same value. Fixed size per vehicle.
 */
export interface VehicleContext {
  now: number;
  runningSince: number | null;
  offSince: number | null;
  /** Lowest voltage seen around the most recent engine start. */
  lastCrank: { at: number; minVoltage: number } | null;
  /** Per signal: the value it has held since `flatSince` (only frames that reported it count). */
  flatValue: Float64Array;
  flatSince: Float64Array;
  lastSeenAt: Float64Array;
  /** Voltage of the last few frames, to catch a dip that starts before rpm rises. */
  recentVoltage: number[];
  crankFramesLeft: number;
}

/** A signal unreported this long is stale, not stuck: its flat run restarts. */
export const STALE_MS = 10_000;
const CRANK_FRAMES = 6;

export function createContext(): VehicleContext {
  return {
    now: 0,
    runningSince: null,
    offSince: null,
    lastCrank: null,
    flatValue: new Float64Array(SIGNAL_COUNT).fill(NaN),
    flatSince: new Float64Array(SIGNAL_COUNT).fill(NaN),
    lastSeenAt: new Float64Array(SIGNAL_COUNT).fill(NaN),
    recentVoltage: [],
    crankFramesLeft: 0,
  };
}

/** All signals reported (the default for dataset frames). */
export const ALL_SEEN = (1 << SIGNAL_COUNT) - 1;

export function updateContext(ctx: VehicleContext, frame: Frame, seen = ALL_SEEN): void {
  ctx.now = frame.t;
  const running = regimeOf(frame.v) !== 'off';
  const voltage = frame.v[S.voltage] ?? NaN;
  if (running && ctx.runningSince === null) {
    ctx.runningSince = frame.t;
    ctx.offSince = null;
    // An engine start: the dip may already be in the recent frames, the rest comes next.
    ctx.lastCrank = { at: frame.t, minVoltage: Math.min(...ctx.recentVoltage, voltage) };
    ctx.crankFramesLeft = CRANK_FRAMES;
  } else if (!running && ctx.offSince === null) {
    ctx.offSince = frame.t;
    ctx.runningSince = null;
  }
  if (ctx.crankFramesLeft > 0 && ctx.lastCrank && Number.isFinite(voltage)) {
    ctx.lastCrank.minVoltage = Math.min(ctx.lastCrank.minVoltage, voltage);
    ctx.crankFramesLeft--;
  }
  if (Number.isFinite(voltage)) {
    ctx.recentVoltage.push(voltage);
    if (ctx.recentVoltage.length > CRANK_FRAMES) ctx.recentVoltage.shift();
  }
  for (let i = 0; i < SIGNAL_COUNT; i++) {
    if ((seen & (1 << i)) === 0) continue;
    const value = frame.v[i] ?? NaN;
    const stale = !(frame.t - (ctx.lastSeenAt[i] as number) <= STALE_MS);
    // Flat runs only count while the engine runs: a parked car's sensors legitimately freeze.
    if (!running || stale || value !== ctx.flatValue[i]) {
      ctx.flatValue[i] = value;
      ctx.flatSince[i] = frame.t;
    }
    ctx.lastSeenAt[i] = frame.t;
  }
}

export function runningForMs(ctx: VehicleContext): number {
  return ctx.runningSince === null ? 0 : ctx.now - ctx.runningSince;
}
