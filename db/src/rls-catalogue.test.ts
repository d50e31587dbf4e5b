import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { APP_ROLE, detectFeatures, migrate, openPostgres, type Database } from './index.js';
import { testDatabases } from './testing.js';

/**
 * Row-level security is enabled AND FORCED on every tenant table, checked on the migrated catalogue
 * rather than by a list of tables, so a new migration that forgets any part of it fails here.
 *
 * The model (migration 018, docs/security.md "Database roles"): the platform connects as the owner
 * of its tables, and FORCE puts the owner under the policies too. Its own cross-tenant work (ingest,
 * administration, jobs) passes through a `system_access` policy `TO clutch_system`, a role it is a
 * member of; tenant work runs `SET LOCAL ROLE clutch_app`, which is not a member, so only
 * `tenant_isolation` (app.tenant_id) applies there. Anyone else (an owner that lost the membership,
 * a role granted SELECT by mistake) sees nothing: forced row-level security denies by default.
 *
 * The second half proves it where it matters, on a real PostgreSQL server with a non-superuser
 * owner (a superuser bypasses row-level security, forced or not, so the usual test databases could
 * not show any of this).
 */

/**
 * Tables that may have row-level security without FORCE, and why. None: samples, the last one, is
 * forced since migration 049 (ingest COPYs into its month partitions instead, see below).
 */
const NOT_FORCED: Record<string, string> = {};

interface Relation {
  name: string;
  kind: string;
  partition: boolean;
  hasTenantId: boolean;
  rls: boolean;
  forced: boolean;
  tenantIsolation: boolean;
  systemAccess: boolean;
  owner: string;
  appPrivileged: boolean;
  securityInvoker: boolean;
}

/**
 * Relations of the public schema with a tenant_id column (tables, partitions, views) and every
 * table with row-level security (tenants is keyed by id). `systemAccess`: a permissive policy named
 * system_access for all commands, to clutch_system alone, USING (true) WITH CHECK (true).
 */
const TENANT_RELATIONS = `
  SELECT c.relname AS name, c.relkind::text AS kind, c.relispartition AS partition,
         EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS "hasTenantId",
         c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
         EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation') AS "tenantIsolation",
         EXISTS (SELECT 1 FROM pg_policy p
                  WHERE p.polrelid = c.oid AND p.polname = 'system_access' AND p.polpermissive AND p.polcmd = '*'
                    AND p.polroles = ARRAY[(SELECT oid FROM pg_roles WHERE rolname = 'clutch_system')]::oid[]
                    AND pg_get_expr(p.polqual, p.polrelid) = 'true'
                    AND pg_get_expr(p.polwithcheck, p.polrelid) = 'true') AS "systemAccess",
         pg_get_userbyid(c.relowner) AS owner,
         has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE') AS "appPrivileged",
         coalesce('security_invoker=true' = ANY (c.reloptions), false) AS "securityInvoker"
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
    AND (c.relrowsecurity
         OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
  ORDER BY c.relname`;

