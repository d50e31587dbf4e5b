import { mlError } from '../errors.js';
import { HOLD_BINS } from '../features/context.js';
import { createExtremes, createSketch, isExtremes, isSketch, type Extremes, type Sketch } from './sketch.js';
import { compactMapModel, createMapModel, isMapModel, type MapModelState } from './map-model.js';

/**
 * Operating regimes every car has: idle (stationary), cruise (moving, part throttle) and load
 * (moving, throttle well open or a high calculated load). Built from rpm, speed, throttle and,
 * when the car reports it, engine load.
 */
export const OPERATING_REGIMES = ['idle', 'cruise', 'load'] as const;
export type OperatingRegime = (typeof OPERATING_REGIMES)[number];

/** What one vehicle's own data says about one signal and the logger reading it. */
export interface SignalNormal {
  /** Engine-running windows in which the signal was reported. */
  windows: number;
  /** Of those, windows in which its value changed (a signal that rarely changes cannot be called frozen). */
  changing: number;
  /** Smallest non-zero change between consecutive readings: the logger's resolution. */
  quantum: number | null;
  /** Longest time one exact value was held with the engine running (ms). */
  holdMs: number;
  /**
   * Longest hold (ms) per bin of how much the engine's state moved meanwhile (rpm range, or speed
   * range for rpm itself; features/context.ts activityBin): a value may rest long at idle, not
   * while the engine sweeps its range.
   */
  holdByActivity: number[];
  /**
   * Per operating regime: each window's third-largest sign-reversing step pair (the smaller step of
   * the pair): the zig-zag a healthy window of this car reaches three times. Only its largest and
   * count are read.
   */
  zigzag: Extremes[];
  /** Per operating regime: window means, the signal's operating range (its extremes). */
  range: Extremes[];
}

/** A vehicle's own normal, learned from its own driving. JSON-serialisable, a few KB. */
export interface VehicleNormal {
  version: 1;
  /** Engine-running time learned from (ms). */
  runningMs: number;
  /** Engine starts seen. */
  trips: number;
  /** Starts with the coolant below 40 °C (the warm-up curve's evidence). */
  coldStarts: number;
  /** Engine-running 30 s windows learned from. */
  windows: number;
  signals: Record<string, SignalNormal>;
  /** Highest coolant (last 10 s mean) of each warm running window: the regulated band. */
  coolantWarm: Sketch;
  /** Time from a cold start to 60 °C coolant (ms). */
  warmupMs: Sketch;
  /** Catalyst temperature of warm, moving windows (°C). */
  catalyst: Sketch;
  /** Module voltage of running windows after the alternator settled (V). */
  chargingV: Sketch;
  /** Module voltage with the engine off (V). */
  restV: Sketch;
  /** Lowest voltage of each engine start (V). */
  crankV: Sketch;
  /** Combined trim (short + long term) of warm windows, at idle and while moving (%). */
  trimIdle: Sketch;
  trimMoving: Sketch;
  /** Throttle opening of idle windows (%): the load regime is judged from its median. */
  idleThrottle: Sketch;
  /** This car's own manifold-pressure model (from rpm, throttle and load when present). */
  map: MapModelState;
  /** H3's AnomalyState: stored and passed through, never read here. */
  anomaly?: unknown;
}

function createSignalNormal(): SignalNormal {
  return {
    windows: 0,
    changing: 0,
    quantum: null,
    holdMs: 0,
    holdByActivity: new Array<number>(HOLD_BINS).fill(0),
    zigzag: OPERATING_REGIMES.map(() => createExtremes()),
    range: OPERATING_REGIMES.map(() => createExtremes()),
  };
}

export function createVehicleNormal(): VehicleNormal {
  return {
    version: 1,
    runningMs: 0,
    trips: 0,
    coldStarts: 0,
    windows: 0,
    // Signals appear when the car first reports them: one it never reports costs no bytes.
    signals: {},
    coolantWarm: createSketch(),
    warmupMs: createSketch(),
    catalyst: createSketch(),
    chargingV: createSketch(),
    restV: createSketch(),
    crankV: createSketch(),
    trimIdle: createSketch(),
    trimMoving: createSketch(),
    idleThrottle: createSketch(),
    map: createMapModel(),
  };
}

/** What a signal the car has never reported looks like to the checks (frozen: readers only). */
const ABSENT: SignalNormal = deepFreeze(createSignalNormal());

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The signal's normal for reading; an empty one (not added to the normal) when never reported. */
export function signalNormal(normal: VehicleNormal, key: string): SignalNormal {
  return normal.signals[key] ?? ABSENT;
}

/** The signal's normal for learning, created on first use. */
export function ownSignalNormal(normal: VehicleNormal, key: string): SignalNormal {
  let s = normal.signals[key];
  if (!s) normal.signals[key] = s = createSignalNormal();
  return s;
}

const SKETCHES = [
  'coolantWarm',
  'warmupMs',
  'catalyst',
  'chargingV',
  'restV',
  'crankV',
  'trimIdle',
  'trimMoving',
  'idleThrottle',
] as const;

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function isSignalNormal(value: unknown): value is SignalNormal {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  return (
    finite(s.windows) &&
    finite(s.changing) &&
    (s.quantum === null || (finite(s.quantum) && s.quantum > 0)) &&
    finite(s.holdMs) &&
    Array.isArray(s.holdByActivity) &&
    s.holdByActivity.length === HOLD_BINS &&
    s.holdByActivity.every(finite) &&
    Array.isArray(s.zigzag) &&
    s.zigzag.length === OPERATING_REGIMES.length &&
    s.zigzag.every(isExtremes) &&
    Array.isArray(s.range) &&
    s.range.length === OPERATING_REGIMES.length &&
    s.range.every(isExtremes)
  );
}

/**
 * Shortens the normal's JSON in place right before it is stored (about 0.5 KB on a car reporting
 * engine load); learning and checks read it exactly as before. Cheap, but not free: call it per
 * save, not per window.
 */
export function compactVehicleNormal(normal: VehicleNormal): void {
  compactMapModel(normal.map);
}

/** Validates stored JSON (a database row, an import) and returns it as a VehicleNormal. */
export function parseVehicleNormal(json: unknown): VehicleNormal {
  const fail = (why: string): never => {
    throw mlError('ML_NORMAL_INVALID', why);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('not an object');
  const n = json as Record<string, unknown>;
  if (n.version !== 1) fail(`unsupported version ${JSON.stringify(n.version)}`);
  for (const k of ['runningMs', 'trips', 'coldStarts', 'windows'] as const)
    if (!finite(n[k]) || (n[k] as number) < 0) fail(`${k} must be a non-negative number`);
  if (typeof n.signals !== 'object' || n.signals === null || Array.isArray(n.signals))
    fail('signals must be an object');
  for (const [key, s] of Object.entries(n.signals as Record<string, unknown>))
    if (!isSignalNormal(s)) fail(`signals.${key} is malformed`);
  for (const k of SKETCHES) if (!isSketch(n[k])) fail(`${k} is malformed`);
  if (!isMapModel(n.map)) fail('map is malformed');
  // Signals not in it (never reported, or added to the feature set since) read as empty.
  return json as unknown as VehicleNormal;
}
