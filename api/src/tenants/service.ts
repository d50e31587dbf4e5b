import type { Database } from '@clutch/db';
import { apiError } from '../errors.js';
import { TenantsRepository } from './repository.js';

export class TenantsService {
  constructor(private readonly db: Database) {}

  create(id: string, name: string): Promise<{ id: string; name: string; created: boolean }> {
    return new TenantsRepository(this.db).create(id, name);
  }

  /** Devices and keys are created for existing tenants only: a typo must not invent a tenant. */
  async assertExists(id: string): Promise<void> {
    if (!(await new TenantsRepository(this.db).exists(id))) throw apiError('TENANT_NOT_FOUND', `No tenant with id ${id}`, { tenantId: id });
  }
}
