import { createInProcessBus } from '@clutch/contracts';
import { enterUserScope, type Database, type Queryable } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BUILT_IN_ROLES } from './built-in-roles.js';
import { conditionKey } from './conditions.js';
import { effectivePermissions } from './effective.js';
import { createPolicyStore, loadRoleDefinitions } from './store.js';

const ALICE = 'a11ce000-0000-4000-8000-000000000001';
const BOB = 'b0b00000-0000-4000-8000-000000000002';
const TINA = '714a0000-0000-4000-8000-000000000003';
const PAM = 'ba300000-0000-4000-8000-000000000004';
const ALICE_CAR = 'ca000000-0000-4000-8000-00000000000a';
const BOB_CAR = 'ca000000-0000-4000-8000-00000000000b';
const ACME_VAN = 'ca000000-0000-4000-8000-00000000000c';

async function seed(db: Database): Promise<void> {
  await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme Repairs'), ('globex', 'Globex')`);
  await db.query(
    `INSERT INTO users (id, tenant_id, email, display_name) VALUES
       ($1, 'consumers', 'alice@example.com', 'Alice'), ($2, 'consumers', 'bob@example.com', 'Bob'),
       ($3, 'acme', 'tina@acme.example', 'Tina'), ($4, 'platform', 'pam@clutch.example', 'Pam')`,
    [ALICE, BOB, TINA, PAM],
  );
  await db.query(
    `INSERT INTO vehicles (id, tenant_id, name, owner_user_id) VALUES
       ($1, 'consumers', 'Alice car', $4), ($2, 'consumers', 'Bob car', $5), ($3, 'acme', 'Acme van', NULL)`,
    [ALICE_CAR, BOB_CAR, ACME_VAN, ALICE, BOB],
  );
}

const builtIn = async (q: Queryable, key: string): Promise<string> =>
  (await q.query<{ id: string }>(`SELECT id::text AS id FROM roles WHERE tenant_id = 'platform' AND key = $1`, [key]))
    .rows[0]!.id;

async function grantRole(
  q: Queryable,
  userId: string,
  tenantId: string,
  roleId: string,
  validUntil: Date | null = null,
  validFrom: Date = new Date(Date.now() - 60_000),
): Promise<void> {
  await q.query(
    `INSERT INTO role_grants (tenant_id, user_id, role_id, valid_from, valid_until, granted_by) VALUES ($1, $2, $3, $4, $5, 'test')`,
    [tenantId, userId, roleId, validFrom, validUntil],
  );
}

