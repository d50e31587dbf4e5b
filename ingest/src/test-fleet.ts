import type { Database } from '@clutch/db';

/**
 * Test fixture: tenant `acme` (once) with a vehicle named `name` and, when `device` is given, that
 * device bound to it. Returns the vehicle's id.
 */
export async function seedAcmeVehicle(db: Database, name: string, device?: string): Promise<string> {
  await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme') ON CONFLICT DO NOTHING`);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO vehicles (tenant_id, name) VALUES ('acme', $1) RETURNING id`,
    [name],
  );
  const vehicleId = rows[0]!.id;
  if (device)
    await db.query(`INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ('acme', $1, $2)`, [device, vehicleId]);
  return vehicleId;
}
