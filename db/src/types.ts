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
   * Bulk-loads rows into table(columns) with COPY FROM STDIN (PostgreSQL only; absent on PGlite,
   * where a multi-row INSERT is the fast path). Inside a transaction it is part of it.
   */
  copyRows?(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void>;
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
