import { createTestDatabase } from '@clutch/test-support';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { APP_ROLE, migrate, openPglite, openPostgres, type Database } from './index.js';

/**
 * Every tenant table is guarded by row-level security, checked on the migrated catalogue rather than
 * by a list of tables, so a new migration that forgets its policy fails here.
 *
 * Not FORCE'd: ingest and administrator work run as the table owner across tenants (no app.tenant_id),
 * and a forced policy would refuse them as soon as the owner is not a superuser. What keeps tenants
 * apart is that tenant work runs as clutch_app, which must therefore never own a table nor bypass RLS.
 */
const implementations: [string, () => Promise<Database>][] = [
  ['PGlite', () => openPglite()],
  ['PostgreSQL', async () => openPostgres(await createTestDatabase(inject('pgAdminUrl'), 'rls_catalogue'))],
];

interface Relation {
  name: string;
  kind: string;
  partition: boolean;
  rls: boolean;
  policies: number;
  owner: string;
  appPrivileged: boolean;
  securityInvoker: boolean;
}

/** Relations of the public schema with a tenant_id column: tables, partitions and views. */
const TENANT_RELATIONS = `
  SELECT c.relname AS name, c.relkind::text AS kind, c.relispartition AS partition, c.relrowsecurity AS rls,
         (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,
         pg_get_userbyid(c.relowner) AS owner,
         has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE') AS "appPrivileged",
         coalesce('security_invoker=true' = ANY (c.reloptions), false) AS "securityInvoker"
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
  ORDER BY c.relname`;

/** What is wrong with one relation, as sentences (empty when it is guarded). */
function gaps(r: Relation): string[] {
  const found: string[] = [];
  if (r.owner === APP_ROLE) found.push(`${r.name}: owned by ${APP_ROLE}, which bypasses its own policies`);
  if (r.kind === 'v' || r.kind === 'm') {
    // A view runs as its owner (a superuser here) unless security_invoker: the tables' policies would not apply.
    if (r.appPrivileged && (r.kind === 'm' || !r.securityInvoker))
      found.push(`${r.name}: a view ${APP_ROLE} reads that is not security_invoker`);
  } else if (r.partition) {
    // Reached through its parent, whose policy applies; read directly it would not be guarded.
    if (r.appPrivileged) found.push(`${r.name}: a partition ${APP_ROLE} can read directly`);
  } else {
    if (!r.rls) found.push(`${r.name}: row-level security not enabled`);
    if (r.policies === 0) found.push(`${r.name}: no policy`);
  }
  return found;
}

describe.each(implementations)('row-level security catalogue: %s', (_name, open) => {
  let db: Database;

  beforeAll(async () => {
    db = await open();
    await migrate(db);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('guards every table with a tenant_id column', async () => {
    const { rows } = await db.query<Relation>(TENANT_RELATIONS, [APP_ROLE]);
    expect(rows.flatMap(gaps)).toEqual([]);
    // The scan must see the tenant tables, or it would pass on an empty result.
    const tables = rows.filter((r) => (r.kind === 'r' || r.kind === 'p') && !r.partition).map((r) => r.name);
    expect(tables).toEqual(
      expect.arrayContaining(['vehicles', 'devices', 'api_keys', 'alerts', 'audit_log', 'outbox_events']),
    );
  });

  it('runs tenant work as a role that cannot bypass row-level security', async () => {
    const { rows } = await db.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
      'SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1',
      [APP_ROLE],
    );
    expect(rows).toEqual([{ rolsuper: false, rolbypassrls: false }]);
  });
});
