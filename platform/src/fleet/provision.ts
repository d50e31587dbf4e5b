import type { Database } from '@clutch/db';
import {
  ensureTenant,
  issueDeviceCredential,
  provisionDevice,
  type DeviceLogin,
  type VehicleDetails,
} from '@clutch/identity';

export interface ProvisionedDevice {
  tenantId: string;
  deviceId: string;
  vehicleId: string;
}

/**
 * Finds or creates the tenant, vehicle and device of a platform-run device, and issues it a fresh
 * MQTT credential. Idempotent on the rows, so restarting `npm start` on the same ./data keeps each
 * car's history; the credential rotates at every start because only its digest is stored.
 */
export async function ensureDevice(
  db: Database,
  device: { tenantId: string; tenantName: string; deviceId: string; vehicle: VehicleDetails },
): Promise<ProvisionedDevice & { login: DeviceLogin }> {
  await ensureTenant(db, device.tenantId, device.tenantName);
  const existing = await db.query<{ vehicle_id: string }>(
    'SELECT vehicle_id FROM devices WHERE tenant_id = $1 AND id = $2',
    [device.tenantId, device.deviceId],
  );
  if (existing.rows[0]) {
    const login = await issueDeviceCredential(db, device.tenantId, device.deviceId);
    return { tenantId: device.tenantId, deviceId: device.deviceId, vehicleId: existing.rows[0].vehicle_id, login };
  }
  return provisionDevice(db, { tenantId: device.tenantId, deviceId: device.deviceId, vehicle: device.vehicle });
}
