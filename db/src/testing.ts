// Test helper: "open a database, migrate, sync the signal catalogue, seed" in one call, on either
// engine, for every package's tests (import from '@clutch/db/testing').
//
// Why here and not in @clutch/test-support: db's own tests use test-support's PostgreSQL server, so
// db references test-support (tsconfig project reference, devDependency) and test-support must not
// reference db back: `tsc -b` would find a cycle. A helper typed against db's own Database and
// migrate() therefore lives in db and imports test-support (the allowed direction). It is a separate
// entry point (package.json "exports"."./testing"), not re-exported from the index, so production
// code importing @clutch/db never loads test-support (and playwright, vitest) with it. It takes the
// PostgreSQL admin URL as a parameter so db needs no vitest inject(): tests pass inject('pgAdminUrl').
import { signalCatalogue } from '@clutch/contracts';
// The side-effect import keeps test-support in testing.d.ts, and with it vitest's typing of
// inject('pgAdminUrl'), for test files that import only this module.
import '@clutch/test-support';
import { createTestDatabase } from '@clutch/test-support';
import { migrate, type DatabaseFeatures } from './migrate/migrate.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';
import { syncSignals } from './signals.js';
import type { Database, DatabaseKind } from './types.js';

export interface TestDatabaseOptions {
  /** PostgreSQL: superuser URL of the server the fresh database is created on (vitest: inject('pgAdminUrl')). */
  adminUrl?: string;
  /** PostgreSQL: prefix of the fresh database's name (default 'test'). */
  name?: string;
  /** PostgreSQL: pool size (openPostgres's default when absent). */
  max?: number;
  /** PGlite: data directory (default in memory). */
  dataDir?: string;
  /** Apply the core migrations (default true; an object passes migrate()'s options); false leaves the database empty. */
  migrate?: boolean | { features?: DatabaseFeatures };
  /** Sync the signal catalogue after migrating (default true). */
  signals?: boolean;
  /** Create the sample partitions from a month back to three months ahead, as the platform does at start (default false). */
  partitions?: boolean;
  /** Runs last, on the migrated database: tenants, vehicles, devices... */
  seed?: (db: Database) => Promise<void>;
}

/** Options of the openers testDatabases() hands out (engine, server and database name are fixed there). */
export type OpenTestDatabaseOptions = Omit<TestDatabaseOptions, 'adminUrl' | 'name'>;
/** Opens a fresh database of one engine, prepared as openTestDatabase does. */
export type OpenTestDatabase = (options?: OpenTestDatabaseOptions) => Promise<Database>;

const urls = new WeakMap<Database, string>();

/** The URL of a PostgreSQL database opened by openTestDatabase (for pg-boss, LISTEN, child processes); undefined for PGlite. */
export function testDatabaseUrl(db: Database): string | undefined {
  return urls.get(db);
}

/**
 * A fresh database: in-memory (or dataDir) PGlite, or a new database on the PostgreSQL server at
 * options.adminUrl; then migrated, the signal catalogue synced, optionally the sample partitions
 * created, and options.seed run. Closed again when any step fails.
 */
export async function openTestDatabase(kind: DatabaseKind, options: TestDatabaseOptions = {}): Promise<Database> {
  let db: Database;
  if (kind === 'pglite') {
    db = await openPglite(options.dataDir);
  } else {
    if (!options.adminUrl)
      throw new Error("openTestDatabase('postgres') needs options.adminUrl (in vitest: inject('pgAdminUrl'))");
    const url = await createTestDatabase(options.adminUrl, options.name);
    db = await openPostgres(url, options.max === undefined ? {} : { max: options.max });
    urls.set(db, url);
  }
  try {
    if (options.migrate !== false) {
      await migrate(db, undefined, options.migrate === true || options.migrate === undefined ? {} : options.migrate);
      if (options.signals !== false) await syncSignals(db, signalCatalogue);
    }
    if (options.partitions)
      await db.query(`SELECT clutch_ensure_sample_partitions(now() - interval '1 month', now() + interval '3 months')`);
    await options.seed?.(db);
    return db;
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

/**
 * The two engines the platform runs on, for `describe.each(testDatabases(inject('pgAdminUrl'), 'name'))`:
 * [label ('PGlite' | 'PostgreSQL'), opener]. Each opener call makes a fresh database; `name`
 * prefixes the PostgreSQL databases of the test file.
 */
export function testDatabases(adminUrl: string, name: string): [string, OpenTestDatabase][] {
  return [
    ['PGlite', (options = {}) => openTestDatabase('pglite', options)],
    ['PostgreSQL', (options = {}) => openTestDatabase('postgres', { ...options, adminUrl, name })],
  ];
}

let refusals = 0;

/**
 * From now on, every transaction that inserts or updates a row of `table` matching `when` (an SQL
 * condition over NEW, e.g. `NEW.id = 'pi-doomed'`) fails at COMMIT, after all of its statements ran,
 * as a commit that fails for real would (a deferred constraint trigger raises). For tests of what a
 * rolled-back use case leaves behind: no row change, no outbox event.
 */
export async function refuseCommits(db: Database, table: string, when: string): Promise<void> {
  const name = `test_refuse_commit_${++refusals}`;
  await db.exec(
    `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION 'commit refused by the test (%)', TG_TABLE_NAME; END $$;
     CREATE CONSTRAINT TRIGGER ${name} AFTER INSERT OR UPDATE ON ${table} DEFERRABLE INITIALLY DEFERRED
       FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION ${name}();`,
  );
}
