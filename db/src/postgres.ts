import pg from 'pg';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import { copyBinaryChunks } from './copy-binary.js';
import { columnNames, columnTypes, copyStatement, copyTextChunks } from './copy-format.js';
import { enterTenantScope } from './tenant-scope.js';
import type { CopyColumns, Database, Queryable, QueryResult } from './types.js';

// Keep timestamptz as Date, bigint (int8) as string by default; numeric aggregates we cast in SQL.
async function copyInto(
  client: pg.PoolClient,
  table: string,
  columns: CopyColumns,
  rows: readonly (readonly unknown[])[],
): Promise<void> {
  const types = columnTypes(columns);
  if (types) {
    // Encode before starting COPY: a value the encoder refuses must fail before the server sees any row.
    const chunks = [...copyBinaryChunks(rows, types)];
    const sink = client.query(copyStreams.from(copyStatement(table, columnNames(columns), 'STDIN (FORMAT binary)')));
    await pipeline(Readable.from(chunks), sink);
    return;
  }
  const sink = client.query(copyStreams.from(copyStatement(table, columnNames(columns), 'STDIN')));
  await pipeline(Readable.from(copyTextChunks(rows)), sink);
}

function wrap(client: pg.Pool | pg.PoolClient): Queryable {
  const copy =
    'release' in client
      ? {
          copyRows: (table: string, columns: CopyColumns, rows: readonly (readonly unknown[])[]) =>
            copyInto(client, table, columns, rows),
        }
      : {};
  return {
    ...copy,
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const result = await client.query(sql, params as unknown[]);
      return { rows: result.rows as T[], rowCount: result.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      await client.query(sql);
    },
  };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable url)';
  }
}

export async function openPostgres(url: string, options: { max?: number } = {}): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  // A dropped idle connection (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const root = wrap(pool);

  async function transaction<T>(fn: (tx: Queryable) => Promise<T>, tenantId?: string): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const tx = wrap(client);
      if (tenantId !== undefined) await enterTenantScope(tx, tenantId);
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  return {
    kind: 'postgres',
    location: redact(url),
    query: root.query,
    exec: root.exec,
    transaction: (fn) => transaction(fn),
    withTenant: (tenantId, fn) => transaction(fn, tenantId),
    async copyRows(table, columns, rows) {
      const client = await pool.connect();
      try {
        await copyInto(client, table, columns, rows);
      } finally {
        client.release();
      }
    },
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await pool.end();
    },
  };
}
