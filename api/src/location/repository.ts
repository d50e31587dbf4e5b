import type { LocationFix } from '@clutch/contracts';
import type { Queryable } from '@clutch/db';

export interface LocationRow {
  time: Date | string;
  lat: number;
  lon: number;
  alt_m: number | null;
  speed_kmh: number | null;
  heading_deg: number | null;
  hdop: number | null;
  satellites: number | null;
}

export class LocationsRepository {
  constructor(private readonly db: Queryable) {}

  async vehicleTenant(vehicleId: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ tenant_id: string }>('SELECT tenant_id FROM vehicles WHERE id = $1', [
      vehicleId,
    ]);
    return rows[0]?.tenant_id;
  }

  /** Idempotent on (vehicle, time), like ingest's `/location` path; true when the fix was new. */
  async insert(tenantId: string, vehicleId: string, fix: LocationFix): Promise<boolean> {
    const { rows } = await this.db.query(
      `INSERT INTO locations (time, tenant_id, vehicle_id, lat, lon, alt_m, speed_kmh, heading_deg, hdop, satellites)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (vehicle_id, time) DO NOTHING
       RETURNING time`,
      [
        new Date(fix.t),
        tenantId,
        vehicleId,
        fix.lat,
        fix.lon,
        fix.altM ?? null,
        fix.speedKmh ?? null,
        fix.headingDeg ?? null,
        fix.hdop ?? null,
        fix.satellites ?? null,
      ],
    );
    return rows.length > 0;
  }

  async track(vehicleId: string, from: Date, to: Date, limit: number): Promise<LocationRow[]> {
    const { rows } = await this.db.query<LocationRow>(
      `SELECT time, lat, lon, alt_m, speed_kmh, heading_deg, hdop, satellites FROM locations
        WHERE vehicle_id = $1 AND time >= $2 AND time <= $3
        ORDER BY time
        LIMIT $4`,
      [vehicleId, from, to, limit],
    );
    return rows;
  }
}
