// The storage-mode decision and what a start does in each mode. TimescaleDB itself is not packaged
// by Debian, so the decision's TimescaleDB answer is tested where a server has it
// (platform/src/storage-mode.e2e.test.ts, ingest/src/storage/timescaledb.test.ts); here, on both
// engines, the native answer and the dispatch that keeps a TimescaleDB start away from partitions.
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Database } from './index.js';
import { prepareStorage, storageAtStart, storageMode } from './storage.js';
import { testDatabases } from './testing.js';

const partitionCount = async (db: Database): Promise<number> =>
  (
    await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'samples'`,
    )
  ).rows[0]!.n;

const monthPartition = (monthsFromNow: number): string => {
  const now = new Date();
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + monthsFromNow, 1));
  return `samples_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
};

describe.each(testDatabases(inject('pgAdminUrl'), 'storage_mode'))('storage mode on %s', (_name, open) => {
  let db: Database | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('decides native storage where TimescaleDB is absent, and a start prepares the months around now', async () => {
    db = await open();
    await db.exec(`DROP TABLE IF EXISTS ${monthPartition(3)}`);
    expect(await storageMode(db)).toBe('native');
    expect(await prepareStorage(db)).toBe('native');
    const found = await db.query(`SELECT 1 FROM pg_class WHERE relname = $1`, [monthPartition(3)]);
    expect(found.rows).toHaveLength(1);
  });

  it('starts TimescaleDB storage without the partition function migration 007 drops, and creates nothing', async () => {
    db = await open();
    // What migration 007 leaves of native storage's start: no clutch_ensure_sample_partitions.
    await db.exec(`DROP FUNCTION clutch_ensure_sample_partitions(timestamptz, timestamptz)`);
    const before = await partitionCount(db);
    await expect(storageAtStart.timescaledb(db)).resolves.toBeUndefined();
    expect(await partitionCount(db)).toBe(before);
    // The native step there is what stopped every TimescaleDB start (issue 18 §6).
    await expect(storageAtStart.native(db)).rejects.toThrow(/clutch_ensure_sample_partitions.*does not exist/);
  });
});
