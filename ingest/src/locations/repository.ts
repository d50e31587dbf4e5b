import type { LocationFix } from '@clutch/contracts';
import type { Queryable } from '@clutch/db';

/**
 * Ingest's writer of `locations` (fixes a device publishes). The API's location domain also stores
 * a fix posted over HTTP, under the same idempotency rule (one fix per vehicle and time, first wins).
 */

export interface LocationRow {
  tenantId: string;
  vehicleId: string;
  fix: LocationFix;
}

/** GPS fixes, idempotent on (vehicle, time). */
export async function storeLocations(tx: Queryable, rows: readonly LocationRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO locations (time, tenant_id, vehicle_id, lat, lon, alt_m, speed_kmh, heading_deg, hdop, satellites)
     SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::uuid[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::int[])
     ON CONFLICT (vehicle_id, time) DO NOTHING`,
    [
      rows.map((r) => new Date(r.fix.t).toISOString()),
      rows.map((r) => r.tenantId),
      rows.map((r) => r.vehicleId),
      rows.map((r) => r.fix.lat),
      rows.map((r) => r.fix.lon),
      rows.map((r) => r.fix.altM ?? null),
      rows.map((r) => r.fix.speedKmh ?? null),
      rows.map((r) => r.fix.headingDeg ?? null),
      rows.map((r) => r.fix.hdop ?? null),
      rows.map((r) => r.fix.satellites ?? null),
    ],
  );
}
