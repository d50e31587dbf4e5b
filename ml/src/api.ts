import { readingsToFrames, type Reading } from './features/frames.js';
import { analyzeDrivingFrames, type DrivingReport } from './health/driving.js';
import type { AlertKind } from './health/types.js';
import { RULES_ONLY_MODEL, type ClutchModel } from './models/model.js';
import { createOnlineScorer, type Alert } from './online/scorer.js';
import { S } from './signals.js';
import { createVehicleNormal, type VehicleNormal } from './normal/vehicle-normal.js';
import { calibrationStatus, type CalibrationStatus, type CheckReadiness } from './normal/readiness.js';
import { isCurrentArtifact } from './models/autoencoder.js';
import { anomalyProgress, createAnomalyState, type AnomalyState } from './models/fleet-anomaly.js';
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
  /**
   * Whether the vehicle's own normal is calibrated, and which checks could run (and why not), after
   * learning from these readings (the caller's normal is not modified). Always set; optional in the
   * type only so API types that extend this one opt in to exposing it.
   */
  calibration?: CalibrationStatus;
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
 * readings and reports per system, each alert explained. Pure: no I/O, no shared state. With the
 * vehicle's stored `normal` the per-vehicle checks run once it is calibrated; without one the
 * vehicle starts calibrating and only the universal checks can fire.
 */
export function predictMaintenance(
  readings: readonly Reading[],
  options: { model?: ClutchModel; normal?: VehicleNormal } = {},
): MaintenancePrediction {
  const model = options.model ?? RULES_ONLY_MODEL;
  const frames = sorted(readingsToFrames(readings));
  const scorer = createOnlineScorer({ model, now: () => 0 });
  scorer.seedNormal('vehicle', options.normal ? structuredClone(options.normal) : createVehicleNormal());
  const alerts = scorer.pushFrames('vehicle', frames);
  const normal = scorer.normal('vehicle') ?? createVehicleNormal();
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
    calibration: calibrationStatus(normal, anomalyReadiness(model, normal)),
  };
}

/** The autoencoder's per-vehicle calibration, as one more check in the status. */
function anomalyReadiness(model: ClutchModel, normal: VehicleNormal): CheckReadiness[] {
  const artifact = model.autoencoder;
  if (!isCurrentArtifact(artifact)) return [];
  const p = anomalyProgress((normal.anomaly ?? createAnomalyState()) as AnomalyState, artifact);
  return [
    p.ready
      ? { check: 'anomaly.autoencoder', ready: true }
      : {
          check: 'anomaly.autoencoder',
          ready: false,
          reason: `calibrating: ${p.windows} of ${p.windowsNeeded} windows`,
        },
  ];
}

/** Driving-behaviour score and explained events for one vehicle's readings. */
export function analyzeDriving(readings: readonly Reading[]): DrivingReport {
  return analyzeDrivingFrames(sorted(readingsToFrames(readings)));
}
