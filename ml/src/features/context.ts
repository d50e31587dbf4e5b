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
  /** Per signal: lowest and highest of its driver (rpm; speed for rpm itself) during the current hold. */
  holdDriverMin: Float64Array;
  holdDriverMax: Float64Array;
  /** Coolant at the current start (NaN until read), and when a cold start began warming. */
  startCoolant: number;
  coldStartAt: number | null;
  /** Evidence gathered since the last window, for the vehicle's normal (taken by the learner). */
  pending: PendingEvidence;
  /** MAP model residuals (kPa) of the last learned moving windows, newest last (normal/learn.ts). */
  mapRing: number[];
  /**
   * Manifold pressure while the car stands with the engine idling, or with the engine off (key on),
   * the current stop once settled; `engineOff` says which.
   */
  idleMap: StopMap | null;
  /**
   * The median manifold pressure of the most recent stop long enough to judge (kept until the next
   * one), and whether the reading moved while driving before it (a frozen one is the stuck check's).
   */
  lastStopMap: {
    median: number;
    at: number;
    live: boolean;
    engineOff: boolean;
    /** Every reading of the stop was one value (a frozen sensor looks like that too). */
    flat: boolean;
  } | null;
  /** When the car last moved, and when MAP last changed while it did. */
  lastMovingAt: number;
  mapMovedAt: number;
}

/** Manifold pressure readings of the current stop (standing idling, or engine off), once settled. */
export interface StopMap {
  since: number;
  values: number[];
  live: boolean;
  engineOff: boolean;
  /** The reading changed since the stop began (a real sensor does when the engine stops). */
  moved: boolean;
}

/** What the frames between two windows showed; the learner folds it into the normal or drops it. */
export interface PendingEvidence {
  runningMs: number;
  starts: number;
  coldStarts: number;
  /** Completed holds: longest per signal (ms) and the most driver activity during one (its range). */
  holdMs: Float64Array;
  /** Per signal × activity bin (see activityBin): longest hold with that much driver activity. */
  holdByActivity: Float64Array;
  warmupMs: number[];
  crankV: number[];
}

export function createPending(): PendingEvidence {
  return {
    runningMs: 0,
    starts: 0,
    coldStarts: 0,
    holdMs: new Float64Array(SIGNAL_COUNT),
    holdByActivity: new Float64Array(SIGNAL_COUNT * HOLD_BINS),
    warmupMs: [],
    crankV: [],
  };
}

/** Empties taken evidence in place: a fresh pair of typed arrays every window costs more than the window's checks. */
export function clearPending(p: PendingEvidence): void {
  p.runningMs = 0;
  p.starts = 0;
  p.coldStarts = 0;
  p.holdMs.fill(0);
  p.holdByActivity.fill(0);
  p.warmupMs.length = 0;
  p.crankV.length = 0;
}

/** Longer without a frame than this is a new trip: the engine was off in between. */
export const TRIP_GAP_MS = 30_000;
/** Below this at the start the engine is cold; 60 °C is below every thermostat's opening point. */
export const COLD_START_C = 40;
export const WARM_C = 60;

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
    holdDriverMin: new Float64Array(SIGNAL_COUNT).fill(NaN),
    holdDriverMax: new Float64Array(SIGNAL_COUNT).fill(NaN),
    startCoolant: NaN,
    coldStartAt: null,
    pending: createPending(),
    mapRing: [],
    idleMap: null,
    lastStopMap: null,
    lastMovingAt: -Infinity,
    mapMovedAt: -Infinity,
  };
}

/**
 * A stop counts once the engine has idled with the car standing for this long after settling (the
 * manifold recovers from the overrun before it): two or three seconds of readings at most loggers'
 * rates, long enough for a median.
 */
const STOP_SETTLE_MS = 3_000;
const STOP_MIN_MS = 5_000;
const STOP_MIN_VALUES = 5;
/** A long idle is judged every minute of readings (a traffic jam need not end first). */
const STOP_MAX_VALUES = 120;
const LIVE_MS = 60_000;

