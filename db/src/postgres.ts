import { createHash } from 'node:crypto';
import pg from 'pg';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import { copyBinaryChunks, type CopyRows } from './copy-binary.js';
import { columnNames, columnTypes, copyStatement, copyTextChunks } from './copy-format.js';
import { tenantScopeStatement } from './tenant-scope.js';
import type { CopyColumns, Database, Queryable, QueryResult } from './types.js';

// Keep timestamptz as Date, bigint (int8) as string by default; numeric aggregates we cast in SQL.
async function copyInto(client: pg.PoolClient, table: string, columns: CopyColumns, rows: CopyRows): Promise<void> {
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

/** Gives a parameterised statement a name to prepare it under, or undefined to send it unnamed. */
type StatementNamer = (sql: string) => string | undefined;

/**
 * Named prepared statements for at most `limit` distinct texts: each connection parses and plans
 * such a statement once, then only binds and executes it. Short queries under row-level security
 * spend more in the planner (policies, their init plans) than in execution, and the API runs the
 * same few dozen texts all day. The bound keeps generated SQL from piling up prepared statements on
 * every connection; texts past it are sent unnamed, as before.
 */
function preparedNames(limit: number): StatementNamer {
  const names = new Map<string, string>();
  return (sql) => {
    let name = names.get(sql);
    if (name === undefined && names.size < limit) {
      name = `clutch_${createHash('sha1').update(sql).digest('base64url')}`;
      names.set(sql, name);
    }
    return name;
  };
}

function wrap(client: pg.Pool | pg.PoolClient, nameOf?: StatementNamer): Queryable {
  const copy =
    'release' in client
      ? {
          copyRows: (table: string, columns: CopyColumns, rows: CopyRows) => copyInto(client, table, columns, rows),
        }
      : {};
  return {
    ...copy,
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const name = params.length > 0 ? nameOf?.(sql) : undefined;
      const result = await (name === undefined
        ? client.query(sql, params as unknown[])
        : client.query({ name, text: sql, values: params as unknown[] }));
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

export interface PostgresOptions {
  /** Pool size (default 10). */
  max?: number;
  /**
   * Send parameterised statements as named prepared statements (see preparedNames). For a pool
   * that runs a fixed set of texts, such as the API's; not for one that runs schema changes, which
   * can invalidate a prepared `SELECT *`.
   */
  preparedStatements?: boolean;
}

export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  // A dropped idle connection (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const nameOf = options.preparedStatements ? preparedNames(500) : undefined;
  const root = wrap(pool, nameOf);

  async function transaction<T>(fn: (tx: Queryable) => Promise<T>, tenantId?: string): Promise<T> {
    const client = await pool.connect();
    try {
      // A tenant's transaction opens in one round trip: BEGIN and the scope in one simple-protocol message.
      await client.query(tenantId === undefined ? 'BEGIN' : `BEGIN; ${tenantScopeStatement(tenantId)}`);
      const tx = wrap(client, nameOf);
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
