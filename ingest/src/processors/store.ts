import type { CopyColumn, Queryable } from '@clutch/db';
import type { SampleRow } from './normalise.js';

export type StoredSample = Pick<SampleRow, 'timeMs' | 'timeIso' | 'tenantId' | 'vehicleId' | 'signalId' | 'value'>;

// Typed, so COPY uses the binary format: the server stores timestamps, uuids and floats as sent.
export const SAMPLE_COPY_COLUMNS: readonly CopyColumn[] = [
  { name: 'time', type: 'timestamptz' }, { name: 'tenant_id', type: 'text' }, { name: 'vehicle_id', type: 'uuid' },
  { name: 'signal_id', type: 'int2' }, { name: 'value', type: 'float8' },
];
const asCopyRows = (rows: readonly StoredSample[]): unknown[][] => rows.map((r) => [r.timeMs, r.tenantId, r.vehicleId, r.signalId, r.value]);

/** Below this many rows the COPY round trips cost more than they save. */
export const COPY_THRESHOLD = 1000;

const UNIQUE_VIOLATION = '23505';

/** The staging rows carry their position in the caller's array, to name a conflicting one. */
const STAGING_COPY_COLUMNS: readonly CopyColumn[] = [...SAMPLE_COPY_COLUMNS, { name: 'ord', type: 'int4' }];

/** A row that repeats a stored (vehicle, signal, time) with a different value: the stored one stays. */
export interface SampleConflict {
  /** Position of the refused row in the rows given to storeSamples. */
  index: number;
  /** The value already stored (the first write). */
  stored: number;
}

/**
 * Fourth processor. Stores rows and returns the ones that were new: a sample already stored (same
 * vehicle, signal and time: a redelivered batch) is skipped, so redelivery never doubles anything.
 * First write wins; a skipped row whose value differs from the stored one (a device contradicting
 * itself) is returned in `conflicts`, so the caller can record it rather than drop it silently.
 *
 * Large batches are COPYed straight into `samples` inside a savepoint: the fast path, as fast as a
 * raw COPY. Only when that hits a duplicate (rare: redelivery) does the savepoint roll back and the
 * rows go through a staging table and INSERT ... ON CONFLICT DO NOTHING RETURNING. Small batches
 * use one INSERT over unnest'ed arrays (fixed parameter count whatever the size). Conflicts are
 * looked for only when some row was skipped, so storing new samples costs nothing extra.
 */
export async function storeSamples(tx: Queryable, rows: readonly SampleRow[]): Promise<{ stored: StoredSample[]; conflicts: SampleConflict[] }> {
  if (rows.length === 0) return { stored: [], conflicts: [] };
  if (tx.copyRows && rows.length >= COPY_THRESHOLD) {
    await tx.query('SAVEPOINT direct_copy');
    try {
      await tx.copyRows('samples', SAMPLE_COPY_COLUMNS, asCopyRows(rows));
      await tx.query('RELEASE SAVEPOINT direct_copy');
      return { stored: [...rows], conflicts: [] };
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
      await tx.query('ROLLBACK TO SAVEPOINT direct_copy');
    }
    await tx.exec(`CREATE TEMP TABLE IF NOT EXISTS samples_staging (
      time timestamptz, tenant_id text, vehicle_id uuid, signal_id smallint, value double precision, ord int
    ) ON COMMIT DELETE ROWS`);
    await tx.copyRows('samples_staging', STAGING_COPY_COLUMNS, rows.map((r, i) => [r.timeMs, r.tenantId, r.vehicleId, r.signalId, r.value, i]));
    const inserted = await tx.query<InsertedRow>(INSERT_RETURNING('SELECT time, tenant_id, vehicle_id, signal_id, value FROM samples_staging'));
    const stored = inserted.rows.map(fromInserted);
    if (stored.length === rows.length) return { stored, conflicts: [] };
    // After the insert, so a repeat inside this very batch is compared with the row that won.
    const conflicts = await tx.query<ConflictRow>(
      `SELECT st.ord, s.value AS stored FROM samples_staging st
         JOIN samples s ON s.vehicle_id = st.vehicle_id AND s.time = st.time AND s.signal_id = st.signal_id
        WHERE s.value <> st.value
        ORDER BY st.ord`,
    );
    return { stored, conflicts: conflicts.rows.map(fromConflict) };
  }
  const times = rows.map((r) => r.timeIso);
  const vehicles = rows.map((r) => r.vehicleId);
  const signals = rows.map((r) => r.signalId);
  const values = rows.map((r) => r.value);
  const inserted = await tx.query<InsertedRow>(
    INSERT_RETURNING('SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::uuid[], $4::smallint[], $5::float8[])'),
    [times, rows.map((r) => r.tenantId), vehicles, signals, values],
  );
  const stored = inserted.rows.map(fromInserted);
  if (stored.length === rows.length) return { stored, conflicts: [] };
  const conflicts = await tx.query<ConflictRow>(
    `SELECT (u.i - 1)::int AS ord, s.value AS stored
       FROM unnest($1::timestamptz[], $2::uuid[], $3::smallint[], $4::float8[]) WITH ORDINALITY AS u(time, vehicle_id, signal_id, value, i)
       JOIN samples s ON s.vehicle_id = u.vehicle_id AND s.time = u.time AND s.signal_id = u.signal_id
      WHERE s.value <> u.value
      ORDER BY u.i`,
    [times, vehicles, signals, values],
  );
  return { stored, conflicts: conflicts.rows.map(fromConflict) };
}

