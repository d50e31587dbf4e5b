import { createVehicleNormal } from '@clutch/ml';
import { describe, expect, it } from 'vitest';
import { backends, CAR, useDriveFixture } from '../test-fixtures.js';

interface Calibration {
  status: string;
  runningHours: number;
  hoursNeeded: number;
  trips: number;
  tripsNeeded: number;
  checks: { check: string; ready: boolean; reason?: string }[];
}

// Issue 19: a prediction for a stored vehicle starts from the normal ingest's scoring stored for it
// (vehicle_normals), as live scoring does, so a calibrated car's own checks run there too.
describe.each(backends('api_predict_normal'))('maintenance prediction with the vehicle normal on %s', (_name, open) => {
  const d = useDriveFixture(open);
  const predict = async (body: unknown): Promise<Calibration> => {
    const res = await d.api('POST', '/api/ai/maintenance/predict', { body });
    expect(res.status).toBe(200);
    return res.body.calibration as Calibration;
  };

  it("starts from the vehicle's stored normal, and from nothing without one", async () => {
    const fresh = await predict({ vehicleId: CAR });
    // The 12-minute drive alone: calibrating, the car-specific checks say why they cannot run.
    expect(fresh.status).toBe('calibrating');
    expect(fresh.runningHours).toBeLessThan(fresh.hoursNeeded);
    expect(fresh.checks.filter((c) => !c.ready).every((c) => typeof c.reason === 'string')).toBe(true);

    const hours = fresh.hoursNeeded + 1;
    const trips = fresh.tripsNeeded + 2;
    await d.fx.db.query(
      `INSERT INTO vehicle_normals (vehicle_id, tenant_id, state, status, running_hours, trips)
       SELECT id, tenant_id, $2, 'calibrated', $3, $4 FROM vehicles WHERE id = $1`,
      [CAR, JSON.stringify({ ...createVehicleNormal(), runningMs: hours * 3_600_000, trips }), hours, trips],
    );
    try {
      const known = await predict({ vehicleId: CAR });
      expect(known.status).toBe('calibrated');
      // Learned on from the stored hours (the drive adds its own running time).
      expect(known.runningHours).toBeGreaterThanOrEqual(hours);
      expect(known.trips).toBeGreaterThanOrEqual(trips);
      // Readings sent in the request belong to no stored vehicle: nothing is started from.
      const sent = await predict({
        readings: [{ signal: 'engine.rpm', time: Date.now() - 1000, value: 800 }],
      });
      expect(sent).toMatchObject({ status: 'calibrating', runningHours: expect.any(Number) });
      expect(sent.runningHours).toBeLessThan(1);
    } finally {
      await d.fx.db.query(`DELETE FROM vehicle_normals WHERE vehicle_id = $1`, [CAR]);
    }
  });
});
