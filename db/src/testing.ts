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
import { detectFeatures, migrate, type DatabaseFeatures } from './migrate/migrate.js';
import { openPglite, pgliteOf } from './pglite.js';
import { openPostgres } from './postgres.js';
import { syncSignals } from './signals.js';
import { prepareStorage } from './storage.js';
import { pgliteTemplate, postgresTemplate, templateKey } from './test-templates.js';
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
  /** Prepare sample storage as the platform does at start (native: partitions from a month back to three ahead; default false). */
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
  const migrateOptions = options.migrate === true || options.migrate === undefined ? {} : options.migrate;
  const signals = options.signals !== false;
  /** Migrates (and syncs the signals of) a fresh database: what a template holds. */
  const prepare = async (db: Database): Promise<void> => {
    if (!migrateOptions) return;
    await migrate(db, undefined, migrateOptions);
    if (signals) await syncSignals(db, signalCatalogue);
  };
  // Migrated databases are copies of one template per content (test-templates.ts); a PGlite in a
  // data directory is made the long way (a test of what is on disk wants the real thing).
  // CLUTCH_TEST_TEMPLATES=0 migrates every database the long way (to time or debug the migrations).
  const key =
    migrateOptions && !options.dataDir && process.env.CLUTCH_TEST_TEMPLATES !== '0'
      ? templateKey({ migrate: migrateOptions, signals, catalogue: signalCatalogue })
      : undefined;
  let db: Database;
  if (kind === 'pglite') {
    const template = key
      ? await pgliteTemplate(key, async () => {
          const fresh = await openPglite();
          try {
            await prepare(fresh);
            return await pgliteOf(fresh)!.dumpDataDir('none');
          } finally {
            await fresh.close();
          }
        })
      : undefined;
    db = await openPglite(options.dataDir, template ? { loadDataDir: template } : {});
  } else {
    const adminUrl = options.adminUrl;
    if (!adminUrl)
      throw new Error("openTestDatabase('postgres') needs options.adminUrl (in vitest: inject('pgAdminUrl'))");
    const template = key
      ? await postgresTemplate(adminUrl, key, async (url) => {
          const fresh = await openPostgres(url, { max: 1 });
          try {
            await prepare(fresh);
          } finally {
            await fresh.close();
          }
        })
      : undefined;
    const url = await createTestDatabase(adminUrl, options.name, template);
    db = await openPostgres(url, options.max === undefined ? {} : { max: options.max });
    urls.set(db, url);
  }
  try {
    if (!key) await prepare(db);
    // As every start path does: the storage-mode decision, then that mode's preparation.
    if (options.partitions) await prepareStorage(db);
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

/**
 * Makes the migrated templates the suite's databases are copied from (test-templates.ts), before any
 * test runs: PGlite with and without the signal catalogue, and PostgreSQL's on the server at
 * adminUrl, so no single test pays for migrating. A failure (a migration being written) is reported
 * and left to the tests that open a database, which then fail on their own.
 */
export async function warmTestTemplates(adminUrl?: string): Promise<void> {
  const opens: Promise<Database>[] = [openTestDatabase('pglite'), openTestDatabase('pglite', { signals: false })];
  if (adminUrl) opens.push(openTestDatabase('postgres', { adminUrl, name: 'warm', max: 1 }));
  const results = await Promise.allSettled(opens);
  for (const r of results) {
    if (r.status === 'fulfilled') await r.value.close();
    else console.warn(`test database templates: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
  }
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

/** Where the TimescaleDB-mode tests run, or why they are skipped. */
export interface TimescaleServer {
  /** Superuser URL of a server with TimescaleDB available and preloaded; undefined when there is none. */
  adminUrl?: string;
  /** Where adminUrl came from, or why there is none (for the skipped test's title). */
  reason: string;
}

/**
 * The server the TimescaleDB-mode tests run on: CLUTCH_TEST_TIMESCALEDB_URL when set, else the test
 * run's own PostgreSQL server when it has the extension available and preloaded (migration 007 would
 * then apply there), else none, with the reason. Debian packages no TimescaleDB, so on a machine
 * set up by .ci/run these tests are skipped unless the variable names a server (docs/storage.md).
 */
export async function findTimescaleServer(pgAdminUrl: string | undefined): Promise<TimescaleServer> {
  const given = process.env.CLUTCH_TEST_TIMESCALEDB_URL?.trim();
  if (given) return { adminUrl: given, reason: 'CLUTCH_TEST_TIMESCALEDB_URL' };
  if (!pgAdminUrl) return { reason: 'no PostgreSQL server in this run and CLUTCH_TEST_TIMESCALEDB_URL unset' };
  const admin = await openPostgres(pgAdminUrl, { max: 1 });
  try {
    if ((await detectFeatures(admin)).timescaledb) return { adminUrl: pgAdminUrl, reason: 'the test server' };
  } finally {
    await admin.close();
  }
  return {
    reason:
      'TimescaleDB is not installed on the test PostgreSQL server (Debian does not package it) and CLUTCH_TEST_TIMESCALEDB_URL is unset',
  };
}

/** Drops databases made by createTestDatabase on the server at adminUrl (WITH FORCE: connections left open are ended). */
export async function dropTestDatabases(adminUrl: string, urls: Iterable<string>): Promise<void> {
  const admin = await openPostgres(adminUrl, { max: 1 });
  try {
    for (const url of urls) {
      const name = decodeURIComponent(new URL(url).pathname.slice(1));
      await admin.exec(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
    }
  } finally {
    await admin.close();
  }
}
