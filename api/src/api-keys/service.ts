import type { Database } from '@clutch/db';
import { createApiKey, revokeApiKey, type ApiKeyScope } from '@clutch/identity';
import type { TenantsService } from '../tenants/service.js';

export interface CreatedApiKey {
  keyId: string;
  tenantId: string;
  name: string;
  scopes: ApiKeyScope[];
  /** `ck_<id>_<secret>`, shown once. */
  token: string;
}

/** Partner API keys; hashing and verification live in @clutch/identity. */
export class ApiKeysService {
  constructor(
    private readonly db: Database,
    private readonly tenants: TenantsService,
  ) {}

  async create(request: { tenantId: string; name: string; scopes: readonly ApiKeyScope[] }): Promise<CreatedApiKey> {
    await this.tenants.assertExists(request.tenantId);
    const key = await createApiKey(this.db, request);
    return { keyId: key.keyId, tenantId: key.tenantId, name: request.name, scopes: key.scopes, token: key.token };
  }

  revoke(tenantId: string, keyId: string): Promise<void> {
    return revokeApiKey(this.db, tenantId, keyId);
  }
}
