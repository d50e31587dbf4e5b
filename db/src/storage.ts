import type { Database } from './types.js';

/**
 * How this database stores samples: a TimescaleDB hypertable whose rollups are continuous aggregates
 * (migration 007), or native monthly partitions whose rollups ingest maintains.
 */
export type StorageMode = 'timescaledb' | 'native';

export async function storageMode(db: Database): Promise<StorageMode> {
  if (db.kind === 'pglite') return 'native';
  const ext = await db.query<{ installed: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS installed`,
  );
  if (!ext.rows[0]!.installed) return 'native';
  const hyper = await db.query<{ yes: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_schema = 'public' AND hypertable_name = 'samples') AS yes`,
  );
  return hyper.rows[0]!.yes ? 'timescaledb' : 'native';
}