function trackStop(ctx: VehicleContext, frame: Frame, mapSeen: boolean): void {
  const regime = regimeOf(frame.v);
  const map = frame.v[S.map] ?? NaN;
  if (regime === 'moving') {
    ctx.lastMovingAt = frame.t;
    // flatValue still holds the previous reading here (updateContext moves the holds on after this).
    const previous = ctx.flatValue[S.map] as number;
    if (mapSeen && Number.isFinite(map) && Number.isFinite(previous) && map !== previous) ctx.mapMovedAt = frame.t;
  }
  // Standing idling, and engine off with the key on (the manifold then reads barometric pressure on
  // every engine): each is a stop of its own, a stall or a restart starts the next one.
  const engineOff = regime === 'off';
  if (regime === 'moving' || (ctx.idleMap && ctx.idleMap.engineOff !== engineOff)) {
    closeStop(ctx);
    ctx.idleMap = null;
    if (regime === 'moving') return;
  }
  // Live: MAP changed in the last minute of driving before the car stood (an engine that stopped and
  // restarted at the same stop still counts from when the car stood).
  ctx.idleMap ??= {
    since: frame.t,
    values: [],
    live: ctx.mapMovedAt >= ctx.lastMovingAt - LIVE_MS,
    engineOff,
    moved: false,
  };
  if (!mapSeen || !Number.isFinite(map)) return;
  // flatValue still holds the previous reading here (see above).
  if (map !== ctx.flatValue[S.map]) ctx.idleMap.moved = true;
  if (frame.t - ctx.idleMap.since < STOP_SETTLE_MS) return;
  ctx.idleMap.values.push(map);
  if (ctx.idleMap.values.length >= STOP_MAX_VALUES) {
    closeStop(ctx);
    const { live, moved } = ctx.idleMap;
    ctx.idleMap = { since: frame.t - STOP_SETTLE_MS, values: [], live, engineOff, moved };
  }
}

/** The current stop's median so far, once it is long enough to judge (null before). */
export function stopSoFar(ctx: VehicleContext): VehicleContext['lastStopMap'] {
  const stop = ctx.idleMap;
  if (!stop || stop.values.length < STOP_MIN_VALUES || ctx.now - stop.since < STOP_SETTLE_MS + STOP_MIN_MS) return null;
  const sorted = [...stop.values].sort((a, b) => a - b);
  // With the engine stopped the manifold goes to barometric pressure: a reading that did not change
  // when the engine stopped is frozen (the stuck check's), not a pressure.
  const live = stop.live && (stop.moved || !stop.engineOff);
  const median = sorted[sorted.length >> 1] as number;
  const flat = sorted[0] === sorted[sorted.length - 1];
  return { median, at: ctx.now, live, engineOff: stop.engineOff, flat };
}

function closeStop(ctx: VehicleContext): void {
  ctx.lastStopMap = stopSoFar(ctx) ?? ctx.lastStopMap;
}

/**
 * How much the engine's state moved during a hold, in bins: rpm range (rpm) for every signal but
 * rpm, whose driver is the speed range (km/h). Bins are coarse so a few hours of driving fill them.
 */
export const HOLD_BINS = 6;
const RPM_EDGES = [0, 250, 500, 1000, 2000, 4000];
const SPEED_EDGES = [0, 5, 10, 20, 40, 80];

export function activityBin(index: number, activity: number): number {
  const edges = index === S.rpm ? SPEED_EDGES : RPM_EDGES;
  let b = 0;
  while (b + 1 < edges.length && activity >= (edges[b + 1] as number)) b++;
  return b;
}

/** The signal whose movement shows the engine's state changed during a hold. */
export function driverOf(index: number): number {
  return index === S.rpm ? S.speed : S.rpm;
}

/** All signals reported (the default for dataset frames). */
export const ALL_SEEN = (1 << SIGNAL_COUNT) - 1;

