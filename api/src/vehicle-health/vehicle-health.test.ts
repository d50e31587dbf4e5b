import { saveVehicleNormals } from '@clutch/ingest';
import { createVehicleNormal } from '@clutch/ml';
import { describe, expect, it } from 'vitest';
import { backends, CAR, TENANT, useDriveFixture } from '../test-fixtures.js';

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

  it("GET health: the vehicle's calibration, calibrating at 0 h before scoring stored a normal, then from the stored one", async () => {
    const fresh = await api('GET', `/api/vehicles/${CAR}/health`);
    expect(fresh.body.calibration).toMatchObject({
      status: 'calibrating',
      runningHours: 0,
      hoursNeeded: expect.any(Number),
      trips: 0,
      tripsNeeded: expect.any(Number),
      updatedAt: null,
    });
    const checks = (fresh.body.calibration as { checks: { check: string; ready: boolean; reason?: string }[] }).checks;
    // Car-specific checks wait for calibration; each says why it cannot run.
    expect(checks.find((c) => c.check === 'cooling.overheat')).toMatchObject({
      ready: false,
      reason: expect.any(String),
    });
    expect(checks.every((c) => c.ready || typeof c.reason === 'string')).toBe(true);

    const { hoursNeeded, tripsNeeded } = fresh.body.calibration as { hoursNeeded: number; tripsNeeded: number };
    const learned = { ...createVehicleNormal(), runningMs: (hoursNeeded + 1) * 3_600_000, trips: tripsNeeded + 2 };
    // As scoring stores it: the row and its announcement (`normal`) in one transaction.
    const announced = new Promise<void>((resolve) => {
      const stop = d.fx.bus.subscribe((event) => {
        if (event.type === 'normal' && event.vehicleIds.includes(CAR)) resolve(void stop());
      });
    });
    await d.fx.db.transaction((tx) => saveVehicleNormals(tx, [{ tenantId: TENANT, vehicleId: CAR, normal: learned }]));
    await announced;
    const later = await api('GET', `/api/vehicles/${CAR}/health`);
    expect(later.status).toBe(200);
    expect(later.body.calibration).toMatchObject({
      status: 'calibrated',
      runningHours: hoursNeeded + 1,
      trips: tripsNeeded + 2,
      updatedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    await d.fx.db.query(`DELETE FROM vehicle_normals WHERE vehicle_id = $1`, [CAR]);
  });

  it("keeps the health summary inside the caller's tenant (another tenant's vehicle is 404)", async () => {
    const res = await api('GET', `/api/vehicles/${CAR}/health`, { token: d.globex });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('VEHICLE_NOT_FOUND');
  });
});
