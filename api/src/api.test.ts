import { signalCatalogue } from '@clutch/contracts';
import { openPostgres } from '@clutch/db';
import { createTestDatabase } from '@clutch/test-support';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFixture, type OpenDatabase, TENANT, OTHER_TENANT, VEHICLE_A, VEHICLE_B, VEHICLE_G, VEHICLE_MISSING, type Fixture } from './test-fixtures.js';

let fx: Fixture;

async function get(path: string, init?: RequestInit): Promise<{ status: number; type: string | null; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(fx.api.url + path, init);
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

async function expectProblem(path: string, status: number, code: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const res = await get(path, init);
  expect(res.status).toBe(status);
  expect(res.type).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, instance: path });
  expect(typeof res.body.type).toBe('string');
  expect(typeof res.body.title).toBe('string');
  expect(typeof res.body.detail).toBe('string');
  expect(JSON.stringify(res.body)).not.toMatch(/ at .*\.(ts|js):\d+/);
  return res.body;
}

const iso = (ms: number): string => new Date(ms).toISOString();

// The same suite on both engines the platform runs on: driver differences (types, arrays, params) show here.
const backends: [string, 'pglite' | 'postgres', OpenDatabase | undefined][] = [
  ['PGlite', 'pglite', undefined],
  ['PostgreSQL', 'postgres', async () => openPostgres(await createTestDatabase(inject('pgAdminUrl'), 'api_http'))],
];

