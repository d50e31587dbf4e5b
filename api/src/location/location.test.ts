import type { LiveEvent } from '@clutch/contracts';
import { describe, expect, it } from 'vitest';
import { backends, CAR, useDriveFixture, TENANT, VEHICLE_MISSING } from '../test-fixtures.js';

describe.each(backends('api_location'))('location API on %s', (_name, open) => {
  const d = useDriveFixture(open);
  const { api } = d;
  const iso = (ms: number): string => new Date(ms).toISOString();

  it('POST gps stores a fix once (idempotent on vehicle and time) and GET history returns the track', async () => {
    const events: LiveEvent[] = [];
    const stop = d.fx.bus.subscribe((e) => events.push(e));
    const t = d.fx.now.getTime() - 5_000;
    const fix = { vehicleId: CAR, v: 1, t, lat: 52.52, lon: 13.405, speedKmh: 42.5, headingDeg: 90, satellites: 9 };
    try {
      let res = await api('POST', '/api/telematics/gps', { token: d.adminToken, body: fix });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toEqual({ vehicleId: CAR, time: iso(t), stored: true });
      res = await api('POST', '/api/telematics/gps', { token: d.adminToken, body: { ...fix, lat: 10 } });
      expect(res.status).toBe(200);
      expect(res.body.stored).toBe(false);
      expect(events.filter((e) => e.type === 'location')).toEqual([
        {
          type: 'location',
          tenantId: TENANT,
          vehicleId: CAR,
          at: iso(t),
          lat: 52.52,
          lon: 13.405,
          speedKmh: 42.5,
          headingDeg: 90,
        },
      ]);
    } finally {
      stop();
    }
    const track = await api('GET', `/api/telematics/history?vehicleId=${CAR}`);
    expect(track.status).toBe(200);
    expect(track.body.points).toEqual([
      { time: iso(t), lat: 52.52, lon: 13.405, altM: null, speedKmh: 42.5, headingDeg: 90, hdop: null, satellites: 9 },
    ]);
    for (const [body, pointer] of [
      [{ ...fix, lat: 91 }, '/body/lat'],
      [{ ...fix, v: 2 }, '/body/v'],
      [{ ...fix, vehicleId: 'x' }, '/body/vehicleId'],
      [{ ...fix, extra: true }, '/body'],
    ] as const) {
      const bad = await api('POST', '/api/telematics/gps', { token: d.adminToken, body });
      expect(bad.body.code).toBe('VALIDATION_FAILED');
      expect((bad.body.errors as { pointer: string }[])[0]?.pointer).toBe(pointer);
    }
    expect(
      (await api('POST', '/api/telematics/gps', { token: d.adminToken, body: { ...fix, vehicleId: VEHICLE_MISSING } }))
        .body.code,
    ).toBe('VEHICLE_NOT_FOUND');
    expect((await api('POST', '/api/telematics/gps', { body: fix })).body.code).toBe('FORBIDDEN');
  });

  it("keeps the GPS track inside the caller's tenant (another tenant's vehicle is 404)", async () => {
    const res = await api('GET', `/api/telematics/history?vehicleId=${CAR}`, { token: d.globex });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('VEHICLE_NOT_FOUND');
  });
});
