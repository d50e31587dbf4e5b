import { FEATURE_SIGNALS, S, SIGNAL_COUNT } from '../signals.js';
import {
  ALL_SEEN,
  HOLD_BINS,
  clearPending,
  type PendingEvidence,
  runningForMs,
  type VehicleContext,
} from '../features/context.js';
import { regimeOf, type Frame } from '../features/frames.js';
import { HOP_MS, type FeatureWindow } from '../features/windows.js';
import { isOff, isRunning, meanOf, medianOf, tail } from '../health/window-stats.js';
import { MAP_SPAN, expectMap, learnMapWindow } from './map-model.js';
import { isCalibrated } from './readiness.js';
import {
  EXTREMES_ONLY,
  highest,
  learnIntoExtremes,
  learnIntoSketch,
  lowest,
  sketchQuantile,
  type Sketch,
} from './sketch.js';
import {
  OPERATING_REGIMES,
  ownSignalNormal,
  signalNormal,
  type OperatingRegime,
  type VehicleNormal,
} from './vehicle-normal.js';

/** Coolant above this over a whole window: the thermostat regulates (every thermostat opens above 75 °C). */
export const REGULATING_C = 70;
/** The alternator ramps up for about a minute after a start. */
export const SETTLE_MS = 60_000;
/** A catalyst is at running temperature after this much running with a warm engine. */
export const CAT_WARM_MS = 15 * 60_000;
/** Engine off this long: the battery voltage has settled to rest. */
export const REST_MS = 30_000;
/** Throttle this far above the car's own idle opening, or this much calculated load, is the load regime. */
const LOAD_THROTTLE_PTS = 20;
const LOAD_PCT = 60;
/**
 * After calibration a learned extreme moves only this share of the way toward a new one per
 * window, so a slowly developing fault is not absorbed into the normal.
 */
const SLOW = 0.05;
/** The idle throttle's median is the one interior quantile of a signal's range read: a coarse sketch. */
const IDLE_THROTTLE_BINS = 8;

const reported = (f: Frame, i: number): boolean => ((f.seen ?? ALL_SEEN) & (1 << i)) !== 0;

/** idle / cruise / load of a running window, from what every car reports. */
export function operatingRegime(normal: VehicleNormal, window: FeatureWindow): OperatingRegime {
  if (window.regime !== 'moving') return 'idle';
  const load = meanOf(window.frames, S.load);
  if (load >= LOAD_PCT) return 'load';
  const idleThrottle = sketchQuantile(normal.idleThrottle, 0.5);
  const throttle = meanOf(window.frames, S.throttle);
  return Number.isFinite(idleThrottle) && throttle >= idleThrottle + LOAD_THROTTLE_PTS ? 'load' : 'cruise';
}

export function regimeIndex(r: OperatingRegime): number {
  return OPERATING_REGIMES.indexOf(r);
}

export interface StepProfile {
  /** Smallest non-zero change between consecutive reported values. */
  quantum: number;
  /** Sign-reversing step pairs (amplitude = the smaller step of the pair): the third largest, the largest. */
  third: number;
  largest: number;
  /** Pairs whose amplitude exceeds `limit`. */
  above: number;
}

/**
 * The reported values' steps in a window: resolution and zig-zag amplitudes. One pass, no
 * allocation (it runs for every signal of every window of the fleet).
 */
export function stepProfile(frames: readonly Frame[], index: number, limit = Infinity): StepProfile {
  let quantum = Infinity;
  let a = 0;
  let b = 0;
  let c = 0;
  let above = 0;
  let prev = NaN;
  let lastStep = 0;
  for (const f of frames) {
    if (!reported(f, index) || !isRunning(f)) continue;
    const v = f.v[index] as number;
    if (!Number.isFinite(v)) continue;
    const step = Math.round((v - prev) * 1e6) / 1e6;
    prev = v;
    if (!Number.isFinite(step) || step === 0) continue;
    const size = Math.abs(step);
    if (size < quantum) quantum = size;
    if (lastStep !== 0 && step > 0 !== lastStep > 0) {
      const amp = Math.min(size, Math.abs(lastStep));
      if (amp > limit) above++;
      if (amp > a) [a, b, c] = [amp, a, b];
      else if (amp > b) [b, c] = [amp, b];
      else if (amp > c) c = amp;
    }
    lastStep = step;
  }
  return { quantum, third: c, largest: a, above };
}

function grow(old: number, seen: number, calibrated: boolean): number {
  if (!(seen > old)) return old;
  return calibrated ? old + SLOW * (seen - old) : seen;
}

/**
 * Folds one window into the vehicle's normal. Counts (running time, starts) always count; the
 * statistics only when `clean` (no finding in the window, none active), so a fault the car shows is
 * not learned as its normal.
 */
export function learnWindow(normal: VehicleNormal, window: FeatureWindow, ctx: VehicleContext, clean: boolean): void {
  const p = ctx.pending;
  normal.runningMs += p.runningMs;
  normal.trips += p.starts;
  normal.coldStarts += p.coldStarts;
  const calibrated = isCalibrated(normal);
  const add = (sketch: Sketch, value: number): void => learnIntoSketch(sketch, value, calibrated);
  if (clean) foldEvidence(normal, p, calibrated);
  clearPending(p);
  // Windows overlap by half (30 s every 15 s): every other one covers each frame once, at half the cost.
  if (Math.round(window.end / HOP_MS) % 2 !== 0) return;
  const span = trackMapResidual(normal, window, ctx);
  if (!clean) return;
  if (span !== null) learnIntoSketch(normal.map.sustained, span, calibrated, EXTREMES_ONLY);
  if (window.runningShare >= 0.5) learnRunning(normal, window, ctx, calibrated);
  else if (window.runningShare === 0 && ctx.offSince !== null && ctx.now - ctx.offSince >= REST_MS) {
    const v = medianOf(window.frames, S.voltage, isOff);
    if (Number.isFinite(v)) add(normal.restV, v);
  }
}

