import type { Queryable } from '@clutch/db';
import type { SampleRow } from './normalise.js';

/** Adds the rows a samples INSERT returned to a rollup table (bucketed by `unit`). */
function rollupInto(table: 'sample_rollups_1m' | 'sample_rollups_1h', unit: 'minute' | 'hour'): string {
  return `INSERT INTO ${table} AS r (bucket, tenant_id, vehicle_id, signal_id, n, sum, min, max)
    SELECT date_trunc('${unit}', time), tenant_id, vehicle_id, signal_id, count(*), sum(value), min(value), max(value)
    FROM inserted GROUP BY 1, 2, 3, 4 ORDER BY 3, 4, 1
    ON CONFLICT (vehicle_id, signal_id, bucket) DO UPDATE
    SET n = r.n + excluded.n, sum = r.sum + excluded.sum, min = LEAST(r.min, excluded.min), max = GREATEST(r.max, excluded.max)`;
}

/**
 * Fourth and fifth processors in one statement: insert the samples, skipping any already stored
 * (primary key (vehicle, signal, time): redelivery is idempotent), and fold exactly the inserted ones
 * into the 1-minute and 1-hour rollups. `source` yields (time, tenant_id, vehicle_id, signal_id,
 * value) rows: an unnest of parameter arrays, or a COPY staging table.
 */
export function insertSamplesSql(source: string): string {
  return `WITH inserted AS (
      INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
      ${source}
      ON CONFLICT (vehicle_id, signal_id, time) DO NOTHING
      RETURNING time, tenant_id, vehicle_id, signal_id, value
    ), minute AS (${rollupInto('sample_rollups_1m', 'minute')})
    ${rollupInto('sample_rollups_1h', 'hour')}
    RETURNING n`;
}

const UNNEST_SOURCE = 'SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::uuid[], $4::smallint[], $5::float8[])';

/** Below this many rows the COPY round trips cost more than they save. */
export const COPY_THRESHOLD = 1000;

const STAGING = `CREATE TEMP TABLE IF NOT EXISTS samples_staging (
  time timestamptz, tenant_id text, vehicle_id uuid, signal_id smallint, value double precision
) ON COMMIT DELETE ROWS`;

/**
 * Stores rows and returns how many were new. On PostgreSQL large batches are COPYed into a
 * per-connection staging table first (the fastest way in); elsewhere one INSERT over unnest'ed
 * arrays keeps the parameter count fixed whatever the batch size.
 */
export async function storeSamples(tx: Queryable, rows: readonly SampleRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  if (tx.copyRows && rows.length >= COPY_THRESHOLD) {
    await tx.exec(STAGING);
    await tx.copyRows('samples_staging', ['time', 'tenant_id', 'vehicle_id', 'signal_id', 'value'],
      rows.map((r) => [r.time, r.tenantId, r.vehicleId, r.signalId, r.value]));
    const copied = await tx.query<{ n: number }>(insertSamplesSql('SELECT time, tenant_id, vehicle_id, signal_id, value FROM samples_staging'));
    return copied.rows.reduce((sum, r) => sum + Number(r.n), 0);
  }
  const result = await tx.query<{ n: number }>(insertSamplesSql(UNNEST_SOURCE), [
    rows.map((r) => r.time.toISOString()),
    rows.map((r) => r.tenantId),
    rows.map((r) => r.vehicleId),
    rows.map((r) => r.signalId),
    rows.map((r) => r.value),
  ]);
  return result.rows.reduce((sum, r) => sum + Number(r.n), 0);
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

export interface LocationRow {
  tenantId: string;
  vehicleId: string;
  fix: import('@clutch/contracts').LocationFix;
}

/** GPS fixes, idempotent on (vehicle, time). */
export async function storeLocations(tx: Queryable, rows: readonly LocationRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO locations (time, tenant_id, vehicle_id, lat, lon, alt_m, speed_kmh, heading_deg, hdop, satellites)
     SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::uuid[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::int[])
     ON CONFLICT (vehicle_id, time) DO NOTHING`,
    [
      rows.map((r) => new Date(r.fix.t).toISOString()), rows.map((r) => r.tenantId), rows.map((r) => r.vehicleId),
      rows.map((r) => r.fix.lat), rows.map((r) => r.fix.lon), rows.map((r) => r.fix.altM ?? null), rows.map((r) => r.fix.speedKmh ?? null),
      rows.map((r) => r.fix.headingDeg ?? null), rows.map((r) => r.fix.hdop ?? null), rows.map((r) => r.fix.satellites ?? null),
    ],
  );
}

export interface DtcRow {
  tenantId: string;
  vehicleId: string;
  report: import('@clutch/contracts').DtcReport;
}

/** Trouble-code reports, one row per code; a re-sent report is not stored twice. */
export async function storeDtcReports(tx: Queryable, rows: readonly DtcRow[]): Promise<void> {
  const flat = rows.flatMap((r) => r.report.codes.map((c) => ({ ...c, tenantId: r.tenantId, vehicleId: r.vehicleId, t: r.report.t })));
  if (flat.length === 0) return;
  await tx.query(
    `INSERT INTO dtc_events (time, tenant_id, vehicle_id, code, kind, ecu)
     SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[])
     ON CONFLICT (vehicle_id, time, code, kind) DO NOTHING`,
    [flat.map((f) => new Date(f.t).toISOString()), flat.map((f) => f.tenantId), flat.map((f) => f.vehicleId), flat.map((f) => f.code), flat.map((f) => f.kind), flat.map((f) => f.ecu ?? null)],
  );
}

export interface CommandOutcome {
  tenantId: string;
  deviceId: string;
  result: import('@clutch/contracts').CommandResult;
}

/** Completes a pending command with the agent's answer; a late or repeated answer changes nothing. */
export async function completeCommands(tx: Queryable, outcomes: readonly CommandOutcome[]): Promise<string[]> {
  const completed: string[] = [];
  for (const o of outcomes) {
    if (!/^[0-9a-f-]{36}$/.test(o.result.id)) continue;
    const updated = await tx.query<{ id: string }>(
      `UPDATE device_commands SET status = CASE WHEN $4 THEN 'succeeded' ELSE 'failed' END, result = $5::jsonb, error = $6, completed_at = now()
       WHERE id = $1::uuid AND tenant_id = $2 AND device_id = $3 AND status IN ('pending', 'sent') AND expires_at > now()
       RETURNING id`,
      [o.result.id, o.tenantId, o.deviceId, o.result.ok, JSON.stringify(o.result.result ?? null), o.result.error ?? null],
    );
    completed.push(...updated.rows.map((r) => r.id));
  }
  return completed;
}
