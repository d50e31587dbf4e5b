import { signalCatalogue } from '@clutch/contracts';
import { migrate, openDatabase, prepareStorage, syncSignals, type Database } from '@clutch/db';
import type { PlatformConfig } from '../config/config.js';

/**
 * The database every part starts from: opened (PostgreSQL at config.databaseUrl, else PGlite in
 * config.dataDir), migrated, the signal catalogue synced and sample storage prepared for its mode
 * (native: the partitions of the coming months; TimescaleDB: nothing, chunks appear as data
 * arrives). Safe from several processes at once (migrations take an advisory lock).
 */
export async function openMigratedDatabase(
  config: Pick<PlatformConfig, 'databaseUrl' | 'dataDir'> & Partial<Pick<PlatformConfig, 'databasePoolSize'>>,
): Promise<Database> {
  const db = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : config.dataDir,
    ...(config.databasePoolSize ? { maxConnections: config.databasePoolSize } : {}),
  });
  try {
    await migrate(db);
    await syncSignals(db, signalCatalogue);
    // The storage-mode decision (native partitions, or TimescaleDB's hypertable) and that mode's
    // preparation, after migrating: migration 007 is what converts a database to TimescaleDB.
    await prepareStorage(db);
    return db;
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

/**
 * The API's own connections: on PostgreSQL a pool of `apiDatabasePoolSize` apart from ingest's, so
 * a burst of requests never queues behind ingest's COPY transactions (nor ingest behind requests);
 * on PGlite, the one embedded database (it has a single connection whatever we do). `close` closes
 * only what this opened.
 */
export async function openApiDatabase(
  db: Database,
  config: Pick<PlatformConfig, 'databaseUrl' | 'apiDatabasePoolSize'>,
): Promise<{ db: Database; close(): Promise<void> }> {
  if (!config.databaseUrl || db.kind !== 'postgres') return { db, close: async () => {} };
  const api = await openDatabase({
    url: config.databaseUrl,
    maxConnections: config.apiDatabasePoolSize,
    preparedStatements: true,
  });
  return { db: api, close: () => api.close() };
}
