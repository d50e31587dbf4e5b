import type { Database, Queryable } from './types.js';

/**
 * How this database stores samples: a TimescaleDB hypertable whose rollups are continuous aggregates
 * (migration 007), or native monthly partitions whose rollups ingest maintains.
 */
export type StorageMode = 'timescaledb' | 'native';

/**
 * The one storage-mode decision, read from the database itself (after migrating: migration 007 is
 * what turns a database with the extension into TimescaleDB storage). Every start path and role goes
 * through it, via prepareStorage(), and ingest's maintenance and rollups follow it.
 */
export async function storageMode(db: Database): Promise<StorageMode> {
  if (db.kind === 'pglite') return 'native';
  const ext = await db.query<{ installed: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS installed`,
  );
  // The extension alone is not the mode: a DBA may create it before the first start, and until
  // migration 007 has converted `samples` it is still the native partitioned table.
  if (!ext.rows[0]!.installed) return 'native';
  const hyper = await db.query<{ yes: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_schema = 'public' AND hypertable_name = 'samples') AS yes`,
  );
  return hyper.rows[0]!.yes ? 'timescaledb' : 'native';
}

/** Native partitions are created this far back and ahead at every start (maintenance keeps them ahead). */
export const START_PARTITIONS = { monthsBack: 1, monthsAhead: 3 } as const;

/**
 * What a start does to each mode's storage before anything writes a sample. Native: the monthly
 * partitions around now (a sample of a month without one would land in the default partition).
 * TimescaleDB: nothing; chunks appear as data arrives, and migration 007 dropped the partition
 * function, so calling it there is what kept the platform from starting (issue 18 §6).
 */
export const storageAtStart: Readonly<Record<StorageMode, (db: Queryable) => Promise<void>>> = {
  native: async (db) => {
    await ensureSamplePartitions(db, START_PARTITIONS.monthsBack, START_PARTITIONS.monthsAhead);
  },
  timescaledb: async () => {},
};

/** Creates the missing monthly sample partitions from `monthsBack` before now to `monthsAhead` after; native storage only. */
export async function ensureSamplePartitions(db: Queryable, monthsBack: number, monthsAhead: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT clutch_ensure_sample_partitions(now() - make_interval(months => $1), now() + make_interval(months => $2)) AS n`,
    [monthsBack, monthsAhead],
  );
  return Number(rows[0]!.n);
}

/**
 * Every start path and role (the one-process platform, the scaled-out roles, the admin CLI) calls
 * this after migrating: decides the storage mode from the database and prepares that mode's storage.
 */
export async function prepareStorage(db: Database): Promise<StorageMode> {
  const mode = await storageMode(db);
  await storageAtStart[mode](db);
  return mode;
}
