import type { CopyColumn, CopyRowSource, Queryable, StorageMode } from '@clutch/db';
import type { SampleRow } from '../processors/normalise.js';

// Owner of `samples`: ingest's only writer of readings (storage/maintenance.ts deletes by retention).

export type StoredSample = Pick<SampleRow, 'timeMs' | 'timeIso' | 'tenantId' | 'vehicleId' | 'signalId' | 'value'>;

// Typed, so COPY uses the binary format: the server stores timestamps, uuids and floats as sent.
export const SAMPLE_COPY_COLUMNS: readonly CopyColumn[] = [
  { name: 'time', type: 'timestamptz' },
  { name: 'tenant_id', type: 'text' },
  { name: 'vehicle_id', type: 'uuid' },
  { name: 'signal_id', type: 'int2' },
  { name: 'value', type: 'float8' },
];
/** The rows as SAMPLE_COPY_COLUMNS, read straight from the row objects (no array per row). */
function asCopyRows(rows: readonly StoredSample[]): CopyRowSource {
  return {
    length: rows.length,
    read(i, into) {
      const r = rows[i]!;
      into[0] = r.timeMs;
      into[1] = r.tenantId;
      into[2] = r.vehicleId;
      into[3] = r.signalId;
      into[4] = r.value;
      return into;
    },
  };
}

/** Below this many rows the COPY round trips cost more than they save. */
export const COPY_THRESHOLD = 1000;

/**
 * Where the fast path COPYs (db/src storageMode): `native` storage has monthly partitions
 * (`samples_YYYY_MM`, migration 001's clutch_ensure_sample_partitions); `timescaledb` has one
 * hypertable, without row-level security (migration 007), COPYed into as a whole.
 */
export type SampleStorage = StorageMode;

const UNIQUE_VIOLATION = '23505';
/** The fast path's guess of the partition missed: none for that month (TimescaleDB, a month not prepared) ... */
const UNDEFINED_TABLE = '42P01';
/** ... or one whose bounds are not that UTC month (made under another server time zone). */
const CHECK_VIOLATION = '23514';
/** Why the direct COPY may fail and the rows still be stored, through the parent and its policies. */
const FALL_BACK_ON = new Set([UNIQUE_VIOLATION, UNDEFINED_TABLE, CHECK_VIOLATION]);

/** The staging rows carry their position in the caller's array, to name a conflicting one. */
const STAGING_COPY_COLUMNS: readonly CopyColumn[] = [...SAMPLE_COPY_COLUMNS, { name: 'ord', type: 'int4' }];

/** A row that repeats a stored (vehicle, signal, time) with a different value: the stored one stays. */
export interface SampleConflict {
  /** Position of the refused row in the rows given to storeSamples. */
  index: number;
  /** The value already stored (the first write). */
  stored: number;
}

/** The name migration 001 gives the partition of a UTC month (`samples_2026_12`). */
export function monthPartition(timeMs: number): string {
  const d = new Date(timeMs);
  const month = d.getUTCMonth() + 1;
  return `samples_${d.getUTCFullYear()}_${month < 10 ? '0' : ''}${month}`;
}

/**
 * The rows by the monthly partition that holds them, in order within each. A batch nearly always
 * falls in one month: then the rows are given back as they are, after one comparison per row.
 */
export function byMonthPartition<T extends { timeMs: number }>(rows: readonly T[]): Map<string, readonly T[]> {
  const first = new Date(rows[0]!.timeMs);
  const from = Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), 1);
  const to = Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 1);
  let i = 0;
  while (i < rows.length && rows[i]!.timeMs >= from && rows[i]!.timeMs < to) i++;
  if (i === rows.length) return new Map([[monthPartition(from), rows]]);
  const months = new Map<string, T[]>();
  for (const r of rows) {
    const name = monthPartition(r.timeMs);
    const list = months.get(name);
    if (list) list.push(r);
    else months.set(name, [r]);
  }
  return months;
}

