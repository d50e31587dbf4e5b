import type { Queryable } from './types.js';

export const APP_ROLE = 'clutch_app';

/** Views that scope relations row-level security cannot guard (TimescaleDB storage: migration 007). */
export const TENANT_SCHEMA = 'clutch_tenant';

/**
 * A string as an SQL literal, quoted the way libpq's PQescapeLiteral (and pg's escapeLiteral) does:
 * quotes doubled, and backslashes doubled inside an E'' literal, so the text reads back unchanged
 * whatever standard_conforming_strings says. PostgreSQL text cannot hold NUL: refused.
 */
export function sqlLiteral(value: string): string {
  if (value.includes('\0')) throw new TypeError('an SQL literal cannot contain a NUL character');
  const quoted = value.replace(/'/g, "''");
  return value.includes('\\') ? ` E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}

/**
 * The one statement that puts an open transaction under row-level security for one tenant:
 * `set_config('role', ..., true)` is what `SET LOCAL ROLE` does, so role, `app.tenant_id` and the
 * search path change together. It has no parameters on purpose: it can then ride in the same
 * simple-protocol message as `BEGIN` (one round trip where the role, the tenant and BEGIN took three),
 * and on PGlite it is one exec instead of two prepared statements. The tenant schema goes first on the
 * search_path, so a name it defines (a tenant-filtered view) wins over the table of the same name in
 * public; where it does not exist, PostgreSQL skips it.
 */
export function tenantScopeStatement(tenantId: string): string {
  return (
    `SELECT set_config('role', '${APP_ROLE}', true), set_config('app.tenant_id', ${sqlLiteral(tenantId)}, true), ` +
    `set_config('search_path', '${TENANT_SCHEMA}, public', true)`
  );
}

/** Puts an open transaction under row-level security for one tenant (see tenantScopeStatement). */
export async function enterTenantScope(tx: Queryable, tenantId: string): Promise<void> {
  await tx.exec(tenantScopeStatement(tenantId));
}

/**
 * Names the signed-in user of a tenant transaction (`app.user_id`), after the tenant scope is set.
 * Row-level security confines car owners with it: in the consumer tenant, where every owner lives,
 * an owner sees only their own vehicles and those shared with them (db/migrations/023_rbac.sql).
 */
export async function enterUserScope(tx: Queryable, userId: string): Promise<void> {
  await tx.query(`SELECT set_config('app.user_id', $1, true)`, [userId]);
}
