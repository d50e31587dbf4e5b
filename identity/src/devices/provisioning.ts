import { isValidSegment } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { identityError } from '../errors.js';
import { issueDeviceCredential, type DeviceLogin } from './device-credentials.js';

export interface VehicleDetails {
  name: string;
  vin?: string | undefined;
  make?: string | undefined;
  model?: string | undefined;
  modelYear?: number | undefined;
}

export interface ProvisionedDevice {
  tenantId: string;
  deviceId: string;
  vehicleId: string;
}

/**
 * Creates a device bound to a vehicle of the tenant (an existing one by id, or a new one from its
 * details) and issues its first credential. The password is in the result only.
 */
export async function provisionDevice(
  db: Database,
  request: { tenantId: string; deviceId: string; vehicleId?: string | undefined; vehicle?: VehicleDetails | undefined },
): Promise<ProvisionedDevice & { login: DeviceLogin }> {
  const { tenantId, deviceId } = request;
  if (!isValidSegment(tenantId) || !isValidSegment(deviceId)) throw identityError('INVALID_ID', { tenantId, deviceId });
  const vehicleId = await db.transaction(async (tx) => {
    const taken = await tx.query('SELECT 1 FROM devices WHERE tenant_id = $1 AND id = $2', [tenantId, deviceId]);
    if (taken.rows.length > 0) throw identityError('DEVICE_EXISTS', { tenantId, deviceId });
    let id = request.vehicleId;
    if (id) {
      const found = await tx.query('SELECT 1 FROM vehicles WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      if (found.rows.length === 0) throw identityError('VEHICLE_NOT_FOUND', { tenantId, vehicleId: id });
    } else {
      const v = request.vehicle ?? { name: deviceId };
      const created = await tx.query<{ id: string }>(
        'INSERT INTO vehicles (tenant_id, name, vin, make, model, model_year) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
        [tenantId, v.name, v.vin ?? null, v.make ?? null, v.model ?? null, v.modelYear ?? null],
      );
      id = created.rows[0]!.id;
    }
    await tx.query('INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ($1, $2, $3)', [tenantId, deviceId, id]);
    return id;
  });
  const login = await issueDeviceCredential(db, tenantId, deviceId);
  return { tenantId, deviceId, vehicleId, login };
}

/** Creates the tenant when it does not exist yet (idempotent). */
export async function ensureTenant(db: Database, tenantId: string, name: string): Promise<void> {
  if (!isValidSegment(tenantId)) throw identityError('INVALID_ID', { tenantId });
  await db.query('INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [tenantId, name]);
}