interface InsertedRow {
  time: Date | string;
  tenant_id: string;
  vehicle_id: string;
  signal_id: number;
  value: number;
}

interface ConflictRow {
  ord: number;
  stored: number;
}

const fromConflict = (r: ConflictRow): SampleConflict => ({ index: Number(r.ord), stored: Number(r.stored) });

const INSERT_RETURNING = (source: string): string => `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
  ${source}
  ON CONFLICT (vehicle_id, time, signal_id) DO NOTHING
  RETURNING time, tenant_id, vehicle_id, signal_id, value`;

const fromInserted = (r: InsertedRow): StoredSample => {
  const time = r.time instanceof Date ? r.time : new Date(r.time);
  return { timeMs: time.getTime(), timeIso: time.toISOString(), tenantId: r.tenant_id, vehicleId: r.vehicle_id, signalId: Number(r.signal_id), value: Number(r.value) };
};

/**
 * Fifth processor: marks the (vehicle, minute) of every newly stored sample, in the samples'
 * transaction, as held by `worker` (whose in-memory sums rollups/partials.ts will write) or, with
 * worker '', as to be recomputed from the samples (rollups/refresh.ts).
 * One small row per vehicle-minute instead of one rollup upsert per vehicle-signal-minute keeps the
 * ingest transaction close to the cost of its COPY.
 */
export async function markRollupsDirty(tx: Queryable, stored: readonly StoredSample[], worker = ''): Promise<void> {
  if (stored.length === 0) return;
  const minutes = new Map<string, Set<number>>();
  let lastVehicle = '';
  let set: Set<number> | undefined;
  for (const s of stored) {
    if (s.vehicleId !== lastVehicle || !set) {
      lastVehicle = s.vehicleId;
      set = minutes.get(lastVehicle);
      if (!set) minutes.set(lastVehicle, (set = new Set()));
    }
    set.add(s.timeMs - (s.timeMs % 60_000));
  }
  const vehicles: string[] = [];
  const starts: string[] = [];
  for (const vehicle of [...minutes.keys()].sort()) {
    for (const minute of [...minutes.get(vehicle)!].sort((a, b) => a - b)) {
      vehicles.push(vehicle);
      starts.push(new Date(minute).toISOString());
    }
  }
  // DO UPDATE (of nothing) rather than DO NOTHING: the row stays locked until this transaction
  // commits, so a recompute of the minute waits for these samples (rollups/refresh.ts).
  await tx.query(
    `INSERT INTO rollup_dirty (vehicle_id, minute, worker) SELECT v, m, $3 FROM unnest($1::uuid[], $2::timestamptz[]) AS u(v, m)
     ON CONFLICT (vehicle_id, minute, worker) DO UPDATE SET worker = excluded.worker`,
    [vehicles, starts, worker],
  );
}

export interface DeviceProgress {
  tenantId: string;
  deviceId: string;
  seq: number | null;
  seenAt: Date;
}

/**
 * Folds updates into one entry per device (keyed tenant and device) holding the newest contact time
 * and the highest seq: progress only ever moves forward. Returns `into`.
 */
export function coalesceProgress(into: Map<string, DeviceProgress>, updates: Iterable<DeviceProgress>): Map<string, DeviceProgress> {
  for (const u of updates) {
    const key = `${u.tenantId}/${u.deviceId}`;
    const seen = into.get(key);
    if (!seen) into.set(key, { ...u });
    else {
      if (u.seenAt > seen.seenAt) seen.seenAt = u.seenAt;
      if (u.seq !== null && (seen.seq === null || u.seq > seen.seq)) seen.seq = u.seq;
    }
  }
  return into;
}

/** Records the newest seq and contact time per device (presence and gap detection): one statement per batch. */
export async function touchDevices(tx: Queryable, updates: readonly DeviceProgress[]): Promise<void> {
  if (updates.length === 0) return;
  const rows = [...coalesceProgress(new Map(), updates).values()].sort((a, b) => (a.tenantId + a.deviceId < b.tenantId + b.deviceId ? -1 : 1)); // one lock order
  await tx.query(
    `UPDATE devices d SET last_seen_at = GREATEST(coalesce(d.last_seen_at, u.seen_at), u.seen_at),
       last_seq = CASE WHEN u.seq IS NULL THEN d.last_seq ELSE GREATEST(coalesce(d.last_seq, u.seq), u.seq) END
     FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[]) AS u(tenant_id, device_id, seen_at, seq)
     WHERE d.tenant_id = u.tenant_id AND d.id = u.device_id`,
    [rows.map((r) => r.tenantId), rows.map((r) => r.deviceId), rows.map((r) => r.seenAt.toISOString()), rows.map((r) => r.seq)],
  );
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

/** Trouble-code reports, one row per code plus one per report; a re-sent report is not stored twice. */
export async function storeDtcReports(tx: Queryable, rows: readonly DtcRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO dtc_reports (vehicle_id, time, tenant_id, code_count)
     SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int[]) ON CONFLICT DO NOTHING`,
    [rows.map((r) => r.vehicleId), rows.map((r) => new Date(r.report.t).toISOString()), rows.map((r) => r.tenantId), rows.map((r) => r.report.codes.length)],
  );
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
      [o.result.id, o.tenantId, o.deviceId, o.result.ok, JSON.stringify(o.result.result ?? null), o.result.error ? `${o.result.error.code}: ${o.result.error.message}` : null],
    );
    completed.push(...updated.rows.map((r) => r.id));
  }
  return completed;
}
