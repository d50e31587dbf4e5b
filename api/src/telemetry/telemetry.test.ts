import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backends,
  CAR,
  httpProbe,
  startFixture,
  TENANT,
  useDriveFixture,
  VEHICLE_A,
  VEHICLE_B,
  VEHICLE_MISSING,
  type Fixture,
} from '../test-fixtures.js';

let fx: Fixture;

const { get, expectProblem } = httpProbe(() => fx.api.url);

const iso = (ms: number): string => new Date(ms).toISOString();

describe.each(backends('api_telemetry'))('telemetry API on %s', (_name, open) => {
  beforeAll(async () => {
    fx = await startFixture(open ? { open } : {});
  });

  afterAll(async () => {
    await fx?.close();
  });

  describe('GET /api/vehicles/:id/latest', () => {
    it('returns the newest value of each signal of that vehicle only', async () => {
      const res = await get(`/api/vehicles/${VEHICLE_A}/latest`);
      expect(res.status).toBe(200);
      expect(res.body.vehicleId).toBe(VEHICLE_A);
      const bySignal = Object.fromEntries((res.body.readings as { signal: string }[]).map((r) => [r.signal, r]));
      expect(Object.keys(bySignal).sort()).toEqual([
        'battery.voltage',
        'engine.coolant_temp',
        'engine.rpm',
        'vehicle.speed',
      ]);
      expect(bySignal['engine.rpm']).toEqual({
        signal: 'engine.rpm',
        name: 'Engine RPM',
        unit: 'rpm',
        value: 2150,
        time: iso(fx.now.getTime() - 30_000),
      });
      expect(bySignal['vehicle.speed']).toMatchObject({ value: 57, unit: 'km/h' });
    });

    it('is empty for a vehicle without samples in the window', async () => {
      await fx.db.query(
        `INSERT INTO vehicles (id, tenant_id, name) VALUES ('11111111-2222-4333-8444-555555555555', $1, 'Parked')`,
        [TENANT],
      );
      const res = await get('/api/vehicles/11111111-2222-4333-8444-555555555555/latest');
      expect(res.status).toBe(200);
      expect(res.body.readings).toEqual([]);
    });
  });

  describe('GET /api/vehicles/:id/telemetry', () => {
    const base = (q: string): string => `/api/vehicles/${VEHICLE_A}/telemetry?${q}`;

    it('defaults to the last 15 minutes, oldest first', async () => {
      const res = await get(base('signal=engine.rpm'));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ vehicleId: VEHICLE_A, signal: 'engine.rpm', unit: 'rpm', truncated: false });
      const points = res.body.points as { time: string; value: number }[];
      const cutoff = Date.now() - 15 * 60_000;
      const expected = fx.rpmA.filter((p) => p.time.getTime() >= cutoff - 5_000);
      // The test clock moved on since seeding; allow the one boundary sample to drop out.
      expect(points.length).toBeGreaterThanOrEqual(expected.length - 1);
      expect(points.length).toBeLessThanOrEqual(expected.length);
      expect(points.at(-1)).toEqual({ time: iso(fx.now.getTime() - 30_000), value: 2150 });
      const times = points.map((p) => Date.parse(p.time));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    });

    it('returns an explicit range inclusive of both ends', async () => {
      const from = iso(fx.now.getTime() - 5 * 60_000);
      const to = iso(fx.now.getTime() - 3 * 60_000);
      const res = await get(base(`signal=engine.rpm&from=${from}&to=${to}`));
      expect(res.status).toBe(200);
      expect(res.body.points).toEqual([
        { time: from, value: 1750 },
        { time: iso(fx.now.getTime() - 4 * 60_000), value: 1800 },
        { time: to, value: 1850 },
      ]);
    });

    it('reaches old data with from and honours limit, flagging truncation', async () => {
      const from = iso(fx.now.getTime() - 3 * 3600_000);
      const res = await get(base(`signal=engine.rpm&from=${from}&to=${iso(fx.now.getTime())}&limit=2`));
      expect(res.status).toBe(200);
      expect(res.body.points).toEqual([
        { time: iso(fx.now.getTime() - 2 * 3600_000), value: 900 },
        { time: iso(fx.now.getTime() - 20 * 60_000), value: 1000 },
      ]);
      expect(res.body.truncated).toBe(true);
    });

    it('runs an open-ended range until now, and a lone `to` back 15 minutes', async () => {
      let res = await get(base(`signal=engine.rpm&from=${iso(fx.now.getTime() - 90_000)}`));
      expect(res.body.points).toEqual([
        { time: iso(fx.now.getTime() - 60_000), value: 1950 },
        { time: iso(fx.now.getTime() - 30_000), value: 2150 },
      ]);
      const to = fx.now.getTime() - 10 * 60_000;
      res = await get(base(`signal=engine.rpm&to=${iso(to)}`));
      expect(res.body.from).toBe(iso(to - 15 * 60_000));
      expect((res.body.points as { time: string }[]).map((p) => p.time)).toEqual(
        fx.rpmA
          .filter((p) => p.time.getTime() >= to - 15 * 60_000 && p.time.getTime() <= to)
          .map((p) => p.time.toISOString()),
      );
    });

    it('accepts offsets other than Z', async () => {
      const res = await get(
        base(`signal=vehicle.speed&from=${encodeURIComponent('2000-01-01T00:00:00+02:00')}&to=${iso(Date.now())}`),
      );
      expect(res.status).toBe(200);
      expect((res.body.points as unknown[]).length).toBe(2);
    });

    it("never returns another vehicle's samples", async () => {
      const res = await get(`/api/vehicles/${VEHICLE_B}/telemetry?signal=engine.rpm`);
      expect(res.body.points).toEqual([{ time: iso(fx.now.getTime() - 10_000), value: 3333 }]);
    });

    it('is empty for a signal without samples', async () => {
      const res = await get(base('signal=fuel.level'));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ signal: 'fuel.level', unit: '%', points: [] });
    });
  });

  describe('problem+json errors', () => {
    it('unknown vehicle -> 404 VEHICLE_NOT_FOUND on every vehicle route', async () => {
      for (const suffix of ['', '/latest', '/telemetry?signal=engine.rpm']) {
        const body = await expectProblem(`/api/vehicles/${VEHICLE_MISSING}${suffix}`, 404, 'VEHICLE_NOT_FOUND');
        expect(body.type).toBe('https://clutch.dev/problems/vehicle-not-found');
        expect(body.vehicleId).toBe(VEHICLE_MISSING);
      }
    });

    it('malformed uuid -> 400 VALIDATION_FAILED with a pointer', async () => {
      for (const suffix of ['', '/latest', '/telemetry?signal=engine.rpm']) {
        const body = await expectProblem(`/api/vehicles/not-a-uuid${suffix}`, 400, 'VALIDATION_FAILED');
        expect(body.errors).toEqual([expect.objectContaining({ pointer: '/params/id' })]);
      }
    });

    it('unknown signal -> 400 SIGNAL_UNKNOWN', async () => {
      const body = await expectProblem(
        `/api/vehicles/${VEHICLE_A}/telemetry?signal=engine.warp`,
        400,
        'SIGNAL_UNKNOWN',
      );
      expect(body.signal).toBe('engine.warp');
    });

    it('missing or repeated signal -> 400 VALIDATION_FAILED', async () => {
      await expectProblem(`/api/vehicles/${VEHICLE_A}/telemetry`, 400, 'VALIDATION_FAILED');
      await expectProblem(
        `/api/vehicles/${VEHICLE_A}/telemetry?signal=engine.rpm&signal=vehicle.speed`,
        400,
        'VALIDATION_FAILED',
      );
    });

    it('from after to -> 400 TIME_RANGE_INVALID', async () => {
      await expectProblem(
        `/api/vehicles/${VEHICLE_A}/telemetry?signal=engine.rpm&from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z`,
        400,
        'TIME_RANGE_INVALID',
      );
    });

    it('bad dates -> 400 VALIDATION_FAILED', async () => {
      for (const q of ['from=yesterday', 'to=2025-13-01T00:00:00Z', 'from=2025-01-01', 'from=2025-01-01T00:00:00']) {
        const body = await expectProblem(
          `/api/vehicles/${VEHICLE_A}/telemetry?signal=engine.rpm&${q}`,
          400,
          'VALIDATION_FAILED',
        );
        expect((body.errors as { pointer: string }[])[0]?.pointer).toMatch(/^\/query\/(from|to)$/);
      }
    });

    it('bad limit -> 400 VALIDATION_FAILED', async () => {
      for (const limit of ['0', '-1', '1.5', 'ten', '100001']) {
        await expectProblem(
          `/api/vehicles/${VEHICLE_A}/telemetry?signal=engine.rpm&limit=${limit}`,
          400,
          'VALIDATION_FAILED',
        );
      }
    });
  });
});