/**
 * Pushes this moving window's MAP model residual into the context's ring; returns the span's mean
 * once the ring holds MAP_SPAN windows (null otherwise, or when the model cannot judge the window).
 */
function trackMapResidual(normal: VehicleNormal, window: FeatureWindow, ctx: VehicleContext): number | null {
  if (window.regime !== 'moving' || !fullyRunning(window)) return null;
  const x = windowMapInputs(window);
  const m = expectMap(normal.map, x);
  const observed = meanOf(window.frames, S.map);
  if (!m || !Number.isFinite(observed) || !withinOwnRange(normal, window, m.usesLoad)) return null;
  ctx.mapRing.push(observed - m.expected);
  if (ctx.mapRing.length > MAP_SPAN) ctx.mapRing.shift();
  return ctx.mapRing.length === MAP_SPAN ? ctx.mapRing.reduce((a, b) => a + b, 0) / MAP_SPAN : null;
}

function foldEvidence(normal: VehicleNormal, p: PendingEvidence, calibrated: boolean): void {
  // Only the slowest warm-up and the weakest start are read: extremes are enough.
  for (const ms of p.warmupMs) learnIntoSketch(normal.warmupMs, ms, calibrated, EXTREMES_ONLY);
  for (const v of p.crankV) learnIntoSketch(normal.crankV, v, calibrated, EXTREMES_ONLY);
  for (let i = 0; i < SIGNAL_COUNT; i++) {
    const key = FEATURE_SIGNALS[i] as string;
    // A signal the car never reported has no holds: it stays out of the normal (and its JSON).
    if (!(p.holdMs[i]! > 0) && !normal.signals[key]) continue;
    const s = ownSignalNormal(normal, key);
    s.holdMs = Math.round(grow(s.holdMs, p.holdMs[i] as number, calibrated));
    for (let b = 0; b < HOLD_BINS; b++)
      s.holdByActivity[b] = Math.round(
        grow(s.holdByActivity[b] as number, p.holdByActivity[i * HOLD_BINS + b] as number, calibrated),
      );
  }
}

function learnRunning(normal: VehicleNormal, window: FeatureWindow, ctx: VehicleContext, calibrated: boolean): void {
  const add = (sketch: Sketch, value: number): void => learnIntoSketch(sketch, value, calibrated);
  normal.windows++;
  const regime = operatingRegime(normal, window);
  const r = regimeIndex(regime);
  for (let i = 0; i < SIGNAL_COUNT; i++) {
    const mean = meanOf(window.frames, i);
    if (!Number.isFinite(mean)) continue;
    const s = ownSignalNormal(normal, FEATURE_SIGNALS[i] as string);
    s.windows++;
    learnIntoExtremes(s.range[r]!, mean, calibrated);
    if (i === S.throttle && regime === 'idle')
      learnIntoSketch(normal.idleThrottle, mean, calibrated, IDLE_THROTTLE_BINS);
    const { quantum, third } = stepProfile(window.frames, i);
    if (Number.isFinite(quantum)) {
      s.changing++;
      if (s.quantum === null || quantum < s.quantum) s.quantum = quantum;
    }
    learnIntoExtremes(s.zigzag[r]!, third, calibrated);
  }
  const running = window.frames.filter(isRunning);
  let minCoolant = Infinity;
  for (const f of running) minCoolant = Math.min(minCoolant, f.v[S.coolant] as number);
  const warm = minCoolant >= REGULATING_C;
  if (warm) add(normal.coolantWarm, meanOf(tail(window.frames, 10_000), S.coolant));
  const ran = runningForMs(ctx);
  if (warm && window.regime === 'moving' && ran >= CAT_WARM_MS) add(normal.catalyst, meanOf(window.frames, S.catalyst));
  if (ran >= SETTLE_MS) add(normal.chargingV, meanOf(window.frames, S.voltage));
  if (warm) {
    const trim = meanOf(window.frames, S.stft) + meanOf(window.frames, S.ltft);
    add(window.regime === 'idle' ? normal.trimIdle : normal.trimMoving, trim);
  }
  if (fullyRunning(window))
    learnMapWindow(normal.map, windowMapInputs(window), meanOf(window.frames, S.map), calibrated);
}

/**
 * The model is a fit to what this car has done; outside its own operating range in this regime
 * (a throttle opening or rpm it never held there) it would be extrapolating, so it does not judge.
 */
export function withinOwnRange(normal: VehicleNormal, window: FeatureWindow, usesLoad: boolean): boolean {
  const r = regimeIndex(operatingRegime(normal, window));
  const inputs = [S.rpm, S.throttle, S.speed, ...(usesLoad ? [S.load] : [])];
  return inputs.every((i) => {
    const range = signalNormal(normal, FEATURE_SIGNALS[i] as string).range[r];
    const mean = meanOf(window.frames, i);
    return range !== undefined && mean >= lowest(range) && mean <= highest(range);
  });
}

export function windowMapInputs(window: FeatureWindow): {
  rpm: number;
  throttle: number;
  speed: number;
  load: number;
  idle: boolean;
} {
  return {
    rpm: meanOf(window.frames, S.rpm),
    throttle: meanOf(window.frames, S.throttle),
    speed: meanOf(window.frames, S.speed),
    load: meanOf(window.frames, S.load),
    idle: window.regime === 'idle',
  };
}

/** True when every frame of the window has the engine running (a start or stop blurs the means). */
export function fullyRunning(window: FeatureWindow): boolean {
  return window.frames.every((f) => regimeOf(f.v) !== 'off');
}
