import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { parseVehicleLog } from '@clutch/ml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { importVehicleLog } from './import-log.js';

/**
 * An OBD Auto Doctor log of one drive, written here: a cold start, 25 minutes of driving at 1 row a
 * second, and from minute 15 the coolant climbing to 128 °C, past any engine's boiling margin.
 */
function overheatingDrive(): string {
  const lines = [
    'Time,Engine RPM [RPM],Vehicle Speed Sensor [km/h],Engine Coolant Temperature [°C],Intake Air Temperature [°C],Intake Manifold Absolute Pressure [kPa],Absolute Throttle Position [%]',
  ];
  for (let s = 0; s < 25 * 60; s++) {
    const clock = new Date(Date.UTC(2024, 0, 1, 8, 0, s)).toISOString().slice(11, 23);
    const moving = s > 60;
    const coolant = s < 15 * 60 ? Math.min(90, 20 + s / 6) : Math.min(128, 90 + (s - 15 * 60) / 6);
    const rpm = moving ? 1800 + 400 * Math.sin(s / 30) : 800;
    const speed = moving ? 50 + 20 * Math.sin(s / 30) : 0;
    lines.push(
      [
        clock,
        rpm.toFixed(0),
        speed.toFixed(0),
        coolant.toFixed(0),
        '25',
        moving ? '55' : '32',
        moving ? '18' : '14',
      ].join(','),
    );
  }
  return lines.join('\n');
}

describe.each(testDatabases(inject('pgAdminUrl'), 'ingest_imports'))('importVehicleLog on %s', (_name, open) => {
  let db: Database;
  let vehicleId = '';
  beforeAll(async () => {
    db = await open();
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')`);
    vehicleId = (
      await db.query<{ id: string }>(`INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'Leon') RETURNING id`)
    ).rows[0]!.id;
  });
  afterAll(async () => {
    await db?.close();
  });

  const log = parseVehicleLog(overheatingDrive(), { fileName: '2024-01-01_commute.csv' });
  const input = () => ({ tenantId: 'acme', vehicleId, log, model: null, modelVersion: 'health-checks' });

  it('stores the history at the file times, scores it, stores the alerts and saves the normal', async () => {
    const summary = await importVehicleLog(db, input());
    expect(summary.from).toBe('2024-01-01T08:00:00.000Z');
    expect(summary.to).toBe('2024-01-01T08:24:59.000Z');
    expect(summary.samplesStored).toBe(summary.readings);
    expect(summary.readingsPerSignal['engine.coolant_temp']).toBe(1500);
    const samples = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM samples WHERE vehicle_id = $1`, [
      vehicleId,
    ]);
    expect(samples.rows[0]!.n).toBe(summary.readings);
    // Overheating is a physical limit: it fires while the car is still calibrating.
    expect(summary.alerts.byCondition['cooling.overheat']).toBe(1);
    const alerts = await db.query<{ kind: string; time: Date }>(`SELECT kind, time FROM alerts WHERE vehicle_id = $1`, [
      vehicleId,
    ]);
    expect(alerts.rows.map((a) => a.kind)).toContain('cooling');
    expect(alerts.rows.every((a) => new Date(a.time).getTime() < Date.UTC(2024, 0, 1, 9))).toBe(true);
    // History is not news: no live event (and so no notification) for an alert found in an imported log.
    // The rewritten normal is announced (API processes drop the calibration they keep), never to clients.
    const announced = await db.query(
      `SELECT 1 FROM outbox_events WHERE payload::text LIKE '%' || $1 || '%' AND topic <> 'vehicle.normal-saved'`,
      [vehicleId],
    );
    expect(announced.rows).toEqual([]);
    expect(summary.calibration.status).toBe('calibrating');
    const normal = await db.query<{ running_hours: number }>(
      `SELECT running_hours FROM vehicle_normals WHERE vehicle_id = $1`,
      [vehicleId],
    );
    expect(normal.rows[0]!.running_hours).toBeGreaterThan(0.3);
  });

  it('imports the same file again without storing, scoring or alerting twice', async () => {
    const before = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM alerts`);
    const again = await importVehicleLog(db, input());
    expect(again.samplesStored).toBe(0);
    expect(again.samplesAlreadyStored).toBe(again.readings);
    expect(again.alerts.raised).toBe(0);
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM alerts`)).rows[0]!.n).toBe(before.rows[0]!.n);
  });

  it('places a log without a date so it ends at the import, and refuses nothing of it', async () => {
    const undated = parseVehicleLog('Time,Engine RPM [RPM]\n0,800\n1,820\n2,840\n');
    const now = Date.UTC(2024, 5, 1, 12);
    const summary = await importVehicleLog(db, { ...input(), log: undated, now: () => now });
    expect(summary.datedByFile).toBe(false);
    expect(summary.to).toBe(new Date(now).toISOString());
    expect(summary.from).toBe(new Date(now - 2000).toISOString());
    expect(summary.samplesInFuture).toBe(0);
  });
});
