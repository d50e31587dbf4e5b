import { beforeAll, describe, expect, it } from 'vitest';
import { createOnlineScorer, type Alert } from '../online/scorer.js';
import { injectFault, type FaultType } from '../eval/inject.js';
import { RULES_ONLY_MODEL } from '../models/model.js';
import {
  NO_CAROBD,
  NO_SEAT_LEON,
  calibratedNormal,
  onRealDrives,
  onSeatLeon,
  realDrive,
  seatLeonDrive,
  seatLeonFiles,
} from '../test-helpers.js';
import type { VehicleNormal } from '../normal/vehicle-normal.js';
import type { Frame } from '../features/frames.js';
import { analyzeDrivingFrames } from './driving.js';
import { S, SIGNAL_COUNT } from '../signals.js';

function score(frames: readonly Frame[], normal: VehicleNormal): Alert[] {
  const scorer = createOnlineScorer({ model: RULES_ONLY_MODEL, now: () => 0 });
  scorer.seedNormal('car-1', structuredClone(normal));
  return scorer.pushFrames('car-1', frames);
}

/** The condition that names each injected fault (what the evaluation counts as a detection). */
function conditionOf(fault: FaultType, signal: string): string {
  const names: Record<FaultType, string> = {
    sensor_drift: 'sensor.map_mismatch',
    stuck_sensor: `sensor.stuck.${signal}`,
    overheating: 'cooling.overheat',
    lean_trims: 'fuel_trim.lean',
    weak_battery: 'battery.charging',
    noisy_signal: `sensor.noisy.${signal}`,
  };
  return names[fault];
}

const ETIOS_HEALTHY = ['idle10.csv', 'live2.csv', 'ufpe3.csv', 'long3.csv'];

