import type { Queryable } from '@clutch/db';

export interface ProvisionedDevice {
  tenantId: string;
  deviceId: string;
  vehicleId: string;
}

/**
 * Creates (or finds) the tenant, vehicle and device rows of a device; idempotent, so restarting
 * `npm start` on the same ./data keeps each car's history.
 */
export async function provisionDevice(
  db: Queryable,
  device: { tenantId: string; tenantName: string; deviceId: string; vehicleName: string; make?: string; model?: string; modelYear?: number },
): Promise<ProvisionedDevice> {
  await db.query('INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [device.tenantId, device.tenantName]);
  const existing = await db.query<{ vehicle_id: string }>('SELECT vehicle_id FROM devices WHERE tenant_id = $1 AND id = $2', [device.tenantId, device.deviceId]);
  if (existing.rows[0]) return { tenantId: device.tenantId, deviceId: device.deviceId, vehicleId: existing.rows[0].vehicle_id };
  const vehicle = await db.query<{ id: string }>(
    'INSERT INTO vehicles (tenant_id, name, make, model, model_year) VALUES ($1, $2, $3, $4, $5) RETURNING id',
    [device.tenantId, device.vehicleName, device.make ?? null, device.model ?? null, device.modelYear ?? null],
  );
  const vehicleId = vehicle.rows[0]!.id;
  await db.query('INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ($1, $2, $3)', [device.tenantId, device.deviceId, vehicleId]);
  return { tenantId: device.tenantId, deviceId: device.deviceId, vehicleId };
}