describe.each(testDatabases(inject('pgAdminUrl'), 'rbac_store'))('RBAC storage on %s', (_name, open) => {
  let db: Database;

  beforeAll(async () => {
    db = await open({ signals: false, seed });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('seeds the built-in roles exactly as the code defines them', async () => {
    const stored = (await loadRoleDefinitions(db)).filter((r) => r.builtIn);
    const keyOf = new Map(stored.map((r) => [r.id, r.key]));
    const normalise = (perms: readonly { permission: string; condition: unknown }[]) =>
      perms.map((p) => `${p.permission} ${conditionKey(p.condition as never)}`).sort();
    expect(
      stored
        .map((r) => ({
          key: r.key,
          tenantId: r.tenantId,
          name: r.name,
          description: r.description,
          grantableIn: r.grantableIn,
          parents: r.parents.map((id) => keyOf.get(id)).sort(),
          permissions: normalise(r.permissions),
        }))
        .sort((a, b) => a.key.localeCompare(b.key)),
    ).toEqual(
      BUILT_IN_ROLES.map((r) => ({
        key: r.key,
        tenantId: 'platform',
        name: r.name,
        description: r.description,
        grantableIn: r.grantableIn,
        parents: [...r.parents].sort(),
        permissions: normalise(r.permissions),
      })).sort((a, b) => a.key.localeCompare(b.key)),
    );
  });

  it("decides on a user's grants from the database, and hears roles-changed on the bus in every process", async () => {
    const bus = createInProcessBus();
    const here = createPolicyStore({ db, bus });
    const there = createPolicyStore({ db, bus });
    try {
      const tina = { kind: 'user' as const, userId: TINA, tenantId: 'acme' };
      const van = { type: 'vehicle', id: ACME_VAN, tenantId: 'acme' };
      expect((await there.decide(tina, 'dtc:read', van)).allow).toBe(false);
      await grantRole(db, TINA, 'acme', await builtIn(db, 'technician'));
      // Cached: nothing said the grants changed yet.
      expect((await there.decide(tina, 'dtc:read', van)).allow).toBe(false);
      here.invalidate({ userId: TINA });
      bus.publish({ type: 'roles-changed', tenantId: 'acme', userId: TINA });
      expect((await here.decide(tina, 'dtc:read', van)).allow).toBe(true);
      expect((await there.decide(tina, 'dtc:read', van)).allow).toBe(true);
      expect((await there.decide(tina, 'location:read', van)).allow).toBe(false);

      // A role edit (no user in the event) reloads the compiled snapshot.
      await db.query(
        `INSERT INTO role_permissions (tenant_id, role_id, permission) VALUES ('platform', $1, 'location:read')`,
        [await builtIn(db, 'technician')],
      );
      expect((await there.decide(tina, 'location:read', van)).allow).toBe(false);
      bus.publish({ type: 'roles-changed', tenantId: 'platform' });
      expect((await there.decide(tina, 'location:read', van)).allow).toBe(true);
      await db.query(`DELETE FROM role_permissions WHERE permission = 'location:read' AND role_id = $1`, [
        await builtIn(db, 'technician'),
      ]);
      bus.publish({ type: 'roles-changed', tenantId: 'platform' });

      expect(await effectivePermissions(there, tina)).toMatchObject({
        roles: [{ key: 'technician', tenantId: 'platform', validUntil: null, resource: null }],
        permissions: expect.arrayContaining(['vehicles:read', 'dtc:read', 'commands:write', 'bookings:read']),
        conditional: { 'bookings:read': [{ condition: { ownership: 'shop' } }] },
      });
      // The same user id presented with another tenant holds nothing.
      expect((await there.decide({ ...tina, tenantId: 'globex' }, 'vehicles:read')).allow).toBe(false);
    } finally {
      here.close();
      there.close();
    }
  });

  it('stops a time-bound grant at its end, at decision time, without a reload', async () => {
    let now = Date.now();
    const store = createPolicyStore({ db, clock: () => now, maxAgeMs: 3600_000 });
    const end = new Date(now + 60_000);
    await grantRole(db, PAM, 'platform', await builtIn(db, 'support'), end);
    const pam = { kind: 'user' as const, userId: PAM, tenantId: 'platform' };
    const bobCar = { type: 'vehicle', id: BOB_CAR, tenantId: 'consumers', ownerUserId: BOB };
    expect(await store.decide(pam, 'telemetry:read', bobCar)).toEqual({
      allow: true,
      reason: 'role support',
      until: end.getTime(),
    });
    now = end.getTime() - 1;
    expect((await store.decide(pam, 'telemetry:read', bobCar)).allow).toBe(true);
    now = end.getTime();
    expect((await store.decide(pam, 'telemetry:read', bobCar)).allow).toBe(false);
    expect((await effectivePermissions(store, pam)).roles).toEqual([]);
  });

  describe('row-level security', () => {
    const asUser = <T>(tenantId: string, userId: string | null, fn: (q: Queryable) => Promise<T>): Promise<T> =>
      db.withTenant(tenantId, async (q) => {
        if (userId !== null) await enterUserScope(q, userId);
        return fn(q);
      });
    const vehicleIds = async (q: Queryable): Promise<string[]> =>
      (await q.query<{ id: string }>('SELECT id::text AS id FROM vehicles ORDER BY name')).rows.map((r) => r.id);

    it('confines a car owner to their own vehicles; partners and the platform as before', async () => {
      expect(await asUser('consumers', ALICE, vehicleIds)).toEqual([ALICE_CAR]);
      expect(await asUser('consumers', BOB, vehicleIds)).toEqual([BOB_CAR]);
      expect(await asUser('acme', TINA, vehicleIds)).toEqual([ACME_VAN]);
      expect(await asUser('acme', null, vehicleIds)).toEqual([ACME_VAN]);
      // An owner cannot give themselves someone else's car either.
      await expect(
        asUser('consumers', ALICE, (q) =>
          q.query('UPDATE vehicles SET name = $1 WHERE id = $2 RETURNING id', ['x', BOB_CAR]),
        ),
      ).resolves.toMatchObject({ rowCount: 0 });
    });

    it('opens a shared vehicle to the shop (or the person) while the share is valid, and its shares to the right people', async () => {
      const share = async (granteeTenant: string, granteeUser: string | null, until: string, revoked = false) =>
        (
          await db.query<{ id: string }>(
            `INSERT INTO vehicle_shares (tenant_id, vehicle_id, grantee_tenant_id, grantee_user_id, permissions, valid_until, created_by, revoked_at)
             VALUES ('consumers', $1, $2, $3, '{vehicles:read}', now() + $4::interval, 'test', CASE WHEN $5 THEN now() END) RETURNING id::text AS id`,
            [ALICE_CAR, granteeTenant, granteeUser, until, revoked],
          )
        ).rows[0]!.id;
      await share('globex', null, '1 hour', true); // revoked
      expect(await asUser('globex', null, vehicleIds)).toEqual([]);
      const toAcme = await share('acme', null, '1 hour');
      expect(await asUser('acme', TINA, vehicleIds)).toEqual([ACME_VAN, ALICE_CAR]);
      expect(await asUser('acme', null, vehicleIds)).toEqual([ACME_VAN, ALICE_CAR]);
      expect(await asUser('globex', null, vehicleIds)).toEqual([]);
      // Bob sees Alice's car only once it is shared with him in person.
      expect(await asUser('consumers', BOB, vehicleIds)).toEqual([BOB_CAR]);
      const toBob = await share('consumers', BOB, '1 hour');
      expect(await asUser('consumers', BOB, vehicleIds)).toEqual([ALICE_CAR, BOB_CAR]);
      const shareIds = (q: Queryable) =>
        q
          .query<{ id: string }>('SELECT id::text AS id FROM vehicle_shares ORDER BY id')
          .then((r) => r.rows.map((x) => x.id));
      expect(await asUser('consumers', BOB, shareIds)).toEqual([toBob]);
      expect((await asUser('consumers', ALICE, shareIds)).length).toBe(3);
      expect(await asUser('acme', TINA, shareIds)).toEqual([toAcme]);
      await db.query(
        `UPDATE vehicle_shares SET valid_until = now() - interval '1 second', valid_from = now() - interval '1 hour'`,
      );
      expect(await asUser('acme', TINA, vehicleIds)).toEqual([ACME_VAN]);
      expect(await asUser('consumers', BOB, vehicleIds)).toEqual([BOB_CAR]);
    });

    it("shows a tenant its own roles and the platform's templates, never another tenant's", async () => {
      await db.query(
        `INSERT INTO roles (tenant_id, key, name) VALUES ('acme', 'acme-only', 'A'), ('globex', 'globex-only', 'G')`,
      );
      const keys = (tenant: string) =>
        asUser(tenant, null, async (q) =>
          (await q.query<{ key: string }>('SELECT key FROM roles ORDER BY key')).rows.map((r) => r.key),
        );
      const acme = await keys('acme');
      expect(acme).toContain('acme-only');
      expect(acme).toContain('technician');
      expect(acme).not.toContain('globex-only');
      const perms = await asUser(
        'acme',
        null,
        async (q) => (await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM role_permissions`)).rows[0]!.n,
      );
      expect(perms).toBeGreaterThan(10);
      // Owners see their own grants only.
      await grantRole(db, ALICE, 'consumers', await builtIn(db, 'owner'));
      await grantRole(db, BOB, 'consumers', await builtIn(db, 'owner'));
      const grants = (userId: string) =>
        asUser('consumers', userId, async (q) =>
          (await q.query<{ user_id: string }>('SELECT user_id::text FROM role_grants')).rows.map((r) => r.user_id),
        );
      expect(await grants(ALICE)).toEqual([ALICE]);
      expect(await grants(BOB)).toEqual([BOB]);
      // Writes are the platform's: tenant work only reads.
      await expect(
        asUser('acme', null, (q) => q.query(`INSERT INTO roles (tenant_id, key, name) VALUES ('acme', 'sneaky', 'S')`)),
      ).rejects.toThrow(/permission denied/);
    });
  });
});
