import { createContext, updateContext, ALL_SEEN, type VehicleContext } from '../features/context.js';
import {
  columnsToFrames,
  createFramePool,
  readingsToFrames,
  type ColumnRange,
  type Frame,
  type FramePool,
  type Reading,
} from '../features/frames.js';
import { createWindower, type FeatureWindow, type Windower } from '../features/windows.js';
import { checkAnomaly, createAnomalyState, learnAnomaly, type AnomalyState } from '../models/fleet-anomaly.js';
import { checkBattery } from '../health/battery.js';
import { checkCatalyst } from '../health/catalyst.js';
import { checkCooling } from '../health/cooling.js';
import { checkFuelTrim } from '../health/fuel-trim.js';
import { checkSensors } from '../health/sensors.js';
import { checkMapConsistency } from '../health/map-consistency.js';
import type { Finding, HealthCheck } from '../health/types.js';
import { SIGNAL_COUNT } from '../signals.js';
import { RULES_ONLY_MODEL, type ClutchModel } from '../models/model.js';
import { isCurrentArtifact } from '../models/autoencoder.js';
import { createVehicleNormal, type VehicleNormal } from '../normal/vehicle-normal.js';
import { createFilter, filterFrame, takeFiltered, type FilterState } from '../normal/filter.js';
import { learnWindow } from '../normal/learn.js';
import { checkReadiness } from '../normal/readiness.js';

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
  /**
   * push() for readings held as columns (features/frames.ts ReadingColumns): the ranges in order are
   * the vehicle's readings, and the alerts are the ones push() would raise for them.
   */
  pushColumns(vehicleId: string, ranges: readonly ColumnRange[]): Alert[];
  /** Frame-level entry point used by evaluation and benchmarks (skips reading bucketing). */
  pushFrames(vehicleId: string, frames: readonly Frame[]): Alert[];
  vehicles(): number;
  /** Start (or restart) a vehicle from a stored or seeded normal. */
  seedNormal(vehicleId: string, normal: VehicleNormal): void;
  /** The vehicle's current normal, undefined if never seen. */
  normal(vehicleId: string): VehicleNormal | undefined;
  /** Vehicles whose normal changed since the last call (for persistence); clears the set. */
  takeChangedNormals(): string[];
  /** Data-quality findings: implausible single samples filtered out, per vehicle and signal, since the last call. */
  takeDataQuality(): DataQualityFinding[];
}

export interface DataQualityFinding {
  vehicleId: string;
  signal: string;
  filtered: number;
  example: number;
  at: number;
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
  /** Storage for this vehicle's frame values, batch after batch (features/frames.ts FramePool). */
  pool: FramePool;
  context: VehicleContext;
  windower: Windower;
  /** Consecutive windows each condition has been seen. */
  streak: Map<string, number>;
  /** Conditions already alerted and not yet cleared. */
  active: Set<string>;
  /** Windows an active condition has been absent. */
  absent: Map<string, number>;
  touchedAt: number;
  normal: VehicleNormal;
  filter: FilterState;
}

/** Signals the MAP model reads: when one of them is frozen its expectation means nothing. */
const MAP_INPUTS = ['intake.manifold_pressure', 'engine.rpm', 'throttle.position', 'vehicle.speed', 'engine.load'];

/**
 * One fault, one alert: a coolant held at 118 °C is overheating, not also a frozen sender; a frozen
 * rpm or MAP sensor is that, not also a MAP model mismatch (the model's inputs are the frozen ones).
 */
function mostSpecific(findings: Finding[], active: ReadonlySet<string>): Finding[] {
  const systemSignals = new Set(findings.filter((f) => f.kind !== 'sensor').flatMap((f) => f.signals.slice(0, 1)));
  // A sensor found frozen earlier stays the explanation while its alert is active (the stuck check
  // needs the engine to move; a frozen MAP read at the next stop is still that sensor).
  const frozen = new Set([
    ...findings.filter((f) => f.condition.startsWith('sensor.stuck.')).map((f) => f.signals[0]),
    ...[...active].filter((c) => c.startsWith(STUCK)).map((c) => c.slice(STUCK.length)),
  ]);
  return findings.filter((f) => {
    if (f.condition.startsWith('sensor.stuck.') && systemSignals.has(f.signals[0] as string)) return false;
    if (f.condition === 'sensor.map_mismatch' && MAP_INPUTS.some((k) => frozen.has(k))) return false;
    return true;
  });
}

