import type { CopyColumn, Queryable } from '@clutch/db';
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
const asCopyRows = (rows: readonly StoredSample[]): unknown[][] =>
  rows.map((r) => [r.timeMs, r.tenantId, r.vehicleId, r.signalId, r.value]);

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
 * Stores rows and returns the ones that were new: a sample already stored (same
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
export async function storeSamples(
  tx: Queryable,
  rows: readonly SampleRow[],
): Promise<{ stored: StoredSample[]; conflicts: SampleConflict[] }> {
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
