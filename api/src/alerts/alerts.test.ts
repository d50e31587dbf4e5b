import { describe, expect, it } from 'vitest';
import { backends, CAR, useDriveFixture } from '../test-fixtures.js';

describe.each(backends('api_alerts'))('alerts API on %s', (_name, open) => {
  const d = useDriveFixture(open);
  const { api } = d;

  it('GET alerts lists newest first and filters unacknowledged', async () => {
    let res = await api('GET', `/api/vehicles/${CAR}/alerts`);
    expect(res.status).toBe(200);
    const alerts = res.body.alerts as Record<string, unknown>[];
    expect(alerts.map((a) => a.kind)).toEqual(['coolant_overheat', 'anomaly']);
    expect(alerts[0]).toMatchObject({
      severity: 'critical',
      signals: ['engine.coolant_temp'],
      details: { peak: 118 },
      modelVersion: 'health-1',
      acknowledgedAt: null,
    });
    res = await api('GET', `/api/vehicles/${CAR}/alerts?unacknowledged=true`);
    expect((res.body.alerts as unknown[]).length).toBe(1);
  });

  it('pages with limit and the opaque cursor, newest first; a foreign or forged cursor is a 400', async () => {
    const first = await api('GET', `/api/vehicles/${CAR}/alerts?limit=1`);
    expect((first.body.alerts as { kind: string }[]).map((a) => a.kind)).toEqual(['coolant_overheat']);
    expect(typeof first.body.next).toBe('string');
    const second = await api(
      'GET',
      `/api/vehicles/${CAR}/alerts?limit=1&cursor=${encodeURIComponent(first.body.next as string)}`,
    );
    expect((second.body.alerts as { kind: string }[]).map((a) => a.kind)).toEqual(['anomaly']);
    expect(second.body.next).toBeNull();
    expect((await api('GET', `/api/vehicles/${CAR}/alerts`)).body.next).toBeNull();
    const vehicles = await api('GET', '/api/vehicles?limit=1');
    const foreign = await api(
      'GET',
      `/api/vehicles/${CAR}/alerts?cursor=${encodeURIComponent(vehicles.body.next as string)}`,
    );
    expect(foreign.status).toBe(400);
    expect((foreign.body.errors as { pointer: string }[])[0]?.pointer).toBe('/query/cursor');
    expect((await api('GET', `/api/vehicles/${CAR}/alerts?cursor=bm90LWEtY3Vyc29y`)).body.code).toBe(
      'VALIDATION_FAILED',
    );
  });

  it("keeps alerts inside the caller's tenant (another tenant's vehicle is 404)", async () => {
    const res = await api('GET', `/api/vehicles/${CAR}/alerts`, { token: d.globex });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('VEHICLE_NOT_FOUND');
  });
});