describe.skipIf(NO_CAROBD)(onRealDrives('health checks against the Etios own normal'), () => {
  let normal: VehicleNormal;
  beforeAll(async () => {
    ({ normal } = await calibratedNormal('etios'));
  });

  it.each(ETIOS_HEALTHY)('raise no alert on %s', async (file) => {
    const alerts = score((await realDrive(file)).frames, normal);
    expect(alerts.map((a) => a.title)).toEqual([]);
  });

  const faults: [FaultType, RegExp][] = [
    ['overheating', /this car normally holds \d+–\d+ °C once warm/],
    ['weak_battery', /this car's charging system normally holds/],
    ['lean_trims', /this car's trims normally sit at/],
    ['stuck_sensor', /has read exactly .* this car's/],
    ['noisy_signal', /on this car it never zig-zags/],
    ['sensor_drift', /this car's own pressure model expects about \d+ kPa/],
  ];
  it.each(faults)('%s on live2.csv raises the condition that names it, quoting this car', async (fault, words) => {
    const copy = injectFault(await realDrive('live2.csv'), fault, { seed: 3 });
    const alerts = score(copy.frames, normal);
    expect(alerts.filter((a) => a.at < copy.onsetMs).map((a) => a.title)).toEqual([]);
    const named = alerts.find((a) => a.condition === conditionOf(fault, copy.signal));
    expect(named, `${fault}: ${alerts.map((a) => a.condition).join(', ')}`).toBeDefined();
    expect(named!.explanation).toMatch(words);
    expect(named!.explanation).toMatch(/Check/);
    expect(named!.tier).toBe('vehicle');
  });
});

const SEAT_FAULTS: FaultType[] = ['overheating', 'stuck_sensor', 'noisy_signal'];

describe.skipIf(NO_SEAT_LEON)(
  onSeatLeon('health checks against the Seat Leon own normal (turbo, other logger)'),
  () => {
    let normal: VehicleNormal;
    let test: string[];
    beforeAll(async () => {
      const calibrated = await calibratedNormal('seat');
      normal = calibrated.normal;
      test = (await seatLeonFiles()).filter((f) => !calibrated.used.includes(f));
    });

    it('turbo intake air is not erratic and a 1 kPa logger is not frozen on healthy drives', async () => {
      for (const file of test.slice(0, 6)) {
        const alerts = score((await seatLeonDrive(file)).frames, normal);
        expect(alerts.map((a) => `${file}: ${a.condition}`)).toEqual([]);
      }
    });

    it('reads a drifted MAP high at the stops after the drift (turbo: no model predicts it moving)', async () => {
      // The first test drive that stands still after its onset window (35-60 % of the drive).
      let checked = 0;
      for (const file of test) {
        const drive = await seatLeonDrive(file);
        const late = drive.frames.slice(Math.floor(drive.frames.length * 0.65));
        if (late.filter((f) => f.v[S.speed] === 0 && (f.v[S.rpm] as number) > 300).length < 60) continue;
        const copy = injectFault(drive, 'sensor_drift', { seed: 3 });
        const alerts = score(copy.frames, normal);
        expect(alerts.filter((a) => a.at < copy.onsetMs).map((a) => a.condition)).toEqual([]);
        const named = alerts.find((a) => a.condition === 'sensor.map_mismatch');
        expect(named, `${file} ${copy.description}: ${alerts.map((a) => a.condition).join(', ')}`).toBeDefined();
        expect(named!.explanation).toMatch(/(idling|engine stopped \(key on\)) at the last stop/);
        if (++checked === 2) break;
      }
      expect(checked).toBe(2);
    });

    it('calls a MAP frozen at a boost value frozen, and not also high at the next stop', async () => {
      const drive = await seatLeonDrive(test[2]!);
      const from = Math.floor(drive.frames.length * 0.4);
      const frames = drive.frames.map((f, i) => {
        if (i < from) return f;
        const v = Float64Array.from(f.v);
        v[S.map] = 150;
        return { t: f.t, v };
      });
      const alerts = score(frames, normal);
      const conditions = alerts.map((a) => a.condition);
      expect(conditions).toContain('sensor.stuck.intake.manifold_pressure');
      expect(conditions).not.toContain('sensor.map_mismatch');
    });

    it.each(SEAT_FAULTS)('%s raises the condition that names it', async (fault) => {
      const drive = await seatLeonDrive(test[2]!);
      const copy = injectFault(drive, fault, {
        seed: 3,
        present: new Set([S.rpm, S.speed, S.coolant, S.iat, S.map, S.throttle]),
      });
      const alerts = score(copy.frames, normal);
      const named = alerts.find((a) => a.condition === conditionOf(fault, copy.signal) && a.at >= copy.onsetMs);
      expect(named, `${fault} ${copy.description}: ${alerts.map((a) => a.condition).join(', ')}`).toBeDefined();
      expect(named!.explanation).toMatch(/this car/);
    });
  },
);

/** Frames every 500 ms (the carOBD rate) from a speed (km/h) and rpm per frame index. */
function drive(frames: number, speed: (i: number) => number, rpm: (i: number) => number = () => 2000): Frame[] {
  return Array.from({ length: frames }, (_, i) => {
    const v = new Float64Array(SIGNAL_COUNT).fill(NaN);
    v[S.speed] = speed(i);
    v[S.rpm] = rpm(i);
    return { t: i * 500, v };
  });
}

const HALF_HOUR = 3601; // 3600 intervals of 500 ms = 0.5 h of running engine

/** 60 km/h with a stop at each given frame: 60 -> 0 in 1.5 s (-30 km/h per s over 2 s), 10 s still, back at 5 km/h per s. */
function withStops(stops: number[]): (i: number) => number {
  return (i) => {
    for (const at of stops) {
      const k = i - at;
      if (k >= 0 && k < 3) return 40 - 20 * k;
      if (k >= 3 && k < 23) return 0;
      if (k >= 23 && k < 47) return Math.min(60, 2.5 * (k - 22));
    }
    return 60;
  };
}

// Score per driving.ts: 100 - 4 x harsh events per hour - 8 x over-revs per hour - 40 x (idling share - 0.3 when above),
// per hour of running engine but over at least 0.25 h, rounded and kept in 0..100.
describe('driving score', () => {
  it('gives a smooth half hour at 60 km/h 100 points, 30 km and no events', () => {
    const report = analyzeDrivingFrames(drive(HALF_HOUR, () => 60));
    expect(report).toMatchObject({
      score: 100,
      durationHours: 0.5,
      idlingShare: 0,
      harshAccelerations: 0,
      harshBrakings: 0,
      overRevs: 0,
    });
    expect(report.distanceKm).toBeCloseTo(30, 9);
    expect(report.events).toEqual([]);
  });

  it('takes 4 points per harsh braking per hour: 3 hard stops in half an hour score 100 - 4 x 6 = 76', () => {
    const report = analyzeDrivingFrames(drive(HALF_HOUR, withStops([600, 1800, 3000])));
    expect(report.harshBrakings).toBe(3);
    expect(report.harshAccelerations).toBe(0);
    expect(report.idlingShare).toBeLessThan(0.3);
    expect(report.score).toBe(76);
    expect(report.events.map((e) => [e.kind, e.at])).toEqual([
      ['harsh_braking', 601 * 500],
      ['harsh_braking', 1801 * 500],
      ['harsh_braking', 3001 * 500],
    ]);
    expect(report.events[0]!.explanation).toBe(
      'Lost 20.0 km/h per second (harsh beyond 12.6); wears pads and discs, check following distance.',
    );
  });

  it('takes 8 points per over-rev per hour on top: 3 hard stops and 2 over-revs score 100 - 24 - 32 = 44', () => {
    const report = analyzeDrivingFrames(
      drive(HALF_HOUR, withStops([600, 1800, 3000]), (i) => (i === 1200 || i === 2400 ? 5000 : 2000)),
    );
    expect(report.overRevs).toBe(2);
    expect(report.harshBrakings).toBe(3);
    expect(report.score).toBe(44);
  });

  it('counts a short trip as a quarter hour: one hard stop in 6 minutes scores 100 - 4 x (1 / 0.25) = 84', () => {
    const report = analyzeDrivingFrames(drive(721, withStops([300])));
    expect(report.durationHours).toBeCloseTo(0.1, 9);
    expect(report.harshBrakings).toBe(1);
    expect(report.score).toBe(84);
  });

  it('takes 40 points per idling share above 30 %: 20 of 30 minutes idling score round(100 - 40 x (2/3 - 0.3)) = 85', () => {
    const report = analyzeDrivingFrames(
      drive(
        HALF_HOUR,
        (i) => (i < 2400 ? 0 : 10),
        (i) => (i < 2400 ? 800 : 1500),
      ),
    );
    expect(report.idlingShare).toBeCloseTo(2 / 3, 9);
    expect(report.distanceKm).toBeCloseTo(10 * (1 / 6), 9);
    expect(report.score).toBe(85);
    expect(report.explanation).toMatch(
      /^Score 85\/100 over 0\.50 h and 1\.7 km: 0 harsh acceleration\/braking event\(s\), 0 over-rev\(s\), 67 % of running time idling\. Long idling/,
    );
  });

  it('ignores time with the engine off', () => {
    const report = analyzeDrivingFrames(
      drive(
        HALF_HOUR,
        () => 0,
        () => 0,
      ),
    );
    expect(report).toMatchObject({ score: 100, durationHours: 0, idlingShare: 0, distanceKm: 0 });
  });
});

describe.skipIf(NO_CAROBD)(onRealDrives('driving behaviour on a real drive'), () => {
  it('scores a real drive and counts a harsh stop added to it', async () => {
    const drive = await realDrive('drive3.csv');
    const base = analyzeDrivingFrames(drive.frames);
    expect(base.score).toBeGreaterThan(50);
    expect(base.distanceKm).toBeGreaterThan(1);
    // Replace 6 s of the drive with a 100 -> 0 km/h stop.
    const frames = drive.frames.map((f) => ({ t: f.t, v: Float64Array.from(f.v) }));
    const at = Math.floor(frames.length / 2);
    for (let k = 0; k < 12; k++) {
      frames[at + k]!.v[S.speed] = Math.max(0, 100 - k * 9);
      frames[at + k]!.v[S.rpm] = 1500;
    }
    frames[at - 1]!.v[S.speed] = 100;
    const report = analyzeDrivingFrames(frames);
    expect(report.harshBrakings).toBeGreaterThan(base.harshBrakings);
    expect(report.events.some((e) => e.kind === 'harsh_braking' && /km\/h per second/.test(e.explanation))).toBe(true);
    expect(report.score).toBeLessThan(base.score + 1);
  });
});

/**
 * Stop-and-go: 40 s at 50 km/h and 2,000 rpm, then 30 s standing at 800 rpm, repeated; MAP reads
 * `moving` while driving and `idling(i)` while standing (frames every 500 ms).
 */
function stopAndGo(cycles: number, moving: number, idling: (i: number) => number): Frame[] {
  const cycle = 140;
  return Array.from({ length: cycles * cycle }, (_, i) => {
    const v = new Float64Array(SIGNAL_COUNT).fill(NaN);
    const standing = i % cycle >= 80;
    v[S.speed] = standing ? 0 : 50;
    v[S.rpm] = standing ? 800 : 2000;
    v[S.map] = standing ? idling(i) : moving + (i % 3);
    return { t: i * 500, v };
  });
}

describe('manifold pressure at idle (universal: no boost while standing)', () => {
  const mismatches = (frames: Frame[]): Alert[] =>
    createOnlineScorer({ model: RULES_ONLY_MODEL, now: () => 0 })
      .pushFrames('car-1', frames)
      .filter((a) => a.condition === 'sensor.map_mismatch');

  it('calls a stop idling at 118 kPa a MAP reading high, on a car still calibrating', () => {
    const alerts = mismatches(stopAndGo(4, 140, (i) => 117 + (i % 3)));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.tier).toBe('universal');
    expect(alerts[0]!.explanation).toMatch(/idling at the last stop, manifold pressure read 118 kPa/);
    expect(alerts[0]!.expected).toEqual({ max: 112 });
  });

  it('leaves a turbo idling at barometric pressure alone, and a naturally aspirated one in vacuum', () => {
    expect(mismatches(stopAndGo(6, 140, (i) => 100 + (i % 3)))).toEqual([]);
    expect(mismatches(stopAndGo(6, 60, (i) => 30 + (i % 3)))).toEqual([]);
  });

  it('leaves a reading that did not move while driving to the stop to the stuck check', () => {
    const frozen = stopAndGo(4, 140, () => 150).map((f) => {
      const v = Float64Array.from(f.v);
      v[S.map] = 150;
      return { t: f.t, v };
    });
    expect(mismatches(frozen)).toEqual([]);
  });

  it('does not judge a stop shorter than a few settled seconds', () => {
    // Standing 4 s of each cycle: the manifold has not settled from the overrun, nothing to judge.
    const frames = stopAndGo(4, 140, () => 125).map((f, i) =>
      i % 140 >= 80 && i % 140 < 132
        ? { t: f.t, v: f.v.map((x, k) => (k === S.speed ? 50 : k === S.rpm ? 2000 : x)) }
        : f,
    );
    expect(mismatches(frames)).toEqual([]);
  });
});
