import type { Queryable } from '@clutch/db';
import type { Scope } from '../auth/scope.js';
import { apiError } from '../errors.js';
import { TenantsRepository } from './repository.js';

export class TenantsService {
  /** Administration: idempotent, and recorded in the audit log. */
  create(scope: Scope, id: string, name: string): Promise<{ id: string; name: string; created: boolean }> {
    return scope
      .audited({ action: 'tenant.create', target: id, tenantId: id, detail: { name } })
      .run((q) => new TenantsRepository(q).create(id, name));
  }

  /**
   * Devices and keys are created for existing tenants only: a typo must not invent a tenant. Runs in
   * the caller's transaction, so the check and the creation see the same database.
   */
  async assertExists(q: Queryable, id: string): Promise<void> {
    if (!(await new TenantsRepository(q).exists(id)))
      throw apiError('TENANT_NOT_FOUND', `No tenant with id ${id}`, { tenantId: id });
  }
}
