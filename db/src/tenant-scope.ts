import type { Queryable } from './types.js';

export const APP_ROLE = 'clutch_app';

/** Statements that put an open transaction under row-level security for one tenant. */
export async function enterTenantScope(tx: Queryable, tenantId: string): Promise<void> {
  await tx.query(`SET LOCAL ROLE ${APP_ROLE}`);
  await tx.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
}
