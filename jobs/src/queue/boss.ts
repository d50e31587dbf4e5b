import { pgliteOf, type Database } from '@clutch/db';
import { PgBoss, fromPglite, type ConstructorOptions } from 'pg-boss';
import { jobsError } from '../errors.js';

export interface BossConnection {
  db: Database;
  /**
   * PostgreSQL only: the URL the Database was opened with. pg-boss keeps its own small pool (and one
   * LISTEN connection) because it needs multi-statement results and session-pinned LISTEN, which the
   * driver-neutral Database does not expose.
   */
  url?: string | undefined;
  /** Schema pg-boss installs and migrates itself (its tables are its own, outside db/migrations). */
  schema: string;
  /** Connections in pg-boss's pool on PostgreSQL. */
  maxConnections?: number | undefined;
  /**
   * How often expired (lost) jobs are found and retried, in seconds. A job whose worker died is
   * retried at most `expireIn + superviseIntervalSeconds` after it started.
   */
  superviseIntervalSeconds: number;
}

/**
 * A pg-boss instance over either database kind: PGlite through pg-boss's own adapter (a naive
 * executeSql -> query bridge breaks on pg-boss's multi-statement SQL), PostgreSQL through its pool.
 */
export function openBoss(connection: BossConnection): PgBoss {
  const common: ConstructorOptions = {
    schema: connection.schema,
    // Workers of notify-enabled queues wake at the insert's commit instead of their next poll.
    useListenNotify: true,
    superviseIntervalSeconds: connection.superviseIntervalSeconds,
    monitorIntervalSeconds: connection.superviseIntervalSeconds,
    // The cron pass checks every few seconds whether a schedule came due (cron has minute precision).
    cronWorkerIntervalSeconds: 5,
    instanceName: 'clutch',
  };
  if (connection.db.kind === 'pglite') {
    const pglite = pgliteOf(connection.db);
    if (!pglite)
      throw jobsError('JOBS_DRIVER_UNSUPPORTED', { kind: connection.db.kind, reason: 'not opened by openPglite' });
    return new PgBoss({ ...common, db: fromPglite(pglite), backend: 'pglite' });
  }
  if (!connection.url)
    throw jobsError('JOBS_DRIVER_UNSUPPORTED', { kind: connection.db.kind, location: connection.db.location });
  return new PgBoss({
    ...common,
    connectionString: connection.url,
    max: connection.maxConnections ?? 4,
    application_name: 'clutch-jobs',
  });
}
