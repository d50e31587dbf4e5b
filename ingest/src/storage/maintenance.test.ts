import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { maintainStorage } from './maintenance.js';

const implementations = testDatabases(inject('pgAdminUrl'), 'maintenance');

describe.each(implementations)('storage lifecycle on %s', (_name, open) => {
  let db: Database;
  const now = new Date();
  const daysAgo = (d: number): string => new Date(now.getTime() - d * 86_400_000).toISOString();

  beforeAll(async () => {
    db = await open();
    await db.query(
      `INSERT INTO tenants (id, name, sample_retention_days) VALUES ('short', 'Short', 7), ('normal', 'Normal', NULL)`,
    );
    for (const tenant of ['short', 'normal']) {
      const v = await db.query<{ id: string }>(
        `INSERT INTO vehicles (tenant_id, name) VALUES ($1, 'car') RETURNING id`,
        [tenant],
      );
      for (const age of [1, 20]) {
        await db.query(
          `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES ($1, $2, $3, 2, 800)`,
          [daysAgo(age), tenant, v.rows[0]!.id],
        );
      }
    }
  });
  afterAll(async () => {
    await db?.close();
  });

  it("creates the coming months' partitions ahead of time", async () => {
    const future = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 5, 1));
    await maintainStorage(db, { defaultSampleDays: 400, rollupFactor: 10, monthsAhead: 6 }, now);
    const name = `samples_${future.getUTCFullYear()}_${String(future.getUTCMonth() + 1).padStart(2, '0')}`;
    const found = await db.query('SELECT 1 FROM pg_class WHERE relname = $1', [name]);
    expect(found.rows).toHaveLength(1);
  });

  it("expires samples per tenant retention and keeps everyone else's", async () => {
    const v = await db.query<{ id: string }>(`SELECT id FROM vehicles WHERE tenant_id = 'short'`);
    await db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES ($1, 'short', $2, 3, 50)`,
      [daysAgo(30), v.rows[0]!.id],
    );
    const report = await maintainStorage(db, { defaultSampleDays: 400, rollupFactor: 10, monthsAhead: 3 }, now);
    expect(report.samplesDeleted).toBe(1);
    const left = await db.query<{ tenant_id: string; n: number }>(
      'SELECT tenant_id, count(*)::int AS n FROM samples GROUP BY 1 ORDER BY 1',
    );
    expect(left.rows).toEqual([
      { tenant_id: 'normal', n: 2 },
      { tenant_id: 'short', n: 1 },
    ]);
  });

  it("drops whole monthly partitions past every tenant's retention", async () => {
    const old = new Date(Date.UTC(now.getUTCFullYear() - 3, 0, 1));
    const name = `samples_${old.getUTCFullYear()}_01`;
    await db.exec(
      `CREATE TABLE ${name} PARTITION OF samples FOR VALUES FROM ('${old.toISOString()}') TO ('${new Date(Date.UTC(old.getUTCFullYear(), 1, 1)).toISOString()}')`,
    );
    const report = await maintainStorage(db, { defaultSampleDays: 400, rollupFactor: 10, monthsAhead: 3 }, now);
    expect(report.partitionsDropped).toEqual([name]);
  });
});
