import type { VehicleContext } from '../features/context.js';
import type { FeatureWindow } from '../features/windows.js';
import type { Calibration } from '../models/calibration.js';
import type { VehicleNormal } from '../normal/vehicle-normal.js';

export type Severity = 'info' | 'warning' | 'critical';

export type AlertKind = 'battery' | 'cooling' | 'fuel_trim' | 'catalyst' | 'sensor' | 'anomaly';

/** What a check concluded about one window; the scorer turns new conditions into alerts. */
export interface Finding {
  /** Stable id of the condition (e.g. `cooling.overheat`): one alert per condition until it clears. */
  condition: string;
  kind: AlertKind;
  severity: Severity;
  title: string;
  /** What is off, by how much, and what a mechanic should check, in plain words. */
  explanation: string;
  /** Catalogue keys involved. */
  signals: string[];
  observed: number;
  expected: { min?: number; max?: number };
  unit: string;
  /** Consecutive windows the condition must hold before it is raised (default 1). */
  confirmWindows?: number;
  /** 'universal': a physical or SAE J1979 limit that holds for every car; 'vehicle': this car's own normal. */
  tier?: 'universal' | 'vehicle';
}

export interface CheckInput {
  window: FeatureWindow;
  context: VehicleContext;
  /** The model's fleet calibration (kept for the autoencoder's side; the checks use `normal`). */
  calibration: Calibration;
  /** This vehicle's own learned normal. */
  normal: VehicleNormal;
  /** Whether a per-vehicle check (normal/readiness.ts VEHICLE_CHECKS id) may run for this vehicle now. */
  ready: (check: string) => boolean;
}

export type HealthCheck = (input: CheckInput) => Finding[];
