import { migrate, openPostgres, type CopyColumns, type CopyRows, type Database, type Queryable } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SampleRow } from '../processors/normalise.js';
import { byMonthPartition, COPY_THRESHOLD, monthPartition, storeSamples } from './repository.js';

/**
 * The samples' bulk path under forced row-level security (migration 049): large batches are COPYed
 * into their month's partition, never into `samples` itself (PostgreSQL refuses COPY FROM under
 * row-level security, and FORCE puts the owner under it); whatever the fast path cannot take
 * (redelivery, a month without a partition) goes through `samples` and its policies.
 */

const MONTH = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1);
/** Migration 001 prepares the months from one before now to three after: these two exist. */
const THIS_MONTH = monthPartition(MONTH);
const LAST_MONTH = monthPartition(MONTH - 1);
/** Long before any prepared month: such rows land in samples_default. */
const OLD = Date.UTC(2020, 0, 15);

/** `count` rows of one vehicle, 20 signals per instant, from `from` on, one instant per `stepMs`. */
function rows(tenantId: string, vehicleId: string, from: number, count: number, stepMs = 1000): SampleRow[] {
  return Array.from({ length: count }, (_, i) => {
    const timeMs = from + Math.floor(i / 20) * stepMs;
    return {
      timeMs,
      timeIso: new Date(timeMs).toISOString(),
      tenantId,
      vehicleId,
      signalId: (i % 20) + 1,
      signalKey: `signal-${(i % 20) + 1}`,
      value: i,
    };
  });
}

/** The transaction, and the tables COPYed into through it. */
function recording(tx: Queryable): { tx: Queryable; copied: string[] } {
  const copied: string[] = [];
  return {
    copied,
    tx: {
      ...tx,
      copyRows: (table: string, columns: CopyColumns, data: CopyRows) => {
        copied.push(table);
        return tx.copyRows!(table, columns, data);
      },
    },
  };
}

/** Rows per partition, as stored. */
async function placement(db: Database): Promise<Record<string, number>> {
  const { rows: found } = await db.query<{ part: string; n: number }>(
    `SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM samples GROUP BY 1 ORDER BY 1`,
  );
  return Object.fromEntries(found.map((r) => [r.part, r.n]));
}

