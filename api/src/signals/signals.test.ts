import { saeSignals, signalByKey, signalCatalogue, signalsForProfile } from '@clutch/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backends,
  httpProbe,
  startFixture,
  TENANT,
  VEHICLE_A,
  VEHICLE_MISSING,
  type Fixture,
} from '../test-fixtures.js';
import { signalSchema } from './routes.js';

let fx: Fixture;

const { get, expectProblem } = httpProbe(() => fx.api.url);
const sid = (key: string): number => signalByKey(key)!.id;

describe.each(backends('api_signals'))('signals API on %s', (_name, open) => {
  beforeAll(async () => {
    fx = await startFixture(open ? { open } : {});
    // Vehicle A (engine.rpm, vehicle.speed, engine.coolant_temp, battery.voltage seeded) also sends two
    // of its Toyota profile's own signals; an older one survives only in the minute rollups.
    const at = new Date(fx.now.getTime() - 15_000);
    await fx.db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES ($1, $2, $3, $4, 12.6), ($1, $2, $3, $5, 1)`,
      [at, TENANT, VEHICLE_A, sid('vehicle.camry_12v_v'), sid('vehicle.camry_at_lock_up_state')],
    );
    await fx.db.query(
      `INSERT INTO sample_rollups_1m (bucket, tenant_id, vehicle_id, signal_id, n, sum, min, max)
       VALUES (date_trunc('minute', $1::timestamptz), $2, $3, $4, 1, 88, 88, 88)`,
      [new Date(fx.now.getTime() - 40 * 86400_000), TENANT, VEHICLE_A, sid('vehicle.camry_eot')],
    );
  });

  afterAll(async () => {
    await fx?.close();
  });

  describe('GET /api/signals', () => {
    it('returns the SAE J1979 and adapter signals every car can be asked for', async () => {
      const res = await get('/api/signals');
      expect(res.status).toBe(200);
      expect(res.body.signals).toEqual(JSON.parse(JSON.stringify(saeSignals)));
      expect((res.body.signals as { key: string }[]).map((s) => s.key)).toContain('engine.rpm');
      expect((res.body.signals as { profile?: string }[]).some((s) => s.profile !== undefined)).toBe(false);
    });

    it("adds one profile's vehicle-specific signals, or every profile's", async () => {
      const leaf = await get('/api/signals?profile=Nissan-Leaf');
      expect(leaf.status).toBe(200);
      const keys = (leaf.body.signals as { key: string }[]).map((s) => s.key);
      expect(keys).toEqual([...saeSignals, ...signalsForProfile('Nissan-Leaf')].map((s) => s.key));
      expect(keys).toContain('vehicle.leaf_gear');
      expect(keys).not.toContain('vehicle.camry_12v_v');
      const all = await get('/api/signals?profile=all');
      expect(all.body.signals).toEqual(JSON.parse(JSON.stringify(signalCatalogue)));
      expect(all.body.signals).toContainEqual(
        expect.objectContaining({ key: 'vehicle.camry_12v_v', profile: 'Toyota-Camry', unit: 'V', service: '22' }),
      );
      await expectProblem('/api/signals?profile=', 400, 'VALIDATION_FAILED');
    });
  });

  describe('GET /api/vehicles/:id/signals', () => {
    it('lists the signals the vehicle has sent, SAE and vehicle-specific with their profile', async () => {
      const res = await get(`/api/vehicles/${VEHICLE_A}/signals`);
      expect(res.status).toBe(200);
      expect(res.body.vehicleId).toBe(VEHICLE_A);
      const signals = res.body.signals as { signal: string; profile?: string }[];
      expect(signals.map((s) => s.signal)).toEqual(
        [
          'engine.rpm',
          'vehicle.speed',
          'engine.coolant_temp',
          'battery.voltage',
          ...['vehicle.camry_12v_v', 'vehicle.camry_eot', 'vehicle.camry_at_lock_up_state'].sort(
            (a, b) => sid(a) - sid(b),
          ),
        ].sort((a, b) => sid(a) - sid(b)),
      );
      expect(signals.find((s) => s.signal === 'engine.rpm')).toEqual({
        signal: 'engine.rpm',
        name: 'Engine RPM',
        unit: 'rpm',
        min: 0,
        max: 16383.75,
      });
      expect(signals.find((s) => s.signal === 'vehicle.camry_12v_v')).toEqual({
        signal: 'vehicle.camry_12v_v',
        name: 'Battery voltage',
        unit: 'V',
        min: 0,
        max: 79,
        profile: 'Toyota-Camry',
      });
      expect(signals.find((s) => s.signal === 'vehicle.camry_at_lock_up_state')).toMatchObject({
        states: 'offon',
        profile: 'Toyota-Camry',
      });
    });

    it('answers 404 for a vehicle that does not exist', async () => {
      await expectProblem(`/api/vehicles/${VEHICLE_MISSING}/signals`, 404, 'VEHICLE_NOT_FOUND');
    });

    it('serves a vehicle-specific signal through latest and the series route like any other', async () => {
      const latest = await get(`/api/vehicles/${VEHICLE_A}/latest`);
      expect(latest.body.readings).toContainEqual({
        signal: 'vehicle.camry_12v_v',
        name: 'Battery voltage',
        unit: 'V',
        value: 12.6,
        time: new Date(fx.now.getTime() - 15_000).toISOString(),
      });
      const series = await get(`/api/vehicles/${VEHICLE_A}/telemetry?signal=vehicle.camry_12v_v`);
      expect(series.status).toBe(200);
      expect(series.body).toMatchObject({ signal: 'vehicle.camry_12v_v', unit: 'V' });
      expect(series.body.points).toEqual([{ time: new Date(fx.now.getTime() - 15_000).toISOString(), value: 12.6 }]);
    });
  });

  it('documents the catalogue with a schema every entry satisfies (strictly: no field undocumented)', () => {
    for (const signal of signalCatalogue)
      expect(signalSchema.strict().safeParse(signal).success, signal.key).toBe(true);
  });
});
