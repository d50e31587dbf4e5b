import { createContext, updateContext, ALL_SEEN, type VehicleContext } from '../features/context.js';
import { readingsToFrames, type Frame, type Reading } from '../features/frames.js';
import { createWindower, type FeatureWindow, type Windower } from '../features/windows.js';
import { checkAnomaly } from '../health/anomaly.js';
import { checkBattery } from '../health/battery.js';
import { checkCatalyst } from '../health/catalyst.js';
import { checkCooling } from '../health/cooling.js';
import { checkFuelTrim } from '../health/fuel-trim.js';
import { checkSensors } from '../health/sensors.js';
import { checkMapConsistency } from '../health/map-consistency.js';
import type { Finding, HealthCheck } from '../health/types.js';
import { SIGNAL_COUNT } from '../signals.js';
import { RULES_ONLY_MODEL, type ClutchModel } from '../models/model.js';

/** A raised finding: one per condition until it clears. */
export interface Alert extends Omit<Finding, 'confirmWindows'> {
  vehicleId: string;
  /** Epoch ms of the window end that raised it. */
  at: number;
}

export interface OnlineScorerOptions {
  model?: ClutchModel;
  /** Clock for bookkeeping (evicting idle vehicles); defaults to Date.now. */
  now?: () => number;
  /** Forget a vehicle after this long without data (bounded memory across a fleet). */
  idleEvictMs?: number;
  /** Use the autoencoder when the model has one (default true). */
  anomaly?: boolean;
}

export interface OnlineScorer {
  push(vehicleId: string, readings: readonly Reading[]): Alert[];
  /** Frame-level entry point used by evaluation and benchmarks (skips reading bucketing). */
  pushFrames(vehicleId: string, frames: readonly Frame[]): Alert[];
  vehicles(): number;
}

export const RULE_CHECKS: readonly HealthCheck[] = [
  checkBattery,
  checkCooling,
  checkFuelTrim,
  checkCatalyst,
  checkSensors,
  checkMapConsistency,
];

interface VehicleState {
  last: Float64Array;
  context: VehicleContext;
  windower: Windower;
  /** Consecutive windows each condition has been seen. */
  streak: Map<string, number>;
  /** Conditions already alerted and not yet cleared. */
  active: Set<string>;
  /** Windows an active condition has been absent. */
  absent: Map<string, number>;
  touchedAt: number;
}

/** A condition clears after this many windows without it, so a flickering reading does not re-alert. */
const CLEAR_WINDOWS = 4;

/**
 * Real-time scorer for the ingest chain. Per vehicle it keeps one window of frames plus a
 * fixed-size context, runs the health checks and the autoencoder each time a window completes
 * (every 15 s of data), and returns each condition's alert once until the condition clears.
 */
export function createOnlineScorer(options: OnlineScorerOptions = {}): OnlineScorer {
  const model = options.model ?? RULES_ONLY_MODEL;
  const now = options.now ?? Date.now;
  const evictMs = options.idleEvictMs ?? 6 * 3600_000;
  const useAnomaly = options.anomaly !== false && model.autoencoder !== undefined;
  const states = new Map<string, VehicleState>();
  let lastSweep = now();

  function state(vehicleId: string): VehicleState {
    let s = states.get(vehicleId);
    if (!s) {
      s = {
        last: new Float64Array(SIGNAL_COUNT).fill(NaN),
        context: createContext(),
        windower: createWindower(),
        streak: new Map(),
        active: new Set(),
        absent: new Map(),
        touchedAt: now(),
      };
      states.set(vehicleId, s);
    }
    s.touchedAt = now();
    return s;
  }

  function evaluate(vehicleId: string, s: VehicleState, window: FeatureWindow): Alert[] {
    const input = { window, context: s.context, calibration: model.calibration };
    const findings: Finding[] = RULE_CHECKS.flatMap((check) => check(input));
    if (useAnomaly && model.autoencoder) findings.push(...checkAnomaly(window, model.autoencoder));
    const alerts: Alert[] = [];
    const seen = new Set<string>();
    for (const f of findings) {
      seen.add(f.condition);
      s.absent.delete(f.condition);
      const streak = (s.streak.get(f.condition) ?? 0) + 1;
      s.streak.set(f.condition, streak);
      if (streak >= (f.confirmWindows ?? 1) && !s.active.has(f.condition)) {
        s.active.add(f.condition);
        const { confirmWindows: _c, ...rest } = f;
        alerts.push({ vehicleId, ...rest, at: window.end });
      }
    }
    for (const condition of [...s.streak.keys()]) if (!seen.has(condition)) s.streak.delete(condition);
    for (const condition of [...s.active]) {
      if (seen.has(condition)) continue;
      const gone = (s.absent.get(condition) ?? 0) + 1;
      if (gone >= CLEAR_WINDOWS) {
        s.active.delete(condition);
        s.absent.delete(condition);
      } else s.absent.set(condition, gone);
    }
    return alerts;
  }

  function pushFrames(vehicleId: string, frames: readonly Frame[]): Alert[] {
    const s = state(vehicleId);
    const alerts: Alert[] = [];
    for (const frame of frames) {
      updateContext(s.context, frame, frame.seen ?? ALL_SEEN);
      const window = s.windower.push(frame);
      if (window) alerts.push(...evaluate(vehicleId, s, window));
    }
    sweep();
    return alerts;
  }

  function sweep(): void {
    const t = now();
    if (t - lastSweep < 60_000) return;
    lastSweep = t;
    for (const [id, s] of states) if (t - s.touchedAt > evictMs) states.delete(id);
  }

  return {
    push(vehicleId, readings) {
      const s = state(vehicleId);
      return pushFrames(vehicleId, readingsToFrames(readings, s.last));
    },
    pushFrames,
    vehicles: () => states.size,
  };
}
