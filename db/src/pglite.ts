import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { cube } from '@electric-sql/pglite/contrib/cube';
import { earthdistance } from '@electric-sql/pglite/contrib/earthdistance';
import { copyBinaryChunks, type CopyRows } from './copy-binary.js';
import { columnNames, columnTypes, copyStatement, copyTextChunks } from './copy-format.js';
import { enterTenantScope } from './tenant-scope.js';
import type { CopyColumns, Database, Queryable, QueryResult } from './types.js';

function wrap(q: PGlite | Transaction): Queryable {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const result = await q.query<T>(sql, params as unknown[]);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await q.exec(sql);
    },
    // PGlite reads COPY input from its virtual /dev/blob device.
    async copyRows(table: string, columns: CopyColumns, rows: CopyRows): Promise<void> {
      const types = columnTypes(columns);
      const blob = new Blob(types ? [...copyBinaryChunks(rows, types)] : [...copyTextChunks(rows)]);
      await q.query(
        copyStatement(table, columnNames(columns), types ? "'/dev/blob' (FORMAT binary)" : "'/dev/blob'"),
        [],
        { blob },
      );
    },
  };
}

// The instance behind each Database from openPglite: libraries with their own PGlite adapter (pg-boss)
// and in-process LISTEN need it, and the Database interface stays driver-neutral.
const instances = new WeakMap<Database, PGlite>();

/** The PGlite instance behind a Database opened by openPglite; undefined for any other database. */
export function pgliteOf(db: Database): PGlite | undefined {
  return instances.get(db);
}

/**
 * Embedded PostgreSQL (WASM). `dataDir` undefined keeps everything in memory (tests).
 * `loadDataDir`: start from a data directory dumped by `dumpDataDir` (a migrated test template),
 * which skips initdb and the migrations.
 */
export async function openPglite(dataDir?: string, options: { loadDataDir?: Blob } = {}): Promise<Database> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // The contrib extensions the migrations may CREATE (PGlite loads an extension's files only when
  // the instance is created with it): btree_gist for the bookings' exclusion constraints, cube and
  // earthdistance for nearby search where PostGIS is missing.
  const extensions = { btree_gist, cube, earthdistance };
  const pg = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    extensions,
  });
  const root = wrap(pg);
  const db: Database = {
    kind: 'pglite',
    location: dataDir ?? 'memory://',
    query: root.query,
    exec: root.exec,
    copyRows: root.copyRows!,
    transaction(fn) {
      return pg.transaction((tx) => fn(wrap(tx)));
    },
    withTenant(tenantId, fn) {
      return pg.transaction(async (tx) => {
        const scoped = wrap(tx);
        await enterTenantScope(scoped, tenantId);
        return fn(scoped);
      });
    },
    async ping() {
      try {
        await pg.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (!pg.closed) await pg.close();
    },
  };
  instances.set(db, pg);
  return db;
}
