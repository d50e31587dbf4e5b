import { describe, expect, it } from 'vitest';
import { backends, CAR, useDriveFixture } from '../test-fixtures.js';

describe.each(backends('api_vehicle_health'))('vehicle health API on %s', (_name, open) => {
  const d = useDriveFixture(open);
  const { api } = d;

  it('GET health: signals against ranges, active codes and unacknowledged alerts', async () => {
    const res = await api('GET', `/api/vehicles/${CAR}/health`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('critical');
    const signals = Object.fromEntries((res.body.signals as { signal: string }[]).map((s) => [s.signal, s]));
    expect(signals['engine.coolant_temp']).toMatchObject({
      value: 118,
      status: 'high',
      expected: { min: null, max: 110 },
      stale: true,
    });
    expect(signals['battery.voltage']).toMatchObject({ value: 12.6, status: 'ok' });
    expect(signals['fuel.level']).toMatchObject({ value: null, status: 'unknown' });
    expect((res.body.activeDtcs as { code: string }[]).map((d) => d.code)).toEqual(['P0301', 'P0420']);
    expect((res.body.recentAlerts as { title: string }[]).map((a) => a.title)).toEqual([
      'Engine overheating',
      'Unusual idle',
    ]);
    const reasons = res.body.reasons as string[];
    expect(reasons.some((r) => r.includes('coolant') || r.includes('Coolant'))).toBe(true);
    expect(reasons.some((r) => r.includes('P0301'))).toBe(true);
    expect(reasons).toContain('critical alert: Engine overheating');
  });

  it("keeps the health summary inside the caller's tenant (another tenant's vehicle is 404)", async () => {
    const res = await api('GET', `/api/vehicles/${CAR}/health`, { token: d.globex });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('VEHICLE_NOT_FOUND');
  });
});
