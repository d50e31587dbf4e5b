import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CORE_MIGRATIONS_DIR, migrate, type Database } from '../index.js';
import { testDatabases } from '../testing.js';

const implementations = testDatabases(inject('pgAdminUrl'), 'samples_key');

/** Migration 009 re-keys samples that are already stored: none may be lost, doubled or changed. */
describe.each(implementations)('re-keying stored samples (migration 009) on %s', (_name, open) => {
  let db: Database;
  let before: string;
  let vehicle: string;

  beforeAll(async () => {
    db = await open({ migrate: false });
    // The schema as it stood before 009, with samples in it.
    before = mkdtempSync(join(tmpdir(), 'clutch-before-009-'));
    for (const name of readdirSync(CORE_MIGRATIONS_DIR).filter((n) => /^00[1-8]_/.test(n)))
      copyFileSync(join(CORE_MIGRATIONS_DIR, name), join(before, name));
    await migrate(db, before);
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')`);
    vehicle = (
      await db.query<{ id: string }>(`INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'A') RETURNING id`)
    ).rows[0]!.id;
    // This month's partition, and the default one (a clock ten years off).
    await db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
       SELECT now() - t * interval '1 second', 'acme', $1::uuid, g, t * 10 + g FROM generate_series(0, 99) t, generate_series(1, 5) g
       UNION ALL SELECT now() - interval '10 years', 'acme', $1::uuid, 1, -1`,
      [vehicle],
    );
  });
  afterAll(async () => {
    await db?.close();
    rmSync(before, { recursive: true, force: true });
  });

  const fingerprint = async (): Promise<{ n: number; sum: number }> => {
    const { rows } = await db.query<{ n: number; sum: number }>(
      'SELECT count(*)::int AS n, sum(value)::float8 AS sum FROM samples',
    );
    return { n: rows[0]!.n, sum: Number(rows[0]!.sum) };
  };

  it('keeps every stored sample and keys them (vehicle, time, signal), partitions included', async () => {
    const stored = await fingerprint();
    expect(stored.n).toBe(501);
    expect(await migrate(db)).toContain('009_samples_vehicle_time_key.sql');
    expect(await fingerprint()).toEqual(stored);
    const keys = await db.query<{ relname: string; columns: string }>(
      `SELECT c.relname, string_agg(a.attname, ',' ORDER BY k.ord) AS columns
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indisprimary AND (c.relname = 'samples' OR c.relname LIKE 'samples\\_%')
        GROUP BY c.relname`,
    );
    expect(keys.rows.length).toBeGreaterThan(2); // the parent, the default partition, monthly ones
    expect(new Set(keys.rows.map((r) => r.columns))).toEqual(new Set(['vehicle_id,time,signal_id']));
  });

  it('still refuses a second copy of a stored sample', async () => {
    const stored = await fingerprint();
    const again = `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
      SELECT time, tenant_id, vehicle_id, signal_id, value + 1 FROM samples WHERE vehicle_id = $1`;
    await expect(db.query(again, [vehicle])).rejects.toMatchObject({ code: '23505' });
    await db.query(`${again} ON CONFLICT (vehicle_id, time, signal_id) DO NOTHING`, [vehicle]);
    expect(await fingerprint()).toEqual(stored);
  });
});
