import { describe, expect, it } from 'vitest';
import { backends, CAR, useDriveFixture } from '../test-fixtures.js';

describe.each(backends('api_trips'))('trips API on %s', (_name, open) => {
  const d = useDriveFixture(open);
  const { api } = d;
  const iso = (ms: number): string => new Date(ms).toISOString();

  it('GET trips derives the drive: distance, duration, idle, max speed, fuel', async () => {
    const res = await api(
      'GET',
      `/api/vehicles/${CAR}/trips?from=${iso(d.start - 3600_000)}&to=${iso(d.fx.now.getTime())}`,
    );
    expect(res.status).toBe(200);
    const trips = res.body.trips as Record<string, number | string>[];
    expect(trips).toHaveLength(1);
    expect(trips[0]).toMatchObject({
      start: iso(d.start),
      end: iso(d.start + 719_000),
      durationS: 719,
      maxSpeedKmh: 60,
    });
    expect(trips[0]!.distanceKm as number).toBeCloseTo(10, 1);
    expect(trips[0]!.idleS as number).toBeCloseTo(119, 0);
    expect(trips[0]!.fuelUsedL as number).toBeCloseTo(1.2, 2);
    expect(
      (await api('GET', `/api/vehicles/${CAR}/trips?from=${iso(d.fx.now.getTime() - 30 * 60_000)}`)).body.trips,
    ).toEqual([]);
    const tooWide = await api('GET', `/api/vehicles/${CAR}/trips?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z`);
    expect(tooWide.body.code).toBe('TIME_RANGE_INVALID');
  });

  it("keeps trips inside the caller's tenant (another tenant's vehicle is 404)", async () => {
    const res = await api('GET', `/api/vehicles/${CAR}/trips`, { token: d.globex });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('VEHICLE_NOT_FOUND');
  });
});