describe.each(backends('api_telemetry_rollups'))('telemetry rollups on %s', (_name, open) => {
  const d = useDriveFixture(open);
  const { api } = d;

  it('GET telemetry with bucket=1m returns the rollups as {time, avg, min, max, n}', async () => {
    const res = await api(
      'GET',
      `/api/vehicles/${CAR}/telemetry?signal=vehicle.speed&bucket=1m&from=${iso(d.start + 30_000)}&to=${iso(d.start + 180_000)}`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      vehicleId: CAR,
      signal: 'vehicle.speed',
      unit: 'km/h',
      bucket: '1m',
      from: iso(d.start),
      truncated: false,
    });
    expect(res.body.points).toEqual([
      { time: iso(d.start), avg: 0, min: 0, max: 0, n: 60 },
      { time: iso(d.start + 60_000), avg: 60, min: 60, max: 60, n: 60 },
      { time: iso(d.start + 120_000), avg: 60, min: 60, max: 60, n: 60 },
      { time: iso(d.start + 180_000), avg: 60, min: 60, max: 60, n: 60 },
    ]);
    const hourly = await api(
      'GET',
      `/api/vehicles/${CAR}/telemetry?signal=engine.rpm&bucket=1h&from=${iso(d.start - 3600_000)}`,
    );
    const points = hourly.body.points as { n: number; min: number; max: number }[];
    expect(points.reduce((a, p) => a + p.n, 0)).toBe(721);
    expect(Math.min(...points.map((p) => p.min))).toBe(0);
    expect(Math.max(...points.map((p) => p.max))).toBe(2000);
    expect((await api('GET', `/api/vehicles/${CAR}/telemetry?signal=vehicle.speed&bucket=5m`)).body.code).toBe(
      'VALIDATION_FAILED',
    );
  });
});
