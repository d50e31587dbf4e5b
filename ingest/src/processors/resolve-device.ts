import type { Queryable } from '@clutch/db';

export interface DeviceBinding {
  tenantId: string;
  deviceId: string;
  vehicleId: string;
}

export interface DeviceResolver {
  /** The vehicle a device publishes for, or null when the device is not provisioned. */
  resolve(tenantId: string, deviceId: string): Promise<DeviceBinding | null>;
  forget(tenantId: string, deviceId: string): void;
}

/** Second processor: device -> vehicle/tenant, cached (bindings change only on re-provisioning). */
export function createDeviceResolver(db: Queryable): DeviceResolver {
  const cache = new Map<string, DeviceBinding>();
  return {
    async resolve(tenantId, deviceId) {
      const key = `${tenantId}/${deviceId}`;
      const hit = cache.get(key);
      if (hit) return hit;
      const { rows } = await db.query<{ vehicle_id: string }>(
        'SELECT vehicle_id FROM devices WHERE tenant_id = $1 AND id = $2',
        [tenantId, deviceId],
      );
      if (rows.length === 0) return null; // not cached: a device provisioned later is found then
      const binding = { tenantId, deviceId, vehicleId: rows[0]!.vehicle_id };
      cache.set(key, binding);
      return binding;
    },
    forget(tenantId, deviceId) {
      cache.delete(`${tenantId}/${deviceId}`);
    },
  };
}