describe('byMonthPartition', () => {
  it('names UTC months as migration 001 does and splits a batch at month ends only', () => {
    expect(monthPartition(Date.UTC(2026, 0, 1))).toBe('samples_2026_01');
    expect(monthPartition(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toBe('samples_2026_12');
    const one = rows('t', 'v', Date.UTC(2026, 4, 2), 60);
    expect([...byMonthPartition(one)]).toEqual([['samples_2026_05', one]]);
    const across = rows('t', 'v', Date.UTC(2026, 4, 31, 23, 59, 59), 60);
    const split = byMonthPartition(across);
    expect([...split.keys()]).toEqual(['samples_2026_05', 'samples_2026_06']);
    expect(split.get('samples_2026_05')).toEqual(across.slice(0, 20));
    expect(split.get('samples_2026_06')).toEqual(across.slice(20));
  });
});

describe.each(testDatabases(inject('pgAdminUrl'), 'samples_repo'))('storeSamples on %s', (_name, open) => {
  let db: Database;
  let vehicleId: string;

  beforeAll(async () => {
    db = await open({ signals: false });
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')`);
    vehicleId = (
      await db.query<{ id: string }>(`INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'a') RETURNING id`)
    ).rows[0]!.id;
  });
  afterAll(async () => {
    await db?.close();
  });

  it('stores a batch across a month end into both months, once, and a redelivery adds nothing', async () => {
    const batch = rows('acme', vehicleId, MONTH - 30_000, COPY_THRESHOLD * 2);
    const first = await db.transaction(async (raw) => {
      const { tx, copied } = recording(raw);
      return { ...(await storeSamples(tx, batch)), copied };
    });
    expect(first.stored).toHaveLength(batch.length);
    expect(first.conflicts).toEqual([]);
    const beforeMonth = batch.filter((r) => r.timeMs < MONTH).length;
    expect(await placement(db)).toEqual({ [LAST_MONTH]: beforeMonth, [THIS_MONTH]: batch.length - beforeMonth });
    if (db.kind === 'postgres') expect(first.copied).toEqual([LAST_MONTH, THIS_MONTH]);

    // Redelivered, one value changed: nothing new, the contradiction named.
    const again = batch.map((r, i) => (i === 7 ? { ...r, value: -1 } : r));
    const second = await db.transaction((tx) => storeSamples(tx, again));
    expect(second.stored).toEqual([]);
    expect(second.conflicts).toEqual([{ index: 7, stored: 7 }]);
    expect(await placement(db)).toEqual({ [LAST_MONTH]: beforeMonth, [THIS_MONTH]: batch.length - beforeMonth });
  });

  it('stores rows of a month without a partition through samples, into the default partition', async () => {
    const batch = rows('acme', vehicleId, OLD, COPY_THRESHOLD);
    const { stored } = await db.transaction((tx) => storeSamples(tx, batch));
    expect(stored).toHaveLength(batch.length);
    expect((await placement(db))['samples_default']).toBe(batch.length);
  });
});

/**
 * The production shape: the platform connects as the owner of its tables, not a superuser (a
 * superuser bypasses row-level security, forced or not, so the suite's usual databases cannot show this).
 */
describe('storeSamples as a non-superuser owner under forced row-level security (PostgreSQL)', () => {
  const adminUrl = inject('pgAdminUrl');
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const OWNER = `samples_owner_${suffix}`;
  const DATABASE = `samples_owned_${suffix}`;
  let server: Database;
  let owner: Database;
  const vehicles: Record<string, string> = {};

  beforeAll(async () => {
    server = await openPostgres(adminUrl, { max: 1 });
    await server.query(`DO $$
      BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'clutch_app') THEN CREATE ROLE clutch_app NOLOGIN; END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'clutch_system') THEN CREATE ROLE clutch_system NOLOGIN; END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END $$`);
    await server.query(`CREATE ROLE ${OWNER} LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS INHERIT`);
    await server.query(`GRANT clutch_app, clutch_system TO ${OWNER}`);
    await server.query(`CREATE DATABASE ${DATABASE} OWNER ${OWNER}`);
    const url = new URL(adminUrl);
    url.username = OWNER;
    url.pathname = `/${DATABASE}`;
    owner = await openPostgres(url.toString(), { max: 2 });
    await migrate(owner);
    await owner.query(`INSERT INTO tenants (id, name) VALUES ('a', 'A'), ('b', 'B')`);
    for (const tenant of ['a', 'b'])
      vehicles[tenant] = (
        await owner.query<{ id: string }>(`INSERT INTO vehicles (tenant_id, name) VALUES ($1, 'v') RETURNING id`, [
          tenant,
        ])
      ).rows[0]!.id;
  }, 60_000);
  afterAll(async () => {
    await owner?.close();
    await server?.query(`DROP DATABASE IF EXISTS ${DATABASE}`).catch(() => {});
    await server?.query(`DROP ROLE IF EXISTS ${OWNER}`).catch(() => {});
    await server?.close();
  });

  it('forces row-level security on samples', async () => {
    const { rows: found } = await owner.query<{ rls: boolean; forced: boolean }>(
      `SELECT relrowsecurity AS rls, relforcerowsecurity AS forced FROM pg_class WHERE oid = 'samples'::regclass`,
    );
    expect(found).toEqual([{ rls: true, forced: true }]);
  });

  it("COPYs large batches into the month's partition, and every path stores, each tenant seeing its own", async () => {
    const large = [
      ...rows('a', vehicles.a!, MONTH - 20_000, COPY_THRESHOLD),
      ...rows('b', vehicles.b!, MONTH - 20_000, COPY_THRESHOLD),
    ];
    const copied = await owner.transaction(async (raw) => {
      const { tx, copied: tables } = recording(raw);
      expect((await storeSamples(tx, large)).stored).toHaveLength(large.length);
      return tables;
    });
    expect(copied).toEqual([LAST_MONTH, THIS_MONTH]);
    // Redelivered (the staging path through samples), a small batch (one INSERT), an old month (no partition).
    expect((await owner.transaction((tx) => storeSamples(tx, large))).stored).toEqual([]);
    const small = rows('a', vehicles.a!, MONTH + 3_600_000, 40);
    expect((await owner.transaction((tx) => storeSamples(tx, small))).stored).toHaveLength(40);
    const old = rows('b', vehicles.b!, OLD, COPY_THRESHOLD);
    expect((await owner.transaction((tx) => storeSamples(tx, old))).stored).toHaveLength(COPY_THRESHOLD);

    const { rows: all } = await owner.query<{ tenant: string; n: number }>(
      `SELECT tenant_id AS tenant, count(*)::int AS n FROM samples GROUP BY 1 ORDER BY 1`,
    );
    expect(all).toEqual([
      { tenant: 'a', n: COPY_THRESHOLD + 40 },
      { tenant: 'b', n: COPY_THRESHOLD * 2 },
    ]);
    const seen = await owner.withTenant('a', (q) =>
      q.query<{ tenant: string; n: number }>(`SELECT tenant_id AS tenant, count(*)::int AS n FROM samples GROUP BY 1`),
    );
    expect(seen.rows).toEqual([{ tenant: 'a', n: COPY_THRESHOLD + 40 }]);
  });
});
