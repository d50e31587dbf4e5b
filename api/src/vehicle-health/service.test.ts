import { signalByKey } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertsService } from '../alerts/service.js';
import { recordAudit } from '../audit/repository.js';
import { Scope } from '../auth/scope.js';
import { lazyDtcDescriptions } from '../diagnostics/dtc-descriptions.js';
import { DiagnosticsService } from '../diagnostics/service.js';
import { TelemetryService } from '../telemetry/service.js';
import { VehicleHealthService } from './service.js';

describe('vehicle health summary', () => {
  let db: Database;
  let vehicle: string;
  const now = new Date();

  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')`);
    vehicle = (
      await db.query<{ id: string }>(`INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'Etios') RETURNING id`)
    ).rows[0]!.id;
  });
  afterAll(async () => {
    await db?.close();
  });

  const coolant = signalByKey('engine.coolant_temp')!.id;
  const summary = () =>
    new VehicleHealthService(
      new DiagnosticsService(lazyDtcDescriptions()),
      new AlertsService(() => now),
      new TelemetryService(() => now),
      () => now,
    ).summary(Scope.tenant(db, 'acme', recordAudit), vehicle);

  it('regression 12.2: judges the car by its newest real reading, not by a sample dated in 2121', async () => {
    await db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES ($1, 'acme', $3, $4, 90), ($2, 'acme', $3, $4, 125)`,
      [new Date(now.getTime() - 60_000), new Date(Date.UTC(2121, 0, 1)), vehicle, coolant],
    );
    const health = await summary();
    expect(health.signals.find((s) => s.signal === 'engine.coolant_temp')).toMatchObject({ value: 90, status: 'ok' });
    expect(health.status).toBe('ok');
    // The real reading decides once it is alarming.
    await db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES ($1, 'acme', $2, $3, 118)`,
      [new Date(now.getTime() - 30_000), vehicle, coolant],
    );
    expect((await summary()).status).toBe('critical');
  });

  it('reads a stored normal that does not parse as a vehicle calibrating from nothing, as scoring does', async () => {
    await db.query(
      `INSERT INTO vehicle_normals (vehicle_id, tenant_id, state, status, running_hours, trips)
       VALUES ($1, 'acme', '{"version": 99, "runningMs": 36000000}', 'calibrated', 10, 20)`,
      [vehicle],
    );
    expect((await summary()).calibration).toMatchObject({
      status: 'calibrating',
      runningHours: 0,
      trips: 0,
      updatedAt: null,
    });
    await db.query(`DELETE FROM vehicle_normals WHERE vehicle_id = $1`, [vehicle]);
  });
});
