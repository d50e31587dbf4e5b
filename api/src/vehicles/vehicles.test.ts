import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backends,
  httpProbe,
  OTHER_TENANT,
  startFixture,
  TENANT,
  VEHICLE_A,
  VEHICLE_B,
  VEHICLE_G,
  VEHICLE_MISSING,
  type Fixture,
} from '../test-fixtures.js';

let fx: Fixture;

const { get, expectProblem } = httpProbe(() => fx.api.url);

const iso = (ms: number): string => new Date(ms).toISOString();

describe.each(backends('api_vehicles'))('vehicles API on %s', (_name, open) => {
  beforeAll(async () => {
    fx = await startFixture(open ? { open } : {});
  });

  afterAll(async () => {
    await fx?.close();
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
      expect(vehicles[1]).toMatchObject({
        id: VEHICLE_G,
        tenantId: OTHER_TENANT,
        deviceIds: ['gx-1'],
        online: true,
        lastSeenAt: iso(fx.now.getTime() - 5_000),
      });
    });

    it('returns one vehicle by id', async () => {
      const res = await get(`/api/vehicles/${VEHICLE_B}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: VEHICLE_B,
        tenantId: TENANT,
        name: 'Work van',
        make: 'Ford',
        modelYear: 2021,
      });
    });
    it('pages by name with limit and the opaque cursor; the last page has next null', async () => {
      const seen: string[] = [];
      let path = '/api/vehicles?limit=2';
      for (let page = 0; page < 5; page++) {
        const res = await get(path);
        expect(res.status).toBe(200);
        seen.push(...(res.body.vehicles as { id: string }[]).map((v) => v.id));
        if (res.body.next === null) break;
        path = `/api/vehicles?limit=2&cursor=${encodeURIComponent(res.body.next as string)}`;
      }
      const all = ((await get('/api/vehicles')).body.vehicles as { id: string }[]).map((v) => v.id);
      expect(seen).toEqual(all);
      expect((await get('/api/vehicles')).body.next).toBeNull();
    });

    it('refuses a bad limit or a forged cursor with a 400 pointing at the parameter', async () => {
      for (const q of [
        'limit=0',
        'limit=1001',
        'cursor=abc',
        `cursor=${Buffer.from('{"l":"vehicles","t":"x","id":"1"}').toString('base64url')}`,
      ]) {
        const body = await expectProblem(`/api/vehicles?${q}`, 400, 'VALIDATION_FAILED');
        expect((body.errors as { pointer: string }[])[0]?.pointer, q).toMatch(/^\/query\/(limit|cursor)$/);
      }
    });
  });

  it("unknown or another tenant's vehicle -> 404 VEHICLE_NOT_FOUND", async () => {
    const body = await expectProblem(`/api/vehicles/${VEHICLE_MISSING}`, 404, 'VEHICLE_NOT_FOUND');
    expect(body.vehicleId).toBe(VEHICLE_MISSING);
    await expectProblem('/api/vehicles/not-a-uuid', 400, 'VALIDATION_FAILED');
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
});
