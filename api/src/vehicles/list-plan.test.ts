import { randomUUID } from 'node:crypto';
import { enterUserScope, type Database, type Queryable, type QueryResult } from '@clutch/db';
import { generateSigningKeys } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor } from '../http/pagination.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import { backends, call, OTHER_TENANT, startFixture, TENANT, type Fixture } from '../test-fixtures.js';
import { VEHICLES_LISTING, VehiclesRepository } from './repository.js';

/**
 * The vehicle list reads a page, not the tenant (issue 13; repository.ts, docs/rbac.md "How the
 * vehicle list reads"): a partner's first and later pages walk vehicles (tenant_id, name, id) in
 * order and stop after the page, with or without statistics, under row-level security as the API
 * runs it. And what each caller sees is still what the policies allow: an owner among many owners
 * their own vehicles and those shared with them, a shop its own and those shared with it.
 */

interface PlanNode {
  'Node Type': string;
  'Parent Relationship'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Actual Rows'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Runs every statement on vehicles twice: first under EXPLAIN ANALYZE (the plan kept), then for real. */
function explaining(q: Queryable, plans: PlanNode[]): Queryable {
  return {
    async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      if (/\bFROM vehicles\b/.test(sql)) {
        const { rows } = await q.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
        const raw = rows[0]!['QUERY PLAN'];
        const json = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
        plans.push(json[0]!.Plan);
      }
      return q.query<T>(sql, params);
    },
    exec: (sql: string) => q.exec(sql),
  };
}

/** Every node with the chain of nodes above it (init plans and subplans included, marked by their relationship). */
function walk(node: PlanNode, above: PlanNode[] = []): { node: PlanNode; above: PlanNode[] }[] {
  return [{ node, above }, ...(node.Plans ?? []).flatMap((child) => walk(child, [...above, node]))];
}

const SCANS = new Set(['Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Index Scan', 'Bitmap Heap Scan']);

/** The rows a scan node looked at in one of its loops (the counts are averages per loop). */
const rowsLookedAt = (node: PlanNode): number =>
  (node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0);

/**
 * What a page's plan must show: a Limit on top; the tenant's vehicles read by an index scan of
 * (tenant_id, name, id) with no Sort anywhere above it; no scan, the per-vehicle devices lookup
 * included, looking at more rows than the page holds; and the list's own sorts (the shared
 * vehicles' part, the part outside any tenant) sorting nothing here, where nothing is shared.
 */
function expectReadInOrder(plan: PlanNode, limit: number): void {
  expect(plan['Node Type']).toBe('Limit');
  const nodes = walk(plan);
  const scans = nodes.filter(
    ({ node }) =>
      (node['Node Type'] === 'Index Scan' || node['Node Type'] === 'Index Only Scan') &&
      node['Index Name'] === 'vehicles_tenant_name_idx',
  );
  expect(scans, JSON.stringify(plan)).toHaveLength(1);
  const [{ node: scan, above }] = scans as [{ node: PlanNode; above: PlanNode[] }];
  expect(scan['Index Cond']).toMatch(/tenant_id = current_setting/);
  expect(above.map((n) => n['Node Type'])).not.toContain('Sort');
  for (const { node } of nodes.filter(({ node }) => SCANS.has(node['Node Type'])))
    expect(rowsLookedAt(node), JSON.stringify(node)).toBeLessThanOrEqual(limit + 1);
  const listSorts = nodes.filter(
    ({ node, above }) =>
      node['Node Type'] === 'Sort' && ![...above, node].some((n) => n['Parent Relationship'] === 'SubPlan'),
  );
  for (const { node } of listSorts) expect(node['Actual Rows']).toBe(0);
}

const VEHICLES_PER_TENANT = 2000;

/** n vehicles of a tenant with a device each, named so that insertion order is not name order. */
async function seedFleet(db: Database, tenantId: string, n: number): Promise<void> {
  await db.query(
    `INSERT INTO vehicles (tenant_id, name)
     SELECT $1, 'Van ' || lpad(((g * 7919) % $2)::text, 5, '0') FROM generate_series(1, $2) AS g`,
    [tenantId, n],
  );
  await db.query(
    `INSERT INTO devices (tenant_id, id, vehicle_id) SELECT tenant_id, 'dev-' || id, id FROM vehicles WHERE tenant_id = $1`,
    [tenantId],
  );
}

