import { beforeAll, describe, expect, it } from 'vitest';
import { createOnlineScorer } from '../online/scorer.js';
import { S } from '../signals.js';
import type { Frame } from '../features/frames.js';
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
import { learnNormalFromFrames } from './learn-offline.js';
import { calibrationStatus } from './readiness.js';
import { createVehicleNormal, parseVehicleNormal, type VehicleNormal } from './vehicle-normal.js';
import { injectFault } from '../eval/inject.js';

function score(frames: readonly Frame[], normal: VehicleNormal) {
  const scorer = createOnlineScorer({ now: () => 0 });
  scorer.seedNormal('car', structuredClone(normal));
  const alerts = scorer.pushFrames('car', frames);
  return { alerts, dataQuality: scorer.takeDataQuality(), normal: scorer.normal('car')! };
}

describe.skipIf(NO_SEAT_LEON)(onSeatLeon('a new car: the Seat Leon from its first drive'), () => {
  it('reports calibrating, says which checks its signals cannot run, and raises nothing', async () => {
    const files = await seatLeonFiles();
    const { alerts, normal } = score((await seatLeonDrive(files[0]!)).frames, createVehicleNormal());
    expect(alerts.map((a) => a.condition)).toEqual([]);
    const status = calibrationStatus(normal);
    expect(status.status).toBe('calibrating');
    const byCheck = new Map(status.checks.map((c) => [c.check, c]));
    expect(byCheck.get('battery.charging')).toEqual({
      check: 'battery.charging',
      ready: false,
      reason: 'needs ecu.control_module_voltage',
    });
    expect(byCheck.get('fuel_trim')?.reason).toBe('needs fuel.trim.short_term_b1, fuel.trim.long_term_b1');
    expect(byCheck.get('cooling.overheat')?.reason).toMatch(/^calibrating: \d\.\d of 3 h, \d+ of 5 trips$/);
    expect(byCheck.get('universal.coolant_limit')).toEqual({ check: 'universal.coolant_limit', ready: true });
  });

  it('calibrates within its first hours, stays a few KB, and never calls its turbo intake air erratic', async () => {
    const { normal, used } = await calibratedNormal('seat');
    expect(calibrationStatus(normal).status).toBe('calibrated');
    expect(used.length).toBeLessThan(10);
    // Six signals reported, the rest absent from the JSON altogether.
    expect(JSON.stringify(normal).length).toBeLessThan(4_000);
    expect(Object.keys(normal.signals).sort()).toEqual([
      'engine.coolant_temp',
      'engine.rpm',
      'intake.air_temp',
      'intake.manifold_pressure',
      'throttle.position',
      'vehicle.speed',
    ]);
    const files = (await seatLeonFiles()).filter((f) => !used.includes(f)).slice(0, 10);
    for (const file of files) {
      const { alerts } = score((await seatLeonDrive(file)).frames, normal);
      expect(alerts.filter((a) => a.condition.startsWith('sensor.')).map((a) => `${file} ${a.condition}`)).toEqual([]);
    }
  });
});

describe.skipIf(NO_CAROBD)(onRealDrives('logger awareness and the sample filter on the Etios'), () => {
  let normal: VehicleNormal;
  beforeAll(async () => {
    ({ normal } = await calibratedNormal('etios'));
  });

  it('stores a car reporting every signal in about 5 KB, and the stored normal judges as the learned one did', async () => {
    const json = JSON.stringify(normal);
    expect(json.length).toBeLessThan(6_000);
    // The car reports load in every window: the basic MAP fit is stored as the load fit's block.
    expect(normal.map.basic.xtx).toEqual([]);
    const stored = parseVehicleNormal(JSON.parse(json));
    expect(stored).toEqual(normal);
    for (const file of ['live2.csv', 'long3.csv']) {
      const copy = injectFault(await realDrive(file), 'sensor_drift', { seed: 5 });
      const learned = score(copy.frames, normal).alerts;
      expect(learned.map((a) => a.condition)).toContain('sensor.map_mismatch');
      expect(score(copy.frames, stored).alerts).toEqual(learned);
    }
  });

  it('one bogus coolant sample is filtered and counted, not "not warming up" or overheating', async () => {
    const drive = await realDrive('long3.csv');
    const frames = drive.frames.map((f) => ({ t: f.t, v: Float64Array.from(f.v) }));
    const at = frames[Math.floor(frames.length / 2)]!;
    at.v[S.coolant] = -40;
    const { alerts, dataQuality } = score(frames, normal);
    expect(alerts.map((a) => a.condition)).toEqual([]);
    expect(dataQuality).toEqual([
      { vehicleId: 'car', signal: 'engine.coolant_temp', filtered: 1, example: -40, at: at.t },
    ]);
  });

  it('a logger with 0.1 V resolution does not read as a frozen voltage', async () => {
    const coarse = (frames: readonly Frame[]): Frame[] =>
      frames.map((f) => {
        const v = Float64Array.from(f.v);
        v[S.voltage] = Math.round((v[S.voltage] as number) * 10) / 10;
        return { t: f.t, v };
      });
    const own = createVehicleNormal();
    for (const file of ['drive1.csv', 'drive2.csv', 'drive3.csv', 'drive4.csv', 'drive6.csv', 'drive8.csv'])
      learnNormalFromFrames(own, coarse((await realDrive(file)).frames));
    for (const file of ['drive9.csv', 'drive10.csv', 'drive11.csv', 'drive12.csv', 'drive13.csv'])
      learnNormalFromFrames(own, coarse((await realDrive(file)).frames));
    expect(calibrationStatus(own).status).toBe('calibrated');
    expect(own.signals['ecu.control_module_voltage']?.quantum).toBeCloseTo(0.1, 6);
    for (const file of ['live2.csv', 'long3.csv', 'ufpe3.csv', 'live20.csv']) {
      const { alerts } = score(coarse((await realDrive(file)).frames), own);
      expect(alerts.map((a) => `${file} ${a.condition}`)).not.toContain(
        `${file} sensor.stuck.ecu.control_module_voltage`,
      );
    }
  });
});