/** TimescaleDB hypertables (samples under migration 007): no row-level security possible there. */
async function hypertables(db: Database): Promise<Set<string>> {
  const ext = await db.query<{ yes: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS yes`,
  );
  if (!ext.rows[0]!.yes) return new Set();
  const { rows } = await db.query<{ name: string }>(
    `SELECT hypertable_name AS name FROM timescaledb_information.hypertables WHERE hypertable_schema = 'public'`,
  );
  return new Set(rows.map((r) => r.name));
}

/** What is wrong with one relation, as sentences (empty when it is guarded). */
function gaps(r: Relation, hyper: Set<string>): string[] {
  const found: string[] = [];
  if (r.owner === APP_ROLE) found.push(`${r.name}: owned by ${APP_ROLE}, which bypasses its own policies`);
  if (r.kind === 'v' || r.kind === 'm') {
    // A view runs as its owner unless security_invoker: the tables' policies would be the owner's.
    if (r.appPrivileged && (r.kind === 'm' || !r.securityInvoker))
      found.push(`${r.name}: a view ${APP_ROLE} reads that is not security_invoker`);
  } else if (r.partition) {
    // Reached through its parent, whose policies apply; read directly it would not be guarded.
    if (r.appPrivileged) found.push(`${r.name}: a partition ${APP_ROLE} can read directly`);
  } else if (hyper.has(r.name)) {
    // TimescaleDB refuses compression with row-level security: tenants read it through the
    // clutch_tenant views (migration 007), so clutch_app must have no privilege on it.
    if (r.appPrivileged) found.push(`${r.name}: a hypertable ${APP_ROLE} can read directly`);
  } else {
    if (!r.rls) found.push(`${r.name}: row-level security not enabled`);
    if (!r.forced && !(r.name in NOT_FORCED)) found.push(`${r.name}: row-level security not forced`);
    if (!r.tenantIsolation) found.push(`${r.name}: no tenant_isolation policy`);
    if (!r.systemAccess)
      found.push(`${r.name}: no system_access policy TO clutch_system USING (true) WITH CHECK (true)`);
  }
  return found;
}

describe.each(testDatabases(inject('pgAdminUrl'), 'rls_catalogue'))(
  'row-level security catalogue: %s',
  (_name, open) => {
    let db: Database;
    let hyper: Set<string>;

    beforeAll(async () => {
      db = await open({ signals: false });
      hyper = await hypertables(db);
    });
    afterAll(async () => {
      await db?.close();
    });

    it('enables and forces row-level security on every tenant table, with both policies', async () => {
      const { rows } = await db.query<Relation>(TENANT_RELATIONS, [APP_ROLE]);
      expect(rows.flatMap((r) => gaps(r, hyper))).toEqual([]);
      // The scan must see the tenant tables, or it would pass on an empty result.
      const tables = rows.filter((r) => (r.kind === 'r' || r.kind === 'p') && !r.partition);
      expect(tables.map((r) => r.name)).toEqual(
        expect.arrayContaining([
          'vehicles',
          'devices',
          'api_keys',
          'alerts',
          'audit_log',
          'outbox_events',
          'tenants',
          'users',
        ]),
      );
      expect(tables.filter((r) => r.forced).length).toBeGreaterThan(15);
    });
    it('names every exemption from FORCE after a table that exists', async () => {
      const { rows } = await db.query<{ name: string }>(
        `SELECT relname AS name FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname = ANY ($1)`,
        [Object.keys(NOT_FORCED)],
      );
      expect(rows.map((r) => r.name).sort()).toEqual(Object.keys(NOT_FORCED).sort());
    });

    it('runs tenant work as a role that cannot bypass row-level security nor reach system_access', async () => {
      const { rows } = await db.query<{
        rolname: string;
        rolsuper: boolean;
        rolbypassrls: boolean;
        rolcanlogin: boolean;
      }>(
        `SELECT rolname, rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname IN ($1, 'clutch_system') ORDER BY 1`,
        [APP_ROLE],
      );
      expect(rows).toEqual([
        { rolname: 'clutch_app', rolsuper: false, rolbypassrls: false, rolcanlogin: false },
        { rolname: 'clutch_system', rolsuper: false, rolbypassrls: false, rolcanlogin: false },
      ]);
      const member = await db.query<{ member: boolean }>(
        `SELECT pg_has_role($1, 'clutch_system', 'MEMBER') AS member`,
        [APP_ROLE],
      );
      expect(member.rows[0]!.member).toBe(false);
    });
  },
);

describe('forced row-level security with a non-superuser owner (PostgreSQL)', () => {
  const adminUrl = inject('pgAdminUrl');
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const OWNER = `rls_owner_${suffix}`;
  const READER = `rls_reader_${suffix}`;
  const DATABASE = `rls_owned_${suffix}`;
  const urlOf = (user: string, database: string): string => {
    const url = new URL(adminUrl);
    url.username = user;
    url.pathname = `/${database}`;
    return url.toString();
  };
  const A = 'rls-a';
  const B = 'rls-b';
  const VEHICLE_A = '0a0a0a0a-0000-4000-8000-00000000000a';
  const VEHICLE_B = '0b0b0b0b-0000-4000-8000-00000000000b';

  /** Superuser on the server's maintenance database, then on the owned one. */
  let server: Database;
  let superOwned: Database;
  /** The platform, connected as the non-superuser owner. */
  let owner: Database;
  let applied: string[];

  /** Rows per tenant of a table, as the given connection sees them. */
  const perTenant = async (db: Database, table: string): Promise<Record<string, number>> => {
    const { rows } = await db.query<{ tenant: string; n: number }>(
      `SELECT tenant_id AS tenant, count(*)::int AS n FROM ${table} WHERE tenant_id IN ($1, $2) GROUP BY 1 ORDER BY 1`,
      [A, B],
    );
    return Object.fromEntries(rows.map((r) => [r.tenant, r.n]));
  };

  beforeAll(async () => {
    server = await openPostgres(adminUrl, { max: 1 });
    // What a DBA does once per server (docs/security.md): the two roles, the owner a member of both.
    await server.query(`DO $$
      BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'clutch_app') THEN CREATE ROLE clutch_app NOLOGIN; END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'clutch_system') THEN CREATE ROLE clutch_system NOLOGIN; END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END $$`);
    await server.query(`CREATE ROLE ${OWNER} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS INHERIT`);
    await server.query(`CREATE ROLE ${READER} LOGIN NOSUPERUSER NOBYPASSRLS`);
    await server.query(`GRANT clutch_app, clutch_system TO ${OWNER}`);
    await server.query(`CREATE DATABASE ${DATABASE} OWNER ${OWNER}`);
    owner = await openPostgres(urlOf(OWNER, DATABASE), { max: 4 });
    applied = await migrate(owner);
    superOwned = await openPostgres(urlOf(new URL(adminUrl).username, DATABASE), { max: 1 });
  });
  afterAll(async () => {
    await owner?.close();
    await superOwned?.close();
    await server?.query(`DROP DATABASE IF EXISTS ${DATABASE}`).catch(() => {});
    await server?.query(`DROP ROLE IF EXISTS ${READER}`).catch(() => {});
    await server?.query(`DROP ROLE IF EXISTS ${OWNER}`).catch(() => {});
    await server?.close();
  });

  it('migrates as an owner that is neither superuser nor allowed to create roles', async () => {
    expect(applied).toEqual(expect.arrayContaining(['001_core.sql', '018_forced_rls.sql', '019_audit_chain.sql']));
    const me = await owner.query<{ rolsuper: boolean; rolcreaterole: boolean }>(
      'SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user',
    );
    expect(me.rows).toEqual([{ rolsuper: false, rolcreaterole: false }]);
    // It cannot read shared_preload_libraries; detection must answer all the same.
    expect(await detectFeatures(owner)).toEqual({ timescaledb: false });
    expect(await migrate(owner)).toEqual([]);
  });

  it('stops, applying nothing, when the owner lacks the roles and may not grant them', async () => {
    const bare = `rls_bare_${suffix}`;
    await server.query(`CREATE ROLE ${bare} LOGIN NOSUPERUSER NOCREATEROLE`);
    await server.query(`CREATE DATABASE ${bare} OWNER ${bare}`);
    const db = await openPostgres(urlOf(bare, bare), { max: 1 });
    try {
      await expect(migrate(db)).rejects.toThrow(
        new RegExp(`018_forced_rls.sql failed: role ${bare} cannot create or grant clutch_app and clutch_system`),
      );
      const tables = await db.query(`SELECT 1 FROM pg_class WHERE relname = 'vehicles'`);
      expect(tables.rows).toEqual([]);
    } finally {
      await db.close();
      await server.query(`DROP DATABASE IF EXISTS ${bare}`);
      await server.query(`DROP ROLE IF EXISTS ${bare}`);
    }
  });

  it('lets the owner work across tenants without app.tenant_id, as ingest and administration do', async () => {
    await owner.query(`INSERT INTO tenants (id, name) VALUES ($1, 'A'), ($2, 'B')`, [A, B]);
    await owner.query(`INSERT INTO vehicles (id, tenant_id, name) VALUES ($1, $2, 'a'), ($3, $4, 'b')`, [
      VEHICLE_A,
      A,
      VEHICLE_B,
      B,
    ]);
    const now = Date.now();
    const SAMPLE_COLUMNS = [
      { name: 'time', type: 'timestamptz' },
      { name: 'tenant_id', type: 'text' },
      { name: 'vehicle_id', type: 'uuid' },
      { name: 'signal_id', type: 'int2' },
      { name: 'value', type: 'float8' },
    ] as const;
    // Forced row-level security applies to the owner, and PostgreSQL refuses COPY FROM under it.
    await expect(owner.copyRows!('samples', SAMPLE_COLUMNS, [[now, A, VEHICLE_A, 2, 1]])).rejects.toThrow(
      /COPY FROM not supported with row-level security/,
    );
    // As ingest stores large batches (ingest/src/samples/repository.ts): binary COPY into the
    // month's partition (the rows here are of this UTC month), which has no row-level security of its own.
    const month = new Date(now);
    const partition = `samples_${month.getUTCFullYear()}_${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
    await owner.copyRows!(partition, SAMPLE_COLUMNS, [
      [now, A, VEHICLE_A, 1, 800],
      [now, B, VEHICLE_B, 1, 900],
      [now + 1000, B, VEHICLE_B, 1, 950],
    ]);
    // A partition made at run time, written through the parent.
    await owner.query(
      `SELECT clutch_ensure_sample_partitions(now() + interval '8 months', now() + interval '9 months')`,
    );
    await owner.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES (now() + interval '8 months', $1, $2, 1, 700)`,
      [A, VEHICLE_A],
    );
    await owner.query(
      `INSERT INTO audit_log (tenant_id, actor, action) VALUES ($1, 'admin', 'test.a'), ($2, 'admin', 'test.b')`,
      [A, B],
    );

    expect(await perTenant(owner, 'vehicles')).toEqual({ [A]: 1, [B]: 1 });
    expect(await perTenant(owner, 'samples')).toEqual({ [A]: 2, [B]: 2 });
    expect(await perTenant(owner, 'audit_log')).toEqual({ [A]: 1, [B]: 1 });
    await owner.query(`UPDATE vehicles SET name = name || '!' WHERE tenant_id IN ($1, $2)`, [A, B]);
    const names = await owner.query<{ name: string }>(
      `SELECT name FROM vehicles WHERE tenant_id IN ($1, $2) ORDER BY 1`,
      [A, B],
    );
    expect(names.rows.map((r) => r.name)).toEqual(['a!', 'b!']);
  });

  it("confines a tenant scope to the tenant's rows, reads and writes", async () => {
    for (const table of ['vehicles', 'samples', 'audit_log', 'tenants']) {
      const key = table === 'tenants' ? 'id' : 'tenant_id';
      const { rows } = await owner.withTenant(A, (q) =>
        q.query<{ tenant: string }>(`SELECT DISTINCT ${key} AS tenant FROM ${table}`),
      );
      expect(
        rows.map((r) => r.tenant),
        table,
      ).toEqual([A]);
    }
    await expect(
      owner.withTenant(A, (q) => q.query(`INSERT INTO vehicles (tenant_id, name) VALUES ($1, 'smuggled')`, [B])),
    ).rejects.toThrow(/row-level security/);
    const moved = await owner.withTenant(A, (q) => q.query(`UPDATE vehicles SET name = 'x' WHERE tenant_id = $1`, [B]));
    expect(moved.rowCount).toBe(0);
  });

  it('shows another role nothing, even with SELECT on every table: forced row-level security denies by default', async () => {
    const { rows: tables } = await superOwned.query<{ name: string }>(
      `SELECT relname AS name FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') AND NOT relispartition AND relrowsecurity
        ORDER BY 1`,
    );
    expect(tables.length).toBeGreaterThan(15);
    await superOwned.query(`GRANT SELECT ON ${tables.map((t) => `"${t.name}"`).join(', ')} TO ${READER}`);
    const reader = await openPostgres(urlOf(READER, DATABASE), { max: 1 });
    try {
      const membership = await reader.query<{ member: boolean }>(
        `SELECT pg_has_role('clutch_system', 'MEMBER') AS member`,
      );
      expect(membership.rows[0]!.member).toBe(false);
      const seen: Record<string, number> = {};
      for (const { name } of tables)
        seen[name] = (await reader.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${name}"`)).rows[0]!.n;
      expect(Object.entries(seen).filter(([, n]) => n > 0)).toEqual([]);
      // The rows are there: the owner sees them.
      expect((await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM vehicles`)).rows[0]!.n).toBeGreaterThan(
        0,
      );
    } finally {
      await reader.close();
    }
  });

  it('denies the owner itself once it is no longer a member of clutch_system (what FORCE adds)', async () => {
    await server.query(`REVOKE clutch_system FROM ${OWNER}`);
    try {
      expect(await perTenant(owner, 'vehicles')).toEqual({});
      expect(await perTenant(owner, 'audit_log')).toEqual({});
      // Samples too (forced since migration 049), whatever partition holds them.
      expect(await perTenant(owner, 'samples')).toEqual({});
      await expect(
        owner.query(
          `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES (now(), $1, $2, 3, 1)`,
          [A, VEHICLE_A],
        ),
      ).rejects.toThrow(/row-level security/);
    } finally {
      await server.query(`GRANT clutch_system TO ${OWNER}`);
    }
    expect(await perTenant(owner, 'vehicles')).toEqual({ [A]: 1, [B]: 1 });
    expect(await perTenant(owner, 'samples')).toEqual({ [A]: 2, [B]: 2 });
  });
});
