import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { createVehicleNormal, type VehicleNormal } from '@clutch/ml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadVehicleNormal, loadVehicleNormals, saveVehicleNormals, vehicleNormalRecords } from './repository.js';

/** A normal with the calibration figures set (3 h and 5 trips calibrate a car: ml/src/normal/readiness.ts). */
const normal = (hours: number, trips: number): VehicleNormal => ({
  ...createVehicleNormal(),
  runningMs: hours * 3_600_000,
  trips,
});

describe.each(testDatabases(inject('pgAdminUrl'), 'ingest_normals'))('vehicle normals on %s', (_name, open) => {
  let db: Database;
  const cars: Record<'etios' | 'leon' | 'other', string> = { etios: '', leon: '', other: '' };

  beforeAll(async () => {
    db = await open();
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme'), ('globex', 'Globex')`);
    for (const [key, tenant] of [
      ['etios', 'acme'],
      ['leon', 'acme'],
      ['other', 'globex'],
    ] as const)
      cars[key] = (
        await db.query<{ id: string }>(`INSERT INTO vehicles (tenant_id, name) VALUES ($1, $2) RETURNING id`, [
          tenant,
          key,
        ])
      ).rows[0]!.id;
  });
  afterAll(async () => {
    await db?.close();
  });

  const rows = async () =>
    (
      await db.query<{ vehicle_id: string; tenant_id: string; status: string; running_hours: number; trips: number }>(
        `SELECT vehicle_id::text, tenant_id, status, running_hours, trips FROM vehicle_normals ORDER BY tenant_id, running_hours`,
      )
    ).rows;

  it('writes many normals in one statement with their calibration figures, replaces them, and reads them back', async () => {
    const written = await db.transaction((tx) =>
      saveVehicleNormals(
        tx,
        [
          { tenantId: 'acme', vehicleId: cars.etios, normal: normal(1.5, 2) },
          { tenantId: 'acme', vehicleId: cars.leon, normal: normal(4, 9) },
          // Given twice: the last one is written.
          { tenantId: 'acme', vehicleId: cars.etios, normal: normal(2, 3) },
        ],
        { modelVersion: 'v7' },
      ),
    );
    expect(written).toEqual(
      new Map([
        [cars.etios, 1],
        [cars.leon, 1],
      ]),
    );
    expect(await rows()).toEqual([
      { vehicle_id: cars.etios, tenant_id: 'acme', status: 'calibrating', running_hours: 2, trips: 3 },
      { vehicle_id: cars.leon, tenant_id: 'acme', status: 'calibrated', running_hours: 4, trips: 9 },
    ]);
    await db.transaction((tx) =>
      saveVehicleNormals(tx, [{ tenantId: 'acme', vehicleId: cars.etios, normal: normal(3.5, 6) }]),
    );
    expect((await rows())[0]).toMatchObject({ vehicle_id: cars.etios, status: 'calibrated', running_hours: 3.5 });
    expect(await loadVehicleNormal(db, cars.etios)).toMatchObject({ runningMs: 3.5 * 3_600_000, trips: 6 });
    expect(await loadVehicleNormal(db, cars.other)).toBeNull();
    const both = await loadVehicleNormals(db, [cars.etios, cars.leon, cars.other]);
    expect([...both.keys()].sort()).toEqual([cars.etios, cars.leon].sort());
    expect(both.get(cars.leon)).toEqual({ normal: normal(4, 9), revision: 1 });
    expect(both.get(cars.etios)!.revision).toBe(2);
  });

  it('writes over the revision the writer knows only: what someone else wrote meanwhile stays', async () => {
    const save = (entry: Parameters<typeof saveVehicleNormals>[1][number]) =>
      db.transaction((tx) => saveVehicleNormals(tx, [entry]));
    // Scoring read revision 2 of the Etios; an import then wrote (unchecked: over whatever is stored).
    expect(await save({ tenantId: 'acme', vehicleId: cars.etios, normal: normal(6, 8) })).toEqual(
      new Map([[cars.etios, 3]]),
    );
    // Scoring's save over revision 2 is refused, the import's normal stays.
    expect(await save({ tenantId: 'acme', vehicleId: cars.etios, normal: normal(3.6, 6), revision: 2 })).toEqual(
      new Map(),
    );
    expect((await loadVehicleNormal(db, cars.etios))!.runningMs).toBe(6 * 3_600_000);
    // Expecting no row while one is stored: refused too. Over the current revision: written.
    expect(await save({ tenantId: 'acme', vehicleId: cars.etios, normal: normal(0, 0), revision: null })).toEqual(
      new Map(),
    );
    expect(await save({ tenantId: 'acme', vehicleId: cars.etios, normal: normal(6.1, 9), revision: 3 })).toEqual(
      new Map([[cars.etios, 4]]),
    );
    expect((await loadVehicleNormal(db, cars.etios))!.runningMs).toBe(6.1 * 3_600_000);
  });

  it("skips a vehicle that is gone or not the tenant's, and writes the others", async () => {
    const written = await db.transaction((tx) =>
      saveVehicleNormals(tx, [
        { tenantId: 'acme', vehicleId: cars.other, normal: normal(9, 9) },
        { tenantId: 'acme', vehicleId: '00000000-0000-4000-8000-000000000000', normal: normal(9, 9) },
        { tenantId: 'globex', vehicleId: cars.other, normal: normal(0.25, 1) },
      ]),
    );
    expect([...written.keys()]).toEqual([cars.other]);
    expect((await rows()).filter((r) => r.tenant_id === 'globex')).toEqual([
      { vehicle_id: cars.other, tenant_id: 'globex', status: 'calibrating', running_hours: 0.25, trips: 1 },
    ]);
  });

  it("confines a tenant's scope to its own vehicles' normals, reads and writes (row-level security)", async () => {
    const seen = await db.withTenant('globex', (tx) => loadVehicleNormals(tx, [cars.etios, cars.leon, cars.other]));
    expect([...seen.keys()]).toEqual([cars.other]);
    // An upload seeds a normal in the tenant's scope; another tenant's vehicle is not reachable there.
    const written = await db.withTenant('globex', (tx) =>
      saveVehicleNormals(tx, [
        { tenantId: 'globex', vehicleId: cars.other, normal: normal(0.5, 2) },
        { tenantId: 'acme', vehicleId: cars.leon, normal: normal(0, 0) },
      ]),
    );
    expect([...written.keys()]).toEqual([cars.other]);
    expect((await loadVehicleNormal(db, cars.leon))!.runningMs).toBe(4 * 3_600_000);
    expect((await loadVehicleNormal(db, cars.other))!.runningMs).toBe(0.5 * 3_600_000);
  });

  it('reports a stored normal that does not parse instead of handing it out', async () => {
    await db.query(`UPDATE vehicle_normals SET state = '{"version": 2}' WHERE vehicle_id = $1`, [cars.leon]);
    const invalid: string[] = [];
    const found = await loadVehicleNormals(db, [cars.etios, cars.leon], (id, err) =>
      invalid.push(`${id}: ${err.message}`),
    );
    // Handed back without a normal, with its revision: the next save replaces it.
    expect(found.get(cars.leon)).toEqual({ normal: null, revision: 1 });
    expect(found.get(cars.etios)!.normal).not.toBeNull();
    expect(invalid).toEqual([
      `${cars.leon}: stored vehicle normal is not a valid VehicleNormal: unsupported version 2`,
    ]);
    await expect(loadVehicleNormal(db, cars.leon)).rejects.toMatchObject({ code: 'ML_NORMAL_INVALID' });
  });

  it('announces the vehicles it wrote, one event per tenant in the same transaction, never a skipped one', async () => {
    const announced = async () =>
      (
        await db.query<{ tenant_id: string; payload: { vehicleIds: string[] } }>(
          `SELECT tenant_id, payload FROM outbox_events WHERE topic = 'vehicle.normal-saved' ORDER BY seq`,
        )
      ).rows;
    await db.query(`DELETE FROM outbox_events WHERE topic = 'vehicle.normal-saved'`);
    await db.transaction((tx) =>
      saveVehicleNormals(tx, [
        { tenantId: 'acme', vehicleId: cars.etios, normal: normal(5, 7) },
        { tenantId: 'globex', vehicleId: cars.other, normal: normal(1, 1) },
        // Not globex's vehicle: skipped, so not announced.
        { tenantId: 'globex', vehicleId: cars.leon, normal: normal(2, 2) },
      ]),
    );
    expect(await announced()).toEqual([
      { tenant_id: 'acme', payload: { vehicleIds: [cars.etios] } },
      { tenant_id: 'globex', payload: { vehicleIds: [cars.other] } },
    ]);
    // Rolled back: nothing announced.
    await expect(
      db.transaction(async (tx) => {
        await saveVehicleNormals(tx, [{ tenantId: 'acme', vehicleId: cars.etios, normal: normal(6, 8) }]);
        throw new Error('scoring failed');
      }),
    ).rejects.toThrow('scoring failed');
    expect(await announced()).toHaveLength(2);
  });

  it('removes the normal with its vehicle', async () => {
    await db.query(`DELETE FROM vehicles WHERE id = $1`, [cars.leon]);
    expect(await loadVehicleNormal(db, cars.leon)).toBeNull();
  });
});

describe('the records of a save', () => {
  it('keeps the last entry of a vehicle and splits the rest into statements of the size asked', () => {
    const entries = Array.from({ length: 5 }, (_, i) => ({
      tenantId: 'acme',
      vehicleId: `00000000-0000-4000-8000-00000000000${i}`,
      normal: normal(i, i),
    }));
    const again = { ...entries[1]!, normal: normal(9, 9), revision: 4 };
    const records = vehicleNormalRecords([...entries, again], 2).map(
      (json) => JSON.parse(json) as { vehicle_id: string; trips: number; checked: boolean; revision: number | null }[],
    );
    expect(records.map((r) => r.length)).toEqual([2, 2, 1]);
    const byVehicle = new Map(records.flat().map((r) => [r.vehicle_id, r]));
    expect(byVehicle.size).toBe(5);
    expect(byVehicle.get(again.vehicleId)).toMatchObject({ trips: 9, checked: true, revision: 4 });
    expect(byVehicle.get(entries[0]!.vehicleId)).toMatchObject({ trips: 0, checked: false, revision: null });
    expect(vehicleNormalRecords([])).toEqual([]);
  });
});
