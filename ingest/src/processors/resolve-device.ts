import type { Queryable } from '@clutch/db';

export interface DeviceBinding {
  tenantId: string;
  deviceId: string;
  vehicleId: string;
}

export interface DeviceResolver {
  /** The vehicle a device publishes for, or null when the device is not provisioned. */
  resolve(tenantId: string, deviceId: string): Promise<DeviceBinding | null>;
  /**
   * Looks up every device of a batch not cached yet in one query, so a cold cache (a restart under
   * a full fleet) costs one round trip per batch instead of one per device.
   */
  prefetch(devices: readonly { tenantId: string; deviceId: string }[]): Promise<void>;
  /** The cached binding, without a lookup (undefined when not cached: call resolve). */
  cached?(tenantId: string, deviceId: string): DeviceBinding | undefined;
  forget(tenantId: string, deviceId: string): void;
}

const keyOf = (tenantId: string, deviceId: string): string => `${tenantId}/${deviceId}`;

/** Second processor: device -> vehicle/tenant, cached (bindings change only on re-provisioning). */
export function createDeviceResolver(db: Queryable): DeviceResolver {
  /** By tenant, then device: every message looks its device up, with no key string built for it. */
  const cache = new Map<string, Map<string, DeviceBinding>>();
  const cached = (tenantId: string, deviceId: string): DeviceBinding | undefined => cache.get(tenantId)?.get(deviceId);
  async function prefetch(devices: readonly { tenantId: string; deviceId: string }[]): Promise<void> {
    const missing = new Map<string, { tenantId: string; deviceId: string }>();
    for (const d of devices) if (!cached(d.tenantId, d.deviceId)) missing.set(keyOf(d.tenantId, d.deviceId), d);
    if (missing.size === 0) return;
    const wanted = [...missing.values()];
    const { rows } = await db.query<{ tenant_id: string; id: string; vehicle_id: string }>(
      `SELECT d.tenant_id, d.id, d.vehicle_id FROM devices d
         JOIN unnest($1::text[], $2::text[]) AS w(tenant_id, id) ON d.tenant_id = w.tenant_id AND d.id = w.id`,
      [wanted.map((d) => d.tenantId), wanted.map((d) => d.deviceId)],
    );
    for (const r of rows) {
      let tenant = cache.get(r.tenant_id);
      if (!tenant) cache.set(r.tenant_id, (tenant = new Map()));
      tenant.set(r.id, { tenantId: r.tenant_id, deviceId: r.id, vehicleId: r.vehicle_id });
    }
  }
  return {
    async resolve(tenantId, deviceId) {
      // Not cached when missing: a device provisioned later is found then.
      if (!cached(tenantId, deviceId)) await prefetch([{ tenantId, deviceId }]);
      return cached(tenantId, deviceId) ?? null;
    },
    prefetch,
    cached,
    forget(tenantId, deviceId) {
      cache.get(tenantId)?.delete(deviceId);
    },
  };
}
