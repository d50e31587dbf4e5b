import type { Queryable } from '@clutch/db';
import type { SampleRow } from './normalise.js';

/**
 * Fourth processor: one statement per batch of rows. ON CONFLICT DO NOTHING on the primary key
 * (vehicle, signal, time) makes redelivery idempotent. unnest keeps the statement's parameter count
 * fixed however many rows there are (PGlite and PostgreSQL alike).
 */
export async function storeSamples(tx: Queryable, rows: readonly SampleRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await tx.query(
    `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
     SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::uuid[], $4::smallint[], $5::float8[])
     ON CONFLICT (vehicle_id, signal_id, time) DO NOTHING`,
    [
      rows.map((r) => r.time.toISOString()),
      rows.map((r) => r.tenantId),
      rows.map((r) => r.vehicleId),
      rows.map((r) => r.signalId),
      rows.map((r) => r.value),
    ],
  );
  return result.rowCount;
}

export interface DeviceProgress {
  tenantId: string;
  deviceId: string;
  seq: number | null;
  seenAt: Date;
}

/** Records the newest seq and contact time per device (presence and gap detection). */
export async function touchDevices(tx: Queryable, updates: readonly DeviceProgress[]): Promise<void> {
  for (const u of updates) {
    await tx.query(
      `UPDATE devices SET last_seen_at = GREATEST(coalesce(last_seen_at, $3), $3),
         last_seq = CASE WHEN $4::bigint IS NULL THEN last_seq ELSE GREATEST(coalesce(last_seq, $4::bigint), $4::bigint) END
       WHERE tenant_id = $1 AND id = $2`,
      [u.tenantId, u.deviceId, u.seenAt.toISOString(), u.seq],
    );
  }
}

export interface PresenceChange {
  tenantId: string;
  deviceId: string;
  online: boolean;
  at: Date;
}

/** Applies a status message (retained online, or the Last Will's offline) unless a newer one won. */
export async function recordPresence(tx: Queryable, changes: readonly PresenceChange[]): Promise<void> {
  for (const c of changes) {
    await tx.query(
      `UPDATE devices SET online = $3, presence_changed_at = $4
       WHERE tenant_id = $1 AND id = $2 AND (presence_changed_at IS NULL OR presence_changed_at <= $4)`,
      [c.tenantId, c.deviceId, c.online, c.at.toISOString()],
    );
  }
}
