import { S, FEATURE_SIGNALS } from '../signals.js';
import type { Drive } from '../dataset/carobd.js';
import { createRng, hashSeed, type Rng } from '../dataset/rng.js';
import { regimeOf, type Frame } from '../features/frames.js';

export const FAULT_TYPES = [
  'sensor_drift',
  'stuck_sensor',
  'overheating',
  'lean_trims',
  'weak_battery',
  'noisy_signal',
] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

export interface InjectedDrive {
  file: string;
  fault: FaultType;
  /** Time of the first faulty frame (ms, same clock as the frames). */
  onsetMs: number;
  /** Catalogue key of the signal the fault acts on (the first one for multi-signal faults). */
  signal: string;
  /** Human-readable parameters, e.g. "MAP +18.2 kPa over 180 s". */
  description: string;
  frames: Frame[];
}

export interface InjectOptions {
  seed: number;
  /** Onset lies in this fraction range of the drive's running time. */
  onsetRange?: [number, number];
  /**
   * Signals the car reports (frame indices, `signalPresence`): stuck and noisy faults pick only
   * among these. Default: every signal.
   */
  present?: ReadonlySet<number>;
}

type Injector = (
  frames: Frame[],
  onset: number,
  rng: Rng,
  present: ReadonlySet<number>,
) => { signal: number; description: string };

const key = (i: number): string => FEATURE_SIGNALS[i] as string;

function afterOnset(frames: Frame[], onsetMs: number, apply: (f: Frame, dtMs: number) => void): void {
  for (const f of frames) if (f.t >= onsetMs) apply(f, f.t - onsetMs);
}

/** A MAP sensor whose reading creeps upward (contaminated element, leaking reference port). */
const sensorDrift: Injector = (frames, onset, rng) => {
  const offset = rng.uniform(12, 22);
  const rampMs = rng.uniform(60, 180) * 1000;
  afterOnset(frames, onset, (f, dt) => {
    f.v[S.map] = Math.round((f.v[S.map] as number) + offset * Math.min(1, dt / rampMs));
  });
  return {
    signal: S.map,
    description: `MAP reading +${offset.toFixed(1)} kPa, ramped over ${(rampMs / 1000).toFixed(0)} s`,
  };
};

/** A sensor that freezes on its last value (open circuit held by the ECU, seized sender). */
const STUCK_CANDIDATES = [S.rpm, S.map, S.stft, S.voltage] as const;
const stuckSensor: Injector = (frames, onset, rng, present) => {
  const signal = rng.pick(STUCK_CANDIDATES.filter((i) => present.has(i)));
  const at = frames.find((f) => f.t >= onset);
  const value = at?.v[signal] as number;
  afterOnset(frames, onset, (f) => {
    f.v[signal] = value;
  });
  return { signal, description: `${key(signal)} frozen at ${value}` };
};

/**
 * Coolant climbing past the thermostat's range (low coolant, dead fan, failed pump). Past the
 * thermostat nothing regulates it, so it keeps the engine's own load-driven swings on top of the
 * rise (a reading frozen at one value would be a stuck sender, another fault).
 */
const overheating: Injector = (frames, onset, rng) => {
  const rate = rng.uniform(0.1, 0.3);
  const peak = rng.uniform(110, 122);
  const start = frames.find((f) => f.t >= onset)?.v[S.coolant] as number;
  afterOnset(frames, onset, (f, dt) => {
    const own = f.v[S.coolant] as number;
    const ramp = Math.min(peak, start + (rate * dt) / 1000);
    f.v[S.coolant] = Math.round(Math.max(own, ramp + (own - start)));
  });
  return { signal: S.coolant, description: `coolant rising ${rate.toFixed(2)} °C/s to ${peak.toFixed(0)} °C` };
};

/**
 * Vacuum leak: unmetered air makes the ECU add fuel, most at idle (little airflow to dilute the
 * leak). Short-term trim reacts at once; long-term trim learns it over about two minutes.
 */
const leanTrims: Injector = (frames, onset, rng) => {
  const extraAtIdle = rng.uniform(16, 26);
  const learnMs = 120_000;
  afterOnset(frames, onset, (f, dt) => {
    const map = Math.max(15, f.v[S.map] as number);
    const extra = extraAtIdle * Math.min(1, Math.max(0.35, 30 / map));
    const learned = 0.7 * extra * Math.min(1, dt / learnMs);
    f.v[S.ltft] = (f.v[S.ltft] as number) + learned;
    f.v[S.stft] = (f.v[S.stft] as number) + extra - learned;
  });
  return { signal: S.stft, description: `vacuum leak, +${extraAtIdle.toFixed(1)} % fuel at idle` };
};

