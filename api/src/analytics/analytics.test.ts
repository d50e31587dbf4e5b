import { describe, expect, it } from 'vitest';
import { backends, CAR, useDriveFixture, VEHICLE_A } from '../test-fixtures.js';

describe.each(backends('api_analytics'))('driving analytics API on %s', (_name, open) => {
  const d = useDriveFixture(open);
  const { api } = d;
  const iso = (ms: number): string => new Date(ms).toISOString();

  it('GET analytics sums the rollups per day', async () => {
    const res = await api(
      'GET',
      `/api/telematics/analytics?vehicleId=${CAR}&from=${iso(d.start - 3600_000)}&to=${iso(d.fx.now.getTime())}`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      vehicleId: CAR,
      distanceKm: 10,
      drivingMinutes: 10,
      engineOnMinutes: 12,
      idleMinutes: 2,
      idleShare: 0.1667,
      avgSpeedKmh: 60,
      maxSpeedKmh: 60,
    });
    const days = res.body.days as { date: string; distanceKm: number }[];
    expect(days.map((day) => day.date)).toContain(iso(d.start).slice(0, 10));
    expect(days.reduce((a, day) => a + day.distanceKm, 0)).toBeCloseTo(10, 6);
    const empty = await api(
      'GET',
      `/api/telematics/analytics?vehicleId=${VEHICLE_A}&from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z`,
    );
    expect(empty.body).toMatchObject({
      distanceKm: 0,
      drivingMinutes: 0,
      idleShare: null,
      avgSpeedKmh: null,
      maxSpeedKmh: null,
      days: [],
    });
  });

  it("keeps analytics inside the caller's tenant (another tenant's vehicle is 404)", async () => {
    const res = await api('GET', `/api/telematics/analytics?vehicleId=${CAR}`, { token: d.globex });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('VEHICLE_NOT_FOUND');
  });
});
