import { signalCatalogue } from '@clutch/contracts';
import { migrate, openDatabase, syncSignals, type Database } from '@clutch/db';
import type { PlatformConfig } from '../config/config.js';

/**
 * The database every part starts from: opened (PostgreSQL at config.databaseUrl, else PGlite in
 * config.dataDir), migrated, the signal catalogue synced and the sample partitions of the coming
 * months created. Safe from several processes at once (migrations take an advisory lock).
 */
export async function openMigratedDatabase(config: Pick<PlatformConfig, 'databaseUrl' | 'dataDir'>): Promise<Database> {
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : config.dataDir });
  try {
    await migrate(db);
    await syncSignals(db, signalCatalogue);
    await db.query(`SELECT clutch_ensure_sample_partitions(now() - interval '1 month', now() + interval '3 months')`);
    return db;
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}
