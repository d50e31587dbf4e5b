import { readingsToFrames, type Reading } from './features/frames.js';
import { analyzeDrivingFrames, type DrivingReport } from './health/driving.js';
import type { AlertKind } from './health/types.js';
import { RULES_ONLY_MODEL, type ClutchModel } from './models/model.js';
import { createOnlineScorer, type Alert } from './online/scorer.js';
import { S } from './signals.js';
import { regimeOf, type Frame } from './features/frames.js';

export interface SystemStatus {
  status: 'ok' | 'attention' | 'no_data';
  alerts: Alert[];
  summary: string;
}

export interface MaintenancePrediction {
  modelVersion: string;
  hoursAnalysed: number;
  alerts: Alert[];
  systems: Record<AlertKind, SystemStatus>;
}

function sorted(frames: readonly Frame[]): Frame[] {
  return [...frames].sort((a, b) => a.t - b.t);
}

function median(values: number[]): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.floor(s.length / 2)] as number);
}

/**
 * Runs every health check (and the autoencoder, when the model has one) over one vehicle's
 * readings and reports per system, each alert explained. Pure: no I/O, no shared state.
 */
export function predictMaintenance(
  readings: readonly Reading[],
  options: { model?: ClutchModel } = {},
): MaintenancePrediction {
  const model = options.model ?? RULES_ONLY_MODEL;
  const frames = sorted(readingsToFrames(readings));
  const alerts = createOnlineScorer({ model, now: () => 0 }).pushFrames('vehicle', frames);
  const running = frames.filter((f) => regimeOf(f.v) !== 'off');
  const col = (idx: number, list: readonly Frame[] = running): number => median(list.map((f) => f.v[idx] as number));
  let peakCoolant = Number.NEGATIVE_INFINITY;
  for (const f of running) {
    const c = f.v[S.coolant] as number;
    if (Number.isFinite(c) && c > peakCoolant) peakCoolant = c;
  }
  const describe: Record<AlertKind, string> = {
    battery: `median running voltage ${col(S.voltage).toFixed(2)} V`,
    cooling: Number.isFinite(peakCoolant)
      ? `coolant peaked at ${peakCoolant.toFixed(0)} °C`
      : 'no coolant temperature while the engine ran',
    fuel_trim: `median trims short ${col(S.stft).toFixed(1)} %, long ${col(S.ltft).toFixed(1)} %`,
    catalyst: `median catalyst temperature ${col(S.catalyst).toFixed(0)} °C`,
    sensor: 'sensor readings checked for frozen values, jumps and MAP/load agreement',
    anomaly: model.autoencoder ? 'autoencoder consistency check applied' : 'no autoencoder in this model',
  };
  const systems = {} as Record<AlertKind, SystemStatus>;
  for (const kind of Object.keys(describe) as AlertKind[]) {
    const mine = alerts.filter((a) => a.kind === kind);
    systems[kind] = {
      status: running.length === 0 ? 'no_data' : mine.length > 0 ? 'attention' : 'ok',
      alerts: mine,
      summary: mine.length > 0 ? mine.map((a) => a.title).join('; ') : `No fault found: ${describe[kind]}.`,
    };
  }
  const first = frames[0];
  const last = frames[frames.length - 1];
  return {
    modelVersion: model.version,
    hoursAnalysed: first && last ? (last.t - first.t) / 3_600_000 : 0,
    alerts,
    systems,
  };
}

/** Driving-behaviour score and explained events for one vehicle's readings. */
export function analyzeDriving(readings: readonly Reading[]): DrivingReport {
  return analyzeDrivingFrames(sorted(readingsToFrames(readings)));
}
