import type { LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyScope, type ApiKeySummary } from '@clutch/identity';
import type { TenantsService } from '../tenants/service.js';

export interface CreatedApiKey {
  keyId: string;
  tenantId: string;
  name: string;
  scopes: ApiKeyScope[];
  /** ISO 8601; null for a key without expiry. */
  expiresAt: string | null;
  /** `ck_<id>_<secret>`, shown once. */
  token: string;
}

/** A key as listed: no secret, dates as ISO 8601. */
export interface ApiKeyView {
  keyId: string;
  tenantId: string;
  name: string;
  scopes: ApiKeyScope[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

function view(key: ApiKeySummary): ApiKeyView {
  return {
    keyId: key.keyId, tenantId: key.tenantId, name: key.name, scopes: key.scopes,
    createdAt: key.createdAt.toISOString(), expiresAt: iso(key.expiresAt), lastUsedAt: iso(key.lastUsedAt), revokedAt: iso(key.revokedAt),
  };
}

/** Partner API keys; hashing and verification live in @clutch/identity. */
export class ApiKeysService {
  constructor(
    private readonly db: Database,
    private readonly tenants: TenantsService,
    private readonly bus: LiveEventBus,
  ) {}

  async create(request: { tenantId: string; name: string; scopes: readonly ApiKeyScope[]; expiresAt?: Date | undefined }): Promise<CreatedApiKey> {
    await this.tenants.assertExists(request.tenantId);
    const key = await createApiKey(this.db, request);
    return { keyId: key.keyId, tenantId: key.tenantId, name: request.name, scopes: key.scopes, expiresAt: iso(key.expiresAt), token: key.token };
  }

  async list(tenantId?: string): Promise<{ apiKeys: ApiKeyView[] }> {
    return { apiKeys: (await listApiKeys(this.db, tenantId)).map(view) };
  }

  /**
   * Revokes the key, then tells every process holding live sessions (brokers: MQTT and
   * MQTT-over-WebSocket; API: Socket.io) to end those that used it. The REST check reads the
   * database on every request, so it stops at once without the event.
   */
  async revoke(tenantId: string, keyId: string): Promise<void> {
    await revokeApiKey(this.db, tenantId, keyId);
    this.bus.publish({ type: 'api-key-revoked', tenantId, keyId });
  }
}
