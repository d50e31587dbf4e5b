import { beforeAll, describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../dataset/rng.js';
import type { Frame } from '../features/frames.js';
import { RULES_ONLY_MODEL } from '../models/model.js';
import { learnNormalFromFrames } from '../normal/learn-offline.js';
import { calibrationStatus } from '../normal/readiness.js';
import { createVehicleNormal, type VehicleNormal } from '../normal/vehicle-normal.js';
import { createOnlineScorer, type Alert } from '../online/scorer.js';
import { S, SIGNAL_COUNT } from '../signals.js';

/**
 * Synthetic drives for the checks that judge a car standing still: a frozen sensor at a steady idle
 * and a drifted manifold pressure at the last stop or with the engine stopped.
 */

const FRAME_MS = 500;

/** What a sensor read last: a logger reads the same value again until the change exceeds its resolution. */
type Last = Partial<Record<number, number>>;

/** The sensor's new reading with probability 0.3 a frame, else its last one (holds of a few seconds). */
function sticky(last: Last, i: number, rng: Rng, next: () => number): number {
  const held = last[i];
  const value = held === undefined || rng.uniform(0, 1) < 0.3 ? next() : held;
  last[i] = value;
  return value;
}

/** One half-second of a warm petrol engine: idling (standing) or cruising, with its sensors' own jitter. */
function engineFrame(t: number, idling: boolean, rng: Rng, last: Last): Frame {
  const v = new Float64Array(SIGNAL_COUNT).fill(NaN);
  v[S.rpm] = Math.round((idling ? 800 : 2000) + rng.normal() * 15);
  v[S.speed] = idling ? 0 : 50;
  // Calculated load and the closed throttle rest at idle; so does the warm coolant.
  v[S.load] = idling ? 20 : Math.round(40 + rng.normal() * 3);
  v[S.coolant] = 90;
  v[S.iat] = 30;
  // Closed loop: the short-term trim steps back and forth with the oxygen sensor's switching.
  v[S.stft] = sticky(last, S.stft, rng, () => {
    const step = rng.uniform(0, 1) < 0.5 ? -0.78125 : 0.78125;
    return Math.max(-6.25, Math.min(6.25, (last[S.stft] ?? 0.78125) + step));
  });
  v[S.ltft] = 2.34375;
  v[S.map] = sticky(last, S.map, rng, () => Math.round((idling ? 32 : 55) + rng.normal() * 1.2));
  v[S.throttle] = idling ? 14.9 : Math.round((25 + rng.normal() * 2) * 10) / 10;
  v[S.catalyst] = Math.round(600 + rng.normal() * 5);
  v[S.voltage] = sticky(last, S.voltage, rng, () => Math.round((14.1 + rng.normal() * 0.02) * 1000) / 1000);
  return { t, v };
}

/** A trip: 60 s cruising and `idleS` standing, repeated for `minutes`, starting at `start` ms. */
function trip(start: number, minutes: number, idleS: number, rng: Rng): Frame[] {
  const frames: Frame[] = [];
  const cycle = (60 + idleS) * 2;
  const last: Last = {};
  for (let i = 0; i < minutes * 120; i++) frames.push(engineFrame(start + i * FRAME_MS, i % cycle >= 120, rng, last));
  return frames;
}

/** Six 40-minute trips an hour apart: 4 running hours, 6 starts (past calibration). */
function calibrated(idleS: number): VehicleNormal {
  const normal = createVehicleNormal();
  const rng = createRng(11);
  for (let k = 0; k < 6; k++) learnNormalFromFrames(normal, trip(k * 7_200_000, 40, idleS, rng));
  return normal;
}

/** A drive: 5 minutes of stop-and-go, then a long idle (10 minutes); `at` changes a frame of the idle. */
function idleDrive(rng: Rng, at?: (v: Float64Array, sinceIdleMs: number) => void, idleMinutes = 10): Frame[] {
  const start = 100 * 3_600_000;
  const frames = trip(start, 5, 40, rng);
  const last: Last = {};
  const idleStart = start + 5 * 60_000;
  for (let i = 0; i < idleMinutes * 120; i++) {
    const f = engineFrame(idleStart + i * FRAME_MS, true, rng, last);
    at?.(f.v, i * FRAME_MS);
    frames.push(f);
  }
  return frames;
}

function score(frames: readonly Frame[], normal?: VehicleNormal): Alert[] {
  const scorer = createOnlineScorer({ model: RULES_ONLY_MODEL, now: () => 0 });
  if (normal) scorer.seedNormal('car-1', structuredClone(normal));
  return scorer.pushFrames('car-1', frames);
}

/** Freezes signal `i` at `value` from 2 minutes into the idle on. */
const frozenAt =
  (i: number, value: number) =>
  (v: Float64Array, sinceIdleMs: number): void => {
    if (sinceIdleMs >= 120_000) v[i] = value;
  };

describe('a sensor frozen during a long steady idle', () => {
  let normal: VehicleNormal;
  beforeAll(() => {
    normal = calibrated(40);
    expect(calibrationStatus(normal).status).toBe('calibrated');
  });

  it('raises nothing on a healthy 10-minute idle, though throttle, load and coolant rest there', () => {
    expect(score(idleDrive(createRng(3)), normal).map((a) => a.condition)).toEqual([]);
  });

  it.each([
    ['ecu.control_module_voltage', S.voltage, 13.917],
    ['intake.manifold_pressure', S.map, 33],
  ])('calls %s frozen at idle, quoting how long this car holds it', (key, i, value) => {
    const alerts = score(idleDrive(createRng(3), frozenAt(i, value)), normal);
    expect(alerts.map((a) => a.condition)).toEqual([`sensor.stuck.${key}`]);
    expect(alerts[0]!.explanation).toMatch(/this car's .* never held one value longer than \d+ s/);
    // Judged only after a margin over this car's own longest hold (at least 20 s), not at once.
    expect(alerts[0]!.observed).toBeGreaterThan(20);
  });

  it('calls a closed-loop short-term trim frozen at idle, but not one reading exactly 0 % (open loop)', () => {
    const trimmed = score(idleDrive(createRng(3), frozenAt(S.stft, -2.34375)), normal);
    expect(trimmed.map((a) => a.condition)).toEqual(['sensor.stuck.fuel.trim.short_term_b1']);
    expect(score(idleDrive(createRng(3), frozenAt(S.stft, 0)), normal)).toEqual([]);
  });

  it('does not judge idle holds before a car has shown 10 minutes of idling: not how it rests there', () => {
    const driving = calibrated(0);
    expect(calibrationStatus(driving).status).toBe('calibrated');
    // 2 minutes of idling in the stop-and-go and 6 at the end; the voltage frozen for the last 4.
    const frozen = idleDrive(createRng(3), frozenAt(S.voltage, 13.917), 6);
    expect(score(frozen, driving)).toEqual([]);
    expect(score(frozen, normal).map((a) => a.condition)).toEqual(['sensor.stuck.ecu.control_module_voltage']);
  });
});

/** 60 s at 50 km/h with MAP `moving` ± 1, then `standS` standing idling at `idling(i)`, then engine off at `off(i)`. */
function driveStandStop(
  moving: number,
  standS: number,
  idling: (i: number) => number,
  offS: number,
  off: (i: number) => number,
): Frame[] {
  const frames: Frame[] = [];
  let t = 0;
  const push = (rpm: number, speed: number, map: number): void => {
    const v = new Float64Array(SIGNAL_COUNT).fill(NaN);
    v[S.rpm] = rpm;
    v[S.speed] = speed;
    v[S.map] = map;
    frames.push({ t: (t += FRAME_MS), v });
  };
  for (let i = 0; i < 120; i++) push(2000, 50, moving + (i % 3) - 1);
  for (let i = 0; i < standS * 2; i++) push(800, 0, idling(i));
  for (let i = 0; i < offS * 2; i++) push(0, 0, off(i));
  return frames;
}

describe('manifold pressure at the last stop and with the engine stopped (universal)', () => {
  const mismatches = (frames: Frame[]): Alert[] => score(frames).filter((a) => a.condition === 'sensor.map_mismatch');

  it('judges a stop just before the engine is switched off (no minute of driving after it needed)', () => {
    const alerts = mismatches(
      driveStandStop(
        140,
        20,
        (i) => 118 + (i % 2),
        0,
        () => 118,
      ),
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.explanation).toMatch(/idling at the last stop, manifold pressure read 11[89] kPa/);
  });

  it('calls a reading above any barometric pressure with the engine stopped a MAP reading high', () => {
    // A naturally aspirated car: vacuum while driving, then key on, engine off for 20 s at 115-116 kPa.
    const alerts = mismatches(
      driveStandStop(
        45,
        0,
        () => NaN,
        20,
        (i) => 115 + (i % 2),
      ),
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.explanation).toMatch(/engine stopped .* read 11[56] kPa/);
    expect(alerts[0]!.expected).toEqual({ max: 108 });
    expect(alerts[0]!.tier).toBe('universal');
  });

  it('leaves barometric pressure with the engine stopped alone, and a turbo idling at it', () => {
    expect(
      mismatches(
        driveStandStop(
          45,
          0,
          () => NaN,
          60,
          (i) => 100 + (i % 2),
        ),
      ),
    ).toEqual([]);
    expect(
      mismatches(
        driveStandStop(
          140,
          30,
          (i) => 101 + (i % 3),
          60,
          () => 99,
        ),
      ),
    ).toEqual([]);
  });

  it('leaves a reading that did not change when the engine stopped to the stuck check', () => {
    // Frozen at its last value: the manifold went to barometric pressure, the reading did not.
    expect(
      mismatches(
        driveStandStop(
          120,
          0,
          () => NaN,
          60,
          () => 121,
        ),
      ),
    ).toEqual([]);
  });
});