export function updateContext(ctx: VehicleContext, frame: Frame, seen = ALL_SEEN): void {
  const dt = frame.t - ctx.now;
  if (ctx.now !== 0 && (dt > TRIP_GAP_MS || dt < 0)) {
    // A gap or a clock reset (a new recording): whatever ran before has stopped.
    for (let i = 0; i < SIGNAL_COUNT; i++) endHold(ctx, i);
    ctx.runningSince = null;
    ctx.offSince = null;
    ctx.coldStartAt = null;
    ctx.flatSince.fill(NaN);
    ctx.flatValue.fill(NaN);
    ctx.idleMap = null;
  }
  const wasRunning = ctx.runningSince !== null;
  ctx.now = frame.t;
  const running = regimeOf(frame.v) !== 'off';
  const voltage = frame.v[S.voltage] ?? NaN;
  const coolant = frame.v[S.coolant] ?? NaN;
  if (running && wasRunning && dt > 0 && dt <= TRIP_GAP_MS) ctx.pending.runningMs += dt;
  if (running && ctx.runningSince === null) {
    ctx.runningSince = frame.t;
    ctx.offSince = null;
    ctx.pending.starts++;
    ctx.startCoolant = NaN;
    ctx.coldStartAt = null;
    // An engine start: the dip may already be in the recent frames, the rest comes next.
    ctx.lastCrank = { at: frame.t, minVoltage: Math.min(...ctx.recentVoltage, voltage) };
    ctx.crankFramesLeft = CRANK_FRAMES;
  } else if (!running && ctx.offSince === null) {
    ctx.offSince = frame.t;
    ctx.runningSince = null;
    ctx.coldStartAt = null;
  }
  if (running && Number.isFinite(coolant)) {
    if (Number.isNaN(ctx.startCoolant) && runningForMs(ctx) <= TRIP_GAP_MS) {
      ctx.startCoolant = coolant;
      if (coolant < COLD_START_C) {
        ctx.coldStartAt = ctx.runningSince;
        ctx.pending.coldStarts++;
      }
    }
    if (ctx.coldStartAt !== null && coolant >= WARM_C) {
      ctx.pending.warmupMs.push(frame.t - ctx.coldStartAt);
      ctx.coldStartAt = null;
    }
  }
  if (ctx.crankFramesLeft > 0 && ctx.lastCrank && Number.isFinite(voltage)) {
    ctx.lastCrank.minVoltage = Math.min(ctx.lastCrank.minVoltage, voltage);
    ctx.crankFramesLeft--;
    if (ctx.crankFramesLeft === 0 && Number.isFinite(ctx.lastCrank.minVoltage))
      ctx.pending.crankV.push(ctx.lastCrank.minVoltage);
  }
  if (Number.isFinite(voltage)) {
    ctx.recentVoltage.push(voltage);
    if (ctx.recentVoltage.length > CRANK_FRAMES) ctx.recentVoltage.shift();
  }
  trackStop(ctx, frame, (seen & (1 << S.map)) !== 0);
  for (let i = 0; i < SIGNAL_COUNT; i++) {
    if ((seen & (1 << i)) === 0) continue;
    const value = frame.v[i] ?? NaN;
    const stale = !(frame.t - (ctx.lastSeenAt[i] as number) <= STALE_MS);
    const driver = frame.v[driverOf(i)] ?? NaN;
    // Flat runs only count while the engine runs: a parked car's sensors legitimately freeze.
    if (!running || stale || value !== ctx.flatValue[i] || Number.isNaN(ctx.flatSince[i] as number)) {
      endHold(ctx, i);
      ctx.flatValue[i] = value;
      ctx.flatSince[i] = running ? frame.t : NaN;
      ctx.holdDriverMin[i] = driver;
      ctx.holdDriverMax[i] = driver;
    } else if (Number.isFinite(driver)) {
      if (!(driver >= (ctx.holdDriverMin[i] as number))) ctx.holdDriverMin[i] = driver;
      if (!(driver <= (ctx.holdDriverMax[i] as number))) ctx.holdDriverMax[i] = driver;
    }
    ctx.lastSeenAt[i] = frame.t;
  }
}

/**
 * A hold that ended (value changed, engine stopped, signal went quiet, recording gap) with the
 * engine running throughout: evidence for the normal of how long this signal can hold still.
 */
function endHold(ctx: VehicleContext, i: number): void {
  if (!Number.isFinite(ctx.flatSince[i] as number)) return;
  const held = (ctx.lastSeenAt[i] as number) - (ctx.flatSince[i] as number);
  if (!(held > 0)) return;
  const p = ctx.pending;
  if (held > (p.holdMs[i] as number)) p.holdMs[i] = held;
  const k = i * HOLD_BINS + activityBin(i, holdActivity(ctx, i));
  if (held > (p.holdByActivity[k] as number)) p.holdByActivity[k] = held;
}

/** Driver activity (range) during the signal's current hold. */
export function holdActivity(ctx: VehicleContext, index: number): number {
  const range = (ctx.holdDriverMax[index] as number) - (ctx.holdDriverMin[index] as number);
  return Number.isFinite(range) ? range : 0;
}

export function runningForMs(ctx: VehicleContext): number {
  return ctx.runningSince === null ? 0 : ctx.now - ctx.runningSince;
}