const ANOMALY_CONDITION = 'anomaly.autoencoder';
const STUCK = 'sensor.stuck.';

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
  // Only an artifact of the current format has per-vehicle thresholds (older ones are stripped on load).
  const useAnomaly = options.anomaly !== false && isCurrentArtifact(model.autoencoder);
  const states = new Map<string, VehicleState>();
  const filteredSince = new Set<string>();
  let lastSweep = now();
  const changed = new Set<string>();

  function state(vehicleId: string): VehicleState {
    let s = states.get(vehicleId);
    if (!s) {
      s = {
        last: new Float64Array(SIGNAL_COUNT).fill(NaN),
        pool: createFramePool(),
        context: createContext(),
        windower: createWindower(),
        streak: new Map(),
        active: new Set(),
        absent: new Map(),
        touchedAt: now(),
        normal: createVehicleNormal(),
        filter: createFilter(),
      };
      states.set(vehicleId, s);
    }
    s.touchedAt = now();
    return s;
  }

  function evaluate(vehicleId: string, s: VehicleState, window: FeatureWindow): Alert[] {
    const readiness = new Map<string, boolean>();
    const ready = (check: string): boolean => {
      let r = readiness.get(check);
      if (r === undefined) readiness.set(check, (r = checkReadiness(s.normal, check).ready));
      return r;
    };
    const input = { window, context: s.context, calibration: model.calibration, normal: s.normal, ready };
    const findings: Finding[] = mostSpecific(
      RULE_CHECKS.flatMap((check) => check(input)),
      s.active,
    );
    const artifact = useAnomaly ? model.autoencoder : undefined;
    let anomaly: AnomalyState | undefined;
    if (artifact) {
      anomaly = (s.normal.anomaly ??= createAnomalyState()) as AnomalyState;
      const unexplained = checkAnomaly(anomaly, artifact, window);
      // The autoencoder is the net for what no readable check describes: while a check already explains
      // what is wrong with this car (now or still active), a second, vaguer alert about the same
      // disturbance would only send a mechanic looking twice (or at the wrong part).
      const explained = findings.length > 0 || [...s.active].some((c) => c !== ANOMALY_CONDITION);
      if (!explained) findings.push(...unexplained);
    }
    // Learn only from windows where nothing is wrong: a developing fault must not become normal.
    const clean = findings.length === 0 && s.active.size === 0;
    learnWindow(s.normal, window, s.context, clean);
    if (clean && artifact && anomaly) learnAnomaly(anomaly, artifact, window);
    changed.add(vehicleId);
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
    for (const raw of frames) {
      // One frame of delay: a single implausible sample is seen returning before anything reads it.
      const frame = filterFrame(s.filter, raw);
      if (!frame) continue;
      updateContext(s.context, frame, frame.seen ?? ALL_SEEN);
      const window = s.windower.push(frame);
      if (window) alerts.push(...evaluate(vehicleId, s, window));
    }
    // Data quality is taken often (each scoring turn): only vehicles whose filter counted something.
    if (s.filter.filtered.some((n) => n > 0)) filteredSince.add(vehicleId);
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
      return pushFrames(vehicleId, readingsToFrames(readings, s.last, s.pool));
    },
    pushColumns(vehicleId, ranges) {
      const s = state(vehicleId);
      return pushFrames(vehicleId, columnsToFrames(ranges, s.last, s.pool));
    },
    pushFrames,
    vehicles: () => states.size,
    seedNormal(vehicleId, normal) {
      states.delete(vehicleId);
      state(vehicleId).normal = normal;
    },
    normal: (vehicleId) => states.get(vehicleId)?.normal,
    takeChangedNormals() {
      const ids = [...changed];
      changed.clear();
      return ids;
    },
    takeDataQuality() {
      const out: DataQualityFinding[] = [];
      for (const vehicleId of filteredSince) {
        const s = states.get(vehicleId);
        if (s) for (const f of takeFiltered(s.filter)) out.push({ vehicleId, ...f });
      }
      filteredSince.clear();
      return out;
    },
  };
}
