import type { Queryable } from './types.js';

export const APP_ROLE = 'clutch_app';

/** Views that scope relations row-level security cannot guard (TimescaleDB storage: migration 007). */
export const TENANT_SCHEMA = 'clutch_tenant';

/**
 * Statements that put an open transaction under row-level security for one tenant. The tenant
 * schema goes first on the search_path, so a name it defines (a tenant-filtered view) wins over the
 * table of the same name in public; where it does not exist, PostgreSQL skips it.
 */
export async function enterTenantScope(tx: Queryable, tenantId: string): Promise<void> {
  await tx.query(`SET LOCAL ROLE ${APP_ROLE}`);
  await tx.query(
    `SELECT set_config('app.tenant_id', $1, true), set_config('search_path', '${TENANT_SCHEMA}, public', true)`,
    [tenantId],
  );
}