describe.each(backends)('HTTP API on %s', (_name, kind, open) => {
  beforeAll(async () => {
    fx = await startFixture(open ? { open } : {});
  });

  afterAll(async () => {
    await fx?.close();
  });

  describe('GET /api/health', () => {
    it('reports the database and the injected components', async () => {
      const res = await get('/api/health');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: 'up',
        components: { database: { status: 'up', detail: kind }, broker: { status: 'up' } },
      });
    });
  });

  describe('GET /api/vehicles', () => {
    it('lists vehicles with devices and last contact', async () => {
      const res = await get('/api/vehicles');
      expect(res.status).toBe(200);
      expect(res.type).toMatch(/^application\/json/);
      const vehicles = res.body.vehicles as Record<string, unknown>[];
      expect(vehicles.map((v) => v.id)).toEqual([VEHICLE_A, VEHICLE_G, VEHICLE_B]);
      expect(vehicles[0]).toEqual({
        id: VEHICLE_A,
        tenantId: TENANT,
        name: 'Blue hatchback',
        vin: '1HGCM82633A004352',
        make: 'Honda',
        model: 'Civic',
        modelYear: 2019,
        deviceIds: ['pi-a1', 'pi-a2'],
        online: false,
        lastSeenAt: iso(fx.now.getTime() - 60_000),
      });
      expect(vehicles[2]).toMatchObject({ id: VEHICLE_B, vin: null, deviceIds: [], online: false, lastSeenAt: null });
      expect(vehicles[1]).toMatchObject({ id: VEHICLE_G, tenantId: OTHER_TENANT, deviceIds: ['gx-1'], online: true, lastSeenAt: iso(fx.now.getTime() - 5_000) });
    });

    it('returns one vehicle by id', async () => {
      const res = await get(`/api/vehicles/${VEHICLE_B}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: VEHICLE_B, tenantId: TENANT, name: 'Work van', make: 'Ford', modelYear: 2021 });
    });
  });

  describe('GET /api/vehicles/:id/latest', () => {
    it('returns the newest value of each signal of that vehicle only', async () => {
      const res = await get(`/api/vehicles/${VEHICLE_A}/latest`);
      expect(res.status).toBe(200);
      expect(res.body.vehicleId).toBe(VEHICLE_A);
      const bySignal = Object.fromEntries((res.body.readings as { signal: string }[]).map((r) => [r.signal, r]));
      expect(Object.keys(bySignal).sort()).toEqual(['battery.voltage', 'engine.coolant_temp', 'engine.rpm', 'vehicle.speed']);
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
      await fx.db.query(`INSERT INTO vehicles (id, tenant_id, name) VALUES ('11111111-2222-4333-8444-555555555555', $1, 'Parked')`, [TENANT]);
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
        fx.rpmA.filter((p) => p.time.getTime() >= to - 15 * 60_000 && p.time.getTime() <= to).map((p) => p.time.toISOString()),
      );
    });

    it('accepts offsets other than Z', async () => {
      const res = await get(base(`signal=vehicle.speed&from=${encodeURIComponent('2000-01-01T00:00:00+02:00')}&to=${iso(Date.now())}`));
      expect(res.status).toBe(200);
      expect((res.body.points as unknown[]).length).toBe(2);
    });

    it('never returns another vehicle\'s samples', async () => {
      const res = await get(`/api/vehicles/${VEHICLE_B}/telemetry?signal=engine.rpm`);
      expect(res.body.points).toEqual([{ time: iso(fx.now.getTime() - 10_000), value: 3333 }]);
    });

    it('is empty for a signal without samples', async () => {
      const res = await get(base('signal=fuel.level'));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ signal: 'fuel.level', unit: '%', points: [] });
    });
  });

  describe('GET /api/signals', () => {
    it('returns the catalogue', async () => {
      const res = await get('/api/signals');
      expect(res.status).toBe(200);
      expect(res.body.signals).toEqual(JSON.parse(JSON.stringify(signalCatalogue)));
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
      const body = await expectProblem(`/api/vehicles/${VEHICLE_A}/telemetry?signal=engine.warp`, 400, 'SIGNAL_UNKNOWN');
      expect(body.signal).toBe('engine.warp');
    });

    it('missing or repeated signal -> 400 VALIDATION_FAILED', async () => {
      await expectProblem(`/api/vehicles/${VEHICLE_A}/telemetry`, 400, 'VALIDATION_FAILED');
      await expectProblem(`/api/vehicles/${VEHICLE_A}/telemetry?signal=engine.rpm&signal=vehicle.speed`, 400, 'VALIDATION_FAILED');
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
        const body = await expectProblem(`/api/vehicles/${VEHICLE_A}/telemetry?signal=engine.rpm&${q}`, 400, 'VALIDATION_FAILED');
        expect((body.errors as { pointer: string }[])[0]?.pointer).toMatch(/^\/query\/(from|to)$/);
      }
    });

    it('bad limit -> 400 VALIDATION_FAILED', async () => {
      for (const limit of ['0', '-1', '1.5', 'ten', '100001']) {
        await expectProblem(`/api/vehicles/${VEHICLE_A}/telemetry?signal=engine.rpm&limit=${limit}`, 400, 'VALIDATION_FAILED');
      }
    });

    it('unknown route under /api -> 404 ROUTE_NOT_FOUND', async () => {
      await expectProblem('/api/nope', 404, 'ROUTE_NOT_FOUND');
      await expectProblem('/api', 404, 'ROUTE_NOT_FOUND');
      await expectProblem(`/api/vehicles/${VEHICLE_A}/latest/extra`, 404, 'ROUTE_NOT_FOUND');
    });

    it('wrong method on a known route -> 405 METHOD_NOT_ALLOWED with Allow', async () => {
      // X-Requested-With: a bodiless DELETE needs it (or the JSON type) to pass the CSRF check first.
      const res = await get('/api/vehicles', { method: 'DELETE', headers: { 'x-requested-with': 'test' } });
      expect(res.status).toBe(405);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('METHOD_NOT_ALLOWED');
      expect(res.headers.get('allow')).toContain('GET');
    });
  });
});

describe('failures (PGlite)', () => {
  it('a thrown non-domain error -> 500 INTERNAL without the message or stack', async () => {
    const broken = await startFixture();
    try {
      // Renaming the table away makes the repository throw a raw driver error that names it.
      await broken.db.exec('ALTER TABLE devices RENAME TO devices_moved');
      const res = await fetch(`${broken.api.url}/api/vehicles`);
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toEqual({
        type: 'https://clutch.dev/problems/internal',
        title: 'Internal server error',
        status: 500,
        detail: 'Internal server error',
        code: 'INTERNAL',
        instance: '/api/vehicles',
      });
    } finally {
      await broken.close();
    }
  });

  it('a failing database turns health into 503 down', async () => {
    const broken = await startFixture({ health: async () => ({ broker: { status: 'degraded', detail: 'one of two' } }) });
    try {
      let res = await fetch(`${broken.api.url}/api/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'degraded', components: { database: { status: 'up' }, broker: { status: 'degraded' } } });
      await broken.db.close();
      res = await fetch(`${broken.api.url}/api/health`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'down', components: { database: { status: 'down' } } });
    } finally {
      await broken.close();
    }
  });
});