describe.each(backends('api_vehicle_list_plan'))('the vehicle list’s plan on %s', (_name, open) => {
  let db: Database;

  beforeAll(async () => {
    if (!open) throw new Error('no opener');
    db = await open({
      seed: async (d) => {
        // No statistics for the whole test unless it asks: autovacuum would ANALYZE the new rows
        // within a minute on the PostgreSQL server (PGlite has no autovacuum).
        await d.exec(
          'ALTER TABLE vehicles SET (autovacuum_enabled = false); ALTER TABLE devices SET (autovacuum_enabled = false)',
        );
        await d.query(`INSERT INTO tenants (id, name) VALUES ($1, 'Acme'), ($2, 'Globex')`, [TENANT, OTHER_TENANT]);
        await seedFleet(d, TENANT, VEHICLES_PER_TENANT);
        await seedFleet(d, OTHER_TENANT, VEHICLES_PER_TENANT);
      },
    });
  });
  afterAll(async () => {
    await db?.close();
  });

  /** Two pages of the partner's list as the API reads them (tenant scope), with their plans. */
  async function twoPages(limit: number) {
    return db.withTenant(TENANT, async (q) => {
      const plans: PlanNode[] = [];
      const repository = new VehiclesRepository(explaining(q, plans));
      const first = await repository.list({ limit });
      const { rows } = await q.query<{ setting: string }>(`SELECT current_setting('enable_sort') AS setting`);
      const second = await repository.list({ limit, cursor: decodeCursor(VEHICLES_LISTING, first.next!) });
      return { first, second, plans, sortAfterwards: rows[0]!.setting };
    });
  }

  it('reads the first page and the next from the index in order, before any ANALYZE, and stops there', async () => {
    const { rows: stats } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stats WHERE tablename = 'vehicles' AND attname = 'tenant_id'`,
    );
    expect(stats[0]!.n).toBe(0);
    const { first, second, plans, sortAfterwards } = await twoPages(50);
    expect(plans).toHaveLength(2);
    for (const plan of plans) expectReadInOrder(plan, 50);
    // The pages are the tenant's first 100 vehicles by name, and only the tenant's.
    const { rows } = await db.query<{ id: string }>(
      `SELECT id::text AS id FROM vehicles WHERE tenant_id = $1 ORDER BY name, id LIMIT 100`,
      [TENANT],
    );
    expect([...first.items, ...second.items].map((v) => v.id)).toEqual(rows.map((r) => r.id));
    expect(first.items[0]!.device_ids).toEqual([`dev-${first.items[0]!.id}`]);
    // The statement's planner settings end with it: the rest of the transaction plans as usual.
    expect(sortAfterwards).toBe('on');
  });

  it('does the same once statistics exist, and for the largest page a client may ask', async () => {
    await db.exec('ANALYZE vehicles; ANALYZE devices');
    const { plans } = await twoPages(50);
    for (const plan of plans) expectReadInOrder(plan, 50);
    const large = await twoPages(1000);
    for (const plan of large.plans) expectReadInOrder(plan, 1000);
    expect(large.second.items).toHaveLength(1000);
  });
});

describe.each(backends('api_vehicle_list_access'))('who sees what in the vehicle list on %s', (_name, open) => {
  const keys = generateSigningKeys();
  const adminToken = 'admin-token-for-the-vehicle-list';
  let fx: Fixture;
  let alice: TestUser;
  let tina: TestUser;
  const aliceOwn: string[] = [];
  const sharedWithAlice: string[] = [];
  let sharedWithAcme: string;

  /** Every id of the list, walking its pages of `limit`. */
  async function listAll(token: string, limit: number): Promise<string[]> {
    const seen: string[] = [];
    let path = `/api/vehicles?limit=${limit}`;
    for (let page = 0; page < 1000; page++) {
      const res = await call(fx.api.url, 'GET', path, { token });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      seen.push(...(res.body.vehicles as { id: string }[]).map((v) => v.id));
      if (res.body.next === null) return seen;
      path = `/api/vehicles?limit=${limit}&cursor=${encodeURIComponent(res.body.next as string)}`;
    }
    throw new Error('the list did not end');
  }

  /** The ids in the list's order, as the database orders them. */
  async function inListOrder(ids: readonly string[]): Promise<string[]> {
    const { rows } = await fx.db.query<{ id: string }>(
      `SELECT id::text AS id FROM vehicles WHERE id = ANY ($1::uuid[]) ORDER BY name, id`,
      [ids],
    );
    return rows.map((r) => r.id);
  }

  const share = (vehicleId: string, tenantId: string, to: { tenant: string; user?: string }, when = 'live') =>
    fx.db.query(
      `INSERT INTO vehicle_shares (tenant_id, vehicle_id, grantee_tenant_id, grantee_user_id, permissions,
                                   valid_from, valid_until, created_by, revoked_at, revoked_by)
       VALUES ($1, $2, $3, $4, ARRAY['vehicles:read'],
               now() - interval '2 hours',
               CASE WHEN $5 = 'ended' THEN now() - interval '1 hour' ELSE now() + interval '1 hour' END,
               'test', CASE WHEN $5 = 'revoked' THEN now() END, CASE WHEN $5 = 'revoked' THEN 'test' END)`,
      [tenantId, vehicleId, to.tenant, to.user ?? null, when],
    );

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      adminToken,
      identity: { signingKeys: keys },
      ...(open ? { open } : {}),
    });
    alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
    tina = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['technician'], name: 'Tina' });
    // 400 other owners with 10 cars each in the one consumer tenant; Alice's 3 sort among theirs.
    const owners = Array.from({ length: 400 }, () => randomUUID());
    await fx.db.query(
      `INSERT INTO users (id, tenant_id, email, display_name, status)
       SELECT u, 'consumers', 'owner-' || u || '@example.com', 'Owner', 'active' FROM unnest($1::uuid[]) AS u`,
      [owners],
    );
    const { rows: others } = await fx.db.query<{ id: string }>(
      `INSERT INTO vehicles (tenant_id, name, owner_user_id)
       SELECT 'consumers', 'Car ' || lpad((g * 37 % 4000)::text, 4, '0'), ($1::uuid[])[1 + g % 400]
         FROM generate_series(0, 3999) AS g
       RETURNING id::text AS id`,
      [owners],
    );
    const { rows: own } = await fx.db.query<{ id: string }>(
      `INSERT INTO vehicles (tenant_id, name, owner_user_id)
       VALUES ('consumers', 'Car 1000a', $1), ('consumers', 'Car 2500a', $1), ('consumers', 'Car 3999a', $1)
       RETURNING id::text AS id`,
      [alice.userId],
    );
    aliceOwn.push(...own.map((r) => r.id));
    // Shared with Alice in person: another owner's car, and a partner's car.
    await share(others[0]!.id, 'consumers', { tenant: 'consumers', user: alice.userId });
    const { rows: acmeCars } = await fx.db.query<{ id: string }>(
      `INSERT INTO vehicles (tenant_id, name) VALUES ($1, 'Acme loan car'), ($1, 'Acme pool car') RETURNING id::text AS id`,
      [TENANT],
    );
    await share(acmeCars[0]!.id, TENANT, { tenant: 'consumers', user: alice.userId });
    sharedWithAlice.push(others[0]!.id, acmeCars[0]!.id);
    // Shares that do not count: ended, revoked, and one with the tenant as a whole (a shop's share).
    await share(others[1]!.id, 'consumers', { tenant: 'consumers', user: alice.userId }, 'ended');
    await share(others[2]!.id, 'consumers', { tenant: 'consumers', user: alice.userId }, 'revoked');
    await share(acmeCars[1]!.id, TENANT, { tenant: OTHER_TENANT });
    // Shared with the shop Acme: one owner's car.
    sharedWithAcme = others[3]!.id;
    await share(sharedWithAcme, 'consumers', { tenant: TENANT });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('shows an owner among 400 others exactly their cars and those shared with them, by name, on any page size', async () => {
    const expected = await inListOrder([...aliceOwn, ...sharedWithAlice]);
    expect(expected).toHaveLength(5);
    expect(await listAll(alice.token, 2)).toEqual(expected);
    expect(await listAll(alice.token, 1000)).toEqual(expected);
  });

  it("reads an owner's cars by key, not the consumer tenant's 4,000 others", async () => {
    const plans: PlanNode[] = [];
    const page = await fx.db.withTenant('consumers', async (q) => {
      await enterUserScope(q, alice.userId);
      return new VehiclesRepository(explaining(q, plans)).list({ limit: 50 });
    });
    expect(page.items).toHaveLength(5);
    expect(plans).toHaveLength(1);
    for (const { node } of walk(plans[0]!).filter(({ node }) => SCANS.has(node['Node Type'])))
      expect(rowsLookedAt(node), JSON.stringify(node)).toBeLessThanOrEqual(5);
  });

  it("shows a shop's staff the shop's vehicles and those shared with the shop, nobody else's", async () => {
    const { rows } = await fx.db.query<{ id: string }>(`SELECT id::text AS id FROM vehicles WHERE tenant_id = $1`, [
      TENANT,
    ]);
    const expected = await inListOrder([...rows.map((r) => r.id), sharedWithAcme]);
    expect(await listAll(tina.token, 3)).toEqual(expected);
  });

  it('shows an administrator every vehicle of every tenant, in one order across them', async () => {
    const { rows } = await fx.db.query<{ id: string }>(`SELECT id::text AS id FROM vehicles`);
    const expected = await inListOrder(rows.map((r) => r.id));
    expect(expected.length).toBeGreaterThan(4000);
    expect(await listAll(adminToken, 200)).toEqual(expected);
  });
});
