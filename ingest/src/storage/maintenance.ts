import { storageMode, type Database, type StorageMode } from '@clutch/db';

export interface RetentionPolicy {
  /** Raw samples older than this are deleted for tenants without their own setting. */
  defaultSampleDays: number;
  /** Rollups outlive raw samples by this factor (they are what long-range charts read). */
  rollupFactor: number;
  /** Monthly sample partitions prepared ahead of time. */
  monthsAhead: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { defaultSampleDays: 400, rollupFactor: 10, monthsAhead: 3 };

export interface MaintenanceReport {
  partitionsCreated: number;
  partitionsDropped: string[];
  samplesDeleted: number;
  rollupsDeleted: number;
}

/**
 * Storage lifecycle. Native partitioning (PGlite, plain PostgreSQL): creates the coming months'
 * partitions before data needs them, drops whole monthly partitions that every tenant's retention
 * has passed (instant, no vacuum debt). TimescaleDB: creates nothing (chunks appear as data
 * arrives) and drops whole chunks of samples and of the continuous aggregates instead. Both then
 * delete the remaining expired rows of tenants with a shorter retention than the longest. Safe to
 * run from several workers at once.
 */
export async function maintainStorage(
  db: Database,
  policy: RetentionPolicy = DEFAULT_RETENTION,
  now = new Date(),
  mode?: StorageMode,
): Promise<MaintenanceReport> {
  const storage = mode ?? (await storageMode(db));
  // The longest retention any tenant asked for bounds what may go wholesale.
  const longest = await db.query<{ days: number }>(
    `SELECT greatest($1::int, coalesce(max(sample_retention_days), 0))::int AS days FROM tenants`,
    [policy.defaultSampleDays],
  );
  const keepFrom = new Date(now.getTime() - longest.rows[0]!.days * 86_400_000);
  const report =
    storage === 'timescaledb'
      ? await dropChunks(
          db,
          keepFrom,
          new Date(now.getTime() - longest.rows[0]!.days * policy.rollupFactor * 86_400_000),
        )
      : await rotatePartitions(db, policy, now, keepFrom);
  report.samplesDeleted = await deleteExpiredSamples(db, policy, now);
  // Continuous aggregates refuse row deletes: there, rollups go by whole chunks only.
  if (storage === 'native') report.rollupsDeleted = await deleteExpiredRollups(db, policy, now);
  return report;
}

async function dropChunks(db: Database, keepSamplesFrom: Date, keepRollupsFrom: Date): Promise<MaintenanceReport> {
  const dropped: string[] = [];
  for (const [relation, olderThan] of [
    ['samples', keepSamplesFrom],
    ['sample_rollups_1m', keepRollupsFrom],
    ['sample_rollups_1h', keepRollupsFrom],
  ] as const) {
    const { rows } = await db.query<{ chunk: string }>(
      `SELECT drop_chunks($1::regclass, older_than => $2::timestamptz)::text AS chunk`,
      [relation, olderThan.toISOString()],
    );
    dropped.push(...rows.map((r) => r.chunk));
  }
  return { partitionsCreated: 0, partitionsDropped: dropped, samplesDeleted: 0, rollupsDeleted: 0 };
}

async function rotatePartitions(
  db: Database,
  policy: RetentionPolicy,
  now: Date,
  keepFrom: Date,
): Promise<MaintenanceReport> {
  const report: MaintenanceReport = {
    partitionsCreated: 0,
    partitionsDropped: [],
    samplesDeleted: 0,
    rollupsDeleted: 0,
  };
  const created = await db.query<{ n: number }>(
    `SELECT clutch_ensure_sample_partitions($1::timestamptz - interval '1 month', $1::timestamptz + make_interval(months => $2)) AS n`,
    [now.toISOString(), policy.monthsAhead],
  );
  report.partitionsCreated = Number(created.rows[0]!.n);
  const partitions = await db.query<{ name: string; upper: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS upper
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'samples'::regclass AND c.relname ~ '^samples_[0-9]{4}_[0-9]{2}$'`,
  );
  for (const p of partitions.rows) {
    const [, year, month] = /^samples_(\d{4})_(\d{2})$/.exec(p.name)!;
    const end = new Date(Date.UTC(Number(year), Number(month), 1)); // first instant after the partition
    if (end <= keepFrom) {
      await db.exec(`DROP TABLE IF EXISTS ${p.name}`);
      report.partitionsDropped.push(p.name);
    }
  }
  return report;
}

/** Row-level expiry for tenants that keep less than the longest retention (and the default itself). */
async function deleteExpiredSamples(db: Database, policy: RetentionPolicy, now: Date): Promise<number> {
  const deleted = await db.query<{ n: number }>(
    `WITH expired AS (
       DELETE FROM samples s USING tenants t
       WHERE s.tenant_id = t.id AND s.time < $1::timestamptz - make_interval(days => coalesce(t.sample_retention_days, $2))
       RETURNING 1)
     SELECT count(*)::int AS n FROM expired`,
    [now.toISOString(), policy.defaultSampleDays],
  );
  return deleted.rows[0]!.n;
}

async function deleteExpiredRollups(db: Database, policy: RetentionPolicy, now: Date): Promise<number> {
  const rollups = await db.query<{ n: number }>(
    `WITH expired AS (
       DELETE FROM sample_rollups_1m r USING tenants t
       WHERE r.tenant_id = t.id AND r.bucket < $1::timestamptz - make_interval(days => coalesce(t.sample_retention_days, $2) * $3)
       RETURNING 1)
     SELECT count(*)::int AS n FROM expired`,
    [now.toISOString(), policy.defaultSampleDays, policy.rollupFactor],
  );
  return rollups.rows[0]!.n;
}
