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
}

type Injector = (frames: Frame[], onset: number, rng: Rng) => { signal: number; description: string };

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
const stuckSensor: Injector = (frames, onset, rng) => {
  const signal = rng.pick(STUCK_CANDIDATES);
  const at = frames.find((f) => f.t >= onset);
  const value = at?.v[signal] as number;
  afterOnset(frames, onset, (f) => {
    f.v[signal] = value;
  });
  return { signal, description: `${key(signal)} frozen at ${value}` };
};

/** Coolant climbing past the thermostat's range (low coolant, dead fan, failed pump). */
const overheating: Injector = (frames, onset, rng) => {
  const rate = rng.uniform(0.1, 0.3);
  const peak = rng.uniform(110, 122);
  const start = frames.find((f) => f.t >= onset)?.v[S.coolant] as number;
  afterOnset(frames, onset, (f, dt) => {
    const ramp = Math.min(peak, start + (rate * dt) / 1000);
    f.v[S.coolant] = Math.round(Math.max(f.v[S.coolant] as number, ramp));
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
const noisySignal: Injector = (frames, onset, rng) => {
  const signal = rng.pick(NOISY_CANDIDATES);
  const sigma = rng.uniform(2.5, 5);
  afterOnset(frames, onset, (f) => {
    f.v[signal] = Math.round((f.v[signal] as number) + sigma * rng.normal());
  });
  return { signal, description: `${key(signal)} + Gaussian noise σ=${sigma.toFixed(1)}` };
};

const INJECTORS: Record<FaultType, Injector> = {
  sensor_drift: sensorDrift,
  stuck_sensor: stuckSensor,
  overheating,
  lean_trims: leanTrims,
  weak_battery: weakBattery,
  noisy_signal: noisySignal,
};

/**
 * Writes a labelled, faulty copy of a drive (in memory; the source frames are untouched). The onset
 * is drawn among the running frames between 35 % and 60 % of the drive, deterministic in the seed
 * and the file name.
 */
export function injectFault(drive: Drive, fault: FaultType, options: InjectOptions): InjectedDrive {
  const rng = createRng(hashSeed(`${drive.file}:${fault}`, options.seed));
  const frames = drive.frames.map((f) => ({ t: f.t, v: Float64Array.from(f.v) }));
  const [lo, hi] = options.onsetRange ?? [0.35, 0.6];
  const running = frames.filter((f) => regimeOf(f.v) !== 'off');
  if (running.length === 0) throw new Error(`${drive.file} never runs the engine`);
  const pick = running[Math.floor(rng.uniform(lo, hi) * running.length)] as Frame;
  const { signal, description } = INJECTORS[fault](frames, pick.t, rng);
  return { file: drive.file, fault, onsetMs: pick.t, signal: key(signal), description, frames };
}
