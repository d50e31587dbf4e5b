import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { markRollupsDirty } from './marks.js';

// A car re-marks its minute with every batch. The mark must stay locked until the samples' commit
// (a recompute waits for them, refresh.ts) without a new row version per batch. Two connections at
// once: PostgreSQL only (PGlite has one).
const [, openPostgres] = testDatabases(inject('pgAdminUrl'), 'ingest_marks').find(([name]) => name === 'PostgreSQL')!;

describe('rollup marks on PostgreSQL', () => {
  let db: Database;
  const vehicleId = randomUUID();
  const minute = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const sample = { timeMs: minute + 1500, timeIso: '', tenantId: 'acme', vehicleId, signalId: 1, value: 1 };
  const version = async (): Promise<string> =>
    (
      await db.query<{ v: string }>(
        `SELECT ctid::text AS v FROM rollup_dirty WHERE vehicle_id = $1 AND worker = 'w1'`,
        [vehicleId],
      )
    ).rows[0]!.v;
  const lockNow = (): Promise<unknown> =>
    db.query(`SELECT 1 FROM rollup_dirty WHERE vehicle_id = $1 FOR UPDATE NOWAIT`, [vehicleId]);

  beforeAll(async () => {
    db = await openPostgres({ max: 3 });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('locks an existing mark until the marking transaction commits, without rewriting it', async () => {
    await db.transaction((tx) => markRollupsDirty(tx, [sample], 'w1'));
    const before = await version();
    await db.transaction(async (tx) => {
      await markRollupsDirty(tx, [{ ...sample, timeMs: minute + 2500 }], 'w1');
      // Another session (a recompute) cannot take the mark while these samples are uncommitted.
      await expect(lockNow()).rejects.toMatchObject({ code: '55P03' });
    });
    await expect(lockNow()).resolves.toBeDefined();
    expect(await version()).toBe(before); // locked, not updated: no dead version per batch
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM rollup_dirty WHERE vehicle_id = $1`,
      [vehicleId],
    );
    expect(rows[0]!.n).toBe(1);
  });
});
