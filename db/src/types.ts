import type { CopyColumn, CopyRows } from './copy-binary.js';

/** Column names (text format) or names with types (binary format where the database supports it). */
export type CopyColumns = readonly string[] | readonly CopyColumn[];

export interface QueryResult<T> {
  rows: T[];
  /** Rows changed by INSERT/UPDATE/DELETE (0 for SELECT on some drivers). */
  rowCount: number;
}

/** Anything that runs parameterised SQL: the database itself or an open transaction. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Bulk-loads rows into table(columns) with COPY (FROM STDIN on PostgreSQL, FROM '/dev/blob' on
   * PGlite). Columns given with their types use the binary format on PostgreSQL (about half the
   * server's work for timestamps, uuids and floats); plain names use the text format. Inside a
   * transaction it is part of it. `rows` are arrays of values, or a CopyRowSource reading them.
   */
  copyRows?(table: string, columns: CopyColumns, rows: CopyRows): Promise<void>;
}

export type DatabaseKind = 'pglite' | 'postgres';

export interface Database extends Queryable {
  readonly kind: DatabaseKind;
  /** A human-readable location (data directory or URL without password). */
  readonly location: string;
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs fn in a transaction as the unprivileged `clutch_app` role with `app.tenant_id` set, so
   * row-level security limits every tenant-owned table to that tenant.
   */
  withTenant<T>(tenantId: string, fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
