import type { Queryable } from '@clutch/db';

export interface DeviceRow {
  tenant_id: string;
  id: string;
  vehicle_id: string;
  online: boolean;
  last_seen_at: Date | string | null;
}

export class DevicesRepository {
  constructor(private readonly db: Queryable) {}

  async find(tenantId: string, deviceId: string): Promise<DeviceRow | undefined> {
    const { rows } = await this.db.query<DeviceRow>(
      'SELECT tenant_id, id, vehicle_id, online, last_seen_at FROM devices WHERE tenant_id = $1 AND id = $2',
      [tenantId, deviceId],
    );
    return rows[0];
  }

  /** The vehicle's devices, the likeliest to answer first: online, then most recently seen. */
  async forVehicle(vehicleId: string): Promise<DeviceRow[]> {
    const { rows } = await this.db.query<DeviceRow>(
      `SELECT tenant_id, id, vehicle_id, online, last_seen_at FROM devices
        WHERE vehicle_id = $1
        ORDER BY online DESC, last_seen_at DESC NULLS LAST, id`,
      [vehicleId],
    );
    return rows;
  }
}
