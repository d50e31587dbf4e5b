import { mapModelWindows } from './map-model.js';
import { signalNormal, type VehicleNormal } from './vehicle-normal.js';

/**
 * The calibration period: a vehicle's own limits are trusted only after this much of its own
 * driving (enough hours to see its regimes, enough trips to see starts and warm-ups). Until then
 * only the universal checks (physics, SAE J1979 ranges) may fire.
 */
export const CALIBRATION_HOURS = 3;
export const CALIBRATION_TRIPS = 5;

/**
 * Evidence each per-vehicle check needs beyond the calibration period, in learned windows (30 s
 * each: the learner takes every other of the overlapping 30 s windows).
 */
export const NEEDS = {
  /** 30 min of warm running (coolant above 70 °C). */
  coolantWarmWindows: 60,
  coldStarts: 2,
  /** 30 min of running with the alternator settled. */
  chargingWindows: 60,
  restWindows: 4,
  crankStarts: 10,
  trimIdleWindows: 20,
  trimMovingWindows: 60,
  catalystWindows: 60,
  /** 1 h of running with the signal reported. */
  signalWindows: 120,
} as const;

export interface CheckReadiness {
  check: string;
  ready: boolean;
  reason?: string;
}

export interface CalibrationStatus {
  status: 'calibrating' | 'calibrated';
  runningHours: number;
  hoursNeeded: number;
  trips: number;
  tripsNeeded: number;
  /** Every check and whether it can run now; reason when not ("needs engine.load", "calibrating"). */
  checks: CheckReadiness[];
}

export function isCalibrated(normal: VehicleNormal): boolean {
  return normal.runningMs >= CALIBRATION_HOURS * 3_600_000 && normal.trips >= CALIBRATION_TRIPS;
}

/** A signal this car has: reported in running windows (absent signals stay at 0 forever). */
export function hasSignal(normal: VehicleNormal, key: string): boolean {
  return signalNormal(normal, key).windows > 0;
}

/** Signals the per-vehicle checks read, in the order a "needs" reason lists them. */
const COOLANT = 'engine.coolant_temp';
const VOLTAGE = 'ecu.control_module_voltage';
const CATALYST = 'catalyst.temp_b1s1';
const STFT = 'fuel.trim.short_term_b1';
const LTFT = 'fuel.trim.long_term_b1';
const MAP = 'intake.manifold_pressure';
const THROTTLE = 'throttle.position';
const RPM = 'engine.rpm';

interface CheckSpec {
  check: string;
  signals: readonly string[];
  /** null when the normal has enough evidence; otherwise what is missing. */
  evidence: (n: VehicleNormal) => string | null;
}

const enough = (have: number, need: number, what: string): string | null =>
  have >= need ? null : `calibrating: ${what} ${Math.floor(have)} of ${need}`;

/** Per-vehicle checks: ready once the vehicle is calibrated, has the signals and the evidence. */
export const VEHICLE_CHECKS: readonly CheckSpec[] = [
  {
    check: 'cooling.overheat',
    signals: [COOLANT],
    evidence: (n) => enough(n.coolantWarm.count, NEEDS.coolantWarmWindows, 'warm running windows'),
  },
  {
    check: 'cooling.warmup',
    signals: [COOLANT],
    evidence: (n) => enough(n.coldStarts, NEEDS.coldStarts, 'cold starts'),
  },
  {
    check: 'battery.charging',
    signals: [VOLTAGE],
    evidence: (n) => enough(n.chargingV.count, NEEDS.chargingWindows, 'charging windows'),
  },
  {
    check: 'battery.resting',
    signals: [VOLTAGE],
    evidence: (n) => enough(n.restV.count, NEEDS.restWindows, 'engine-off windows'),
  },
  {
    check: 'battery.cranking',
    signals: [VOLTAGE],
    evidence: (n) => enough(n.crankV.count, NEEDS.crankStarts, 'starts with voltage'),
  },
  {
    check: 'fuel_trim',
    signals: [STFT, LTFT],
    evidence: (n) =>
      enough(n.trimIdle.count, NEEDS.trimIdleWindows, 'warm idle windows') ??
      enough(n.trimMoving.count, NEEDS.trimMovingWindows, 'warm moving windows'),
  },
  {
    check: 'catalyst',
    signals: [CATALYST],
    evidence: (n) => enough(n.catalyst.count, NEEDS.catalystWindows, 'warm moving windows'),
  },
  {
    check: 'sensor.map_mismatch',
    signals: [MAP, RPM, THROTTLE],
    evidence: (n) => enough(mapModelWindows(n.map), NEEDS.signalWindows, 'windows for the MAP model'),
  },
  {
    check: 'sensor.stuck',
    signals: [RPM],
    evidence: (n) => enough(signalNormal(n, RPM).windows, NEEDS.signalWindows, 'running windows'),
  },
  {
    check: 'sensor.noisy',
    signals: [],
    evidence: (n) => enough(n.windows, NEEDS.signalWindows, 'running windows'),
  },
];

/** Universal checks: physics and SAE J1979 limits that hold for every car, ready from the first sample. */
export const UNIVERSAL_CHECKS: readonly { check: string; signals: readonly string[] }[] = [
  { check: 'universal.coolant_limit', signals: [COOLANT] },
  { check: 'universal.charging_limit', signals: [VOLTAGE] },
  { check: 'universal.catalyst_limit', signals: [CATALYST] },
  { check: 'universal.fuel_trim_limit', signals: [STFT, LTFT] },
  { check: 'universal.sample_filter', signals: [] },
];

function missing(normal: VehicleNormal, signals: readonly string[]): string | undefined {
  // Before any running window the car's signals are unknown: say so rather than "needs".
  if (normal.windows === 0) return undefined;
  const absent = signals.filter((k) => !hasSignal(normal, k));
  return absent.length > 0 ? `needs ${absent.join(', ')}` : undefined;
}

/** Whether a per-vehicle check may run now, and why not. */
export function checkReadiness(normal: VehicleNormal, check: string): CheckReadiness {
  const spec = VEHICLE_CHECKS.find((c) => c.check === check);
  if (!spec) return { check, ready: false, reason: 'unknown check' };
  const absent = missing(normal, spec.signals) ?? (normal.windows === 0 ? 'calibrating: no data yet' : undefined);
  if (absent) return { check, ready: false, reason: absent };
  if (!isCalibrated(normal)) {
    const h = normal.runningMs / 3_600_000;
    return {
      check,
      ready: false,
      reason: `calibrating: ${h.toFixed(1)} of ${CALIBRATION_HOURS} h, ${normal.trips} of ${CALIBRATION_TRIPS} trips`,
    };
  }
  const why = spec.evidence(normal);
  return why ? { check, ready: false, reason: why } : { check, ready: true };
}

export function calibrationStatus(normal: VehicleNormal, extra: CheckReadiness[] = []): CalibrationStatus {
  const universal = UNIVERSAL_CHECKS.map(({ check, signals }): CheckReadiness => {
    const absent = missing(normal, signals);
    return absent ? { check, ready: false, reason: absent } : { check, ready: true };
  });
  return {
    status: isCalibrated(normal) ? 'calibrated' : 'calibrating',
    runningHours: normal.runningMs / 3_600_000,
    hoursNeeded: CALIBRATION_HOURS,
    trips: normal.trips,
    tripsNeeded: CALIBRATION_TRIPS,
    checks: [...universal, ...VEHICLE_CHECKS.map((c) => checkReadiness(normal, c.check)), ...extra],
  };
}