/** Battery no longer charged (slipping belt, failing alternator): voltage sags toward ~12 V. */
const weakBattery: Injector = (frames, onset, rng) => {
  const drop = rng.uniform(1.4, 2.2);
  const rampMs = 60_000;
  afterOnset(frames, onset, (f, dt) => {
    const running = regimeOf(f.v) !== 'off';
    const d = running ? drop * Math.min(1, dt / rampMs) : Math.min(drop, 0.6);
    f.v[S.voltage] = Math.round(((f.v[S.voltage] as number) - d) * 1000) / 1000;
  });
  return { signal: S.voltage, description: `module voltage −${drop.toFixed(2)} V (charging lost)` };
};

/** A loose connector or chafed wire: random jumps on a temperature signal. */
const NOISY_CANDIDATES = [S.coolant, S.iat] as const;
const noisySignal: Injector = (frames, onset, rng, present) => {
  const signal = rng.pick(NOISY_CANDIDATES.filter((i) => present.has(i)));
  const sigma = rng.uniform(2.5, 5);
  afterOnset(frames, onset, (f) => {
    f.v[signal] = Math.round((f.v[signal] as number) + sigma * rng.normal());
  });
  return { signal, description: `${key(signal)} + Gaussian noise σ=${sigma.toFixed(1)}` };
};

const ALL_SIGNALS: ReadonlySet<number> = new Set(FEATURE_SIGNALS.map((_, i) => i));

/** A signal counts as reported when it has a value on more than half the engine-running frames. */
export function signalPresence(drives: readonly { frames: readonly Frame[] }[]): Set<number> {
  const counts = new Float64Array(FEATURE_SIGNALS.length);
  let running = 0;
  for (const d of drives) {
    for (const f of d.frames) {
      if (regimeOf(f.v) === 'off') continue;
      running++;
      for (let i = 0; i < counts.length; i++) if (Number.isFinite(f.v[i])) counts[i] = (counts[i] as number) + 1;
    }
  }
  return new Set([...counts.keys()].filter((i) => running > 0 && (counts[i] as number) > running / 2));
}

/**
 * Signals each fault needs before it can be injected (any one of a list of alternatives). Drift
 * is detected by comparing MAP with the pressure rpm and throttle imply (H2's MAP check) or by the
 * fleet model, so it needs those beside MAP; overheating and weak battery act on one signal.
 */
const NEEDS: Record<FaultType, { all: number[]; anyOf?: readonly number[] }> = {
  sensor_drift: { all: [S.map, S.rpm, S.throttle] },
  stuck_sensor: { all: [], anyOf: STUCK_CANDIDATES },
  overheating: { all: [S.coolant] },
  lean_trims: { all: [S.stft, S.ltft] },
  weak_battery: { all: [S.voltage] },
  noisy_signal: { all: [], anyOf: NOISY_CANDIDATES },
};

export interface Applicability {
  fault: FaultType;
  applicable: boolean;
  /** Why not, e.g. "no ecu.control_module_voltage". */
  reason?: string;
}

/** Which faults can be injected into a car that reports `present` (rows for the others print n/a). */
export function faultApplicability(present: ReadonlySet<number>): Applicability[] {
  return FAULT_TYPES.map((fault) => {
    const { all, anyOf } = NEEDS[fault];
    const missing = all.filter((i) => !present.has(i)).map(key);
    if (anyOf && !anyOf.some((i) => present.has(i))) missing.push(anyOf.map(key).join(' / '));
    return missing.length === 0
      ? { fault, applicable: true }
      : { fault, applicable: false, reason: `no ${missing.join(', ')}` };
  });
}

const INJECTORS: Record<FaultType, Injector> = {
  sensor_drift: sensorDrift,
  stuck_sensor: stuckSensor,
  overheating,
  lean_trims: leanTrims,
  weak_battery: weakBattery,
  noisy_signal: noisySignal,
};

/**
 * Writes a labelled, faulty copy of a drive (in memory; the source frames are untouched, the copy
 * shares the frames before onset with it). The onset is drawn among the running frames between
 * 35 % and 60 % of the drive, deterministic in the seed and the file name.
 */
export function injectFault(drive: Drive, fault: FaultType, options: InjectOptions): InjectedDrive {
  const rng = createRng(hashSeed(`${drive.file}:${fault}`, options.seed));
  const [lo, hi] = options.onsetRange ?? [0.35, 0.6];
  const running = drive.frames.filter((f) => regimeOf(f.v) !== 'off');
  if (running.length === 0) throw new Error(`${drive.file} never runs the engine`);
  const pick = running[Math.floor(rng.uniform(lo, hi) * running.length)] as Frame;
  // Injectors change frames from onset on only, so the frames before it are the source's own
  // (never written: scorers treat frames as read-only) and only the rest are copied.
  const frames = drive.frames.map((f) => (f.t < pick.t ? f : { ...f, v: Float64Array.from(f.v) }));
  const present = options.present ?? ALL_SIGNALS;
  const { signal, description } = INJECTORS[fault](frames, pick.t, rng, present);
  return { file: drive.file, fault, onsetMs: pick.t, signal: key(signal), description, frames };
}