/**
 * The fast path: one binary COPY per month into its partition (native storage) or into the
 * hypertable (TimescaleDB). Not into the partitioned `samples` itself: its row-level security is
 * forced (migration 049), and PostgreSQL refuses COPY FROM into a table whose row-level security
 * applies to the copying role. A partition has none of its own: the parent's policies guard reads
 * (through the parent; clutch_app has no privilege on a partition), and this process writes as the
 * platform's system access, which `system_access` lets write any tenant's rows anyway.
 */
async function copyDirect(tx: Queryable, rows: readonly StoredSample[], storage: SampleStorage): Promise<void> {
  if (storage === 'timescaledb') return tx.copyRows!('samples', SAMPLE_COPY_COLUMNS, asCopyRows(rows));
  for (const [partition, monthRows] of byMonthPartition(rows))
    await tx.copyRows!(partition, SAMPLE_COPY_COLUMNS, asCopyRows(monthRows));
}

/**
 * Stores rows and returns the ones that were new: a sample already stored (same
 * vehicle, signal and time: a redelivered batch) is skipped, so redelivery never doubles anything.
 * First write wins; a skipped row whose value differs from the stored one (a device contradicting
 * itself) is returned in `conflicts`, so the caller can record it rather than drop it silently.
 *
 * Large batches are COPYed straight into their month's partition inside a savepoint (copyDirect):
 * the fast path, as fast as a raw COPY. Only when that hits a duplicate (rare: redelivery) or misses
 * the partition does the savepoint roll back and the rows go through a staging table and INSERT
 * INTO samples ... ON CONFLICT DO NOTHING RETURNING, under the parent's policies. Small batches
 * use one INSERT over unnest'ed arrays (fixed parameter count whatever the size). Conflicts are
 * looked for only when some row was skipped, so storing new samples costs nothing extra.
 */
export async function storeSamples(
  tx: Queryable,
  rows: readonly SampleRow[],
  storage: SampleStorage = 'native',
): Promise<{ stored: StoredSample[]; conflicts: SampleConflict[] }> {
  if (rows.length === 0) return { stored: [], conflicts: [] };
  if (tx.copyRows && rows.length >= COPY_THRESHOLD) {
    await tx.query('SAVEPOINT direct_copy');
    try {
      await copyDirect(tx, rows, storage);
      await tx.query('RELEASE SAVEPOINT direct_copy');
      return { stored: [...rows], conflicts: [] };
    } catch (err) {
      if (!FALL_BACK_ON.has((err as { code?: string }).code ?? '')) throw err;
      await tx.query('ROLLBACK TO SAVEPOINT direct_copy');
    }
    await tx.exec(`CREATE TEMP TABLE IF NOT EXISTS samples_staging (
      time timestamptz, tenant_id text, vehicle_id uuid, signal_id smallint, value double precision, ord int
    ) ON COMMIT DELETE ROWS`);
    await tx.copyRows(
      'samples_staging',
      STAGING_COPY_COLUMNS,
      rows.map((r, i) => [r.timeMs, r.tenantId, r.vehicleId, r.signalId, r.value, i]),
    );
    const inserted = await tx.query<InsertedRow>(
      INSERT_RETURNING('SELECT time, tenant_id, vehicle_id, signal_id, value FROM samples_staging'),
    );
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

const INSERT_RETURNING = (
  source: string,
): string => `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
  ${source}
  ON CONFLICT (vehicle_id, time, signal_id) DO NOTHING
  RETURNING time, tenant_id, vehicle_id, signal_id, value`;

const fromInserted = (r: InsertedRow): StoredSample => {
  const time = r.time instanceof Date ? r.time : new Date(r.time);
  return {
    timeMs: time.getTime(),
    timeIso: time.toISOString(),
    tenantId: r.tenant_id,
    vehicleId: r.vehicle_id,
    signalId: Number(r.signal_id),
    value: Number(r.value),
  };
};
