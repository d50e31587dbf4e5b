import { createApiKey, revokeApiKey, type ApiKeyScope } from '@clutch/identity';
import { appendLiveEvent } from '@clutch/jobs';
import type { RequestPolicy } from '../auth/policy.js';
import type { Scope } from '../auth/scope.js';
import { apiError } from '../errors.js';
import type { PageRequest } from '../http/pagination.js';
import { toIso } from '../shared/time.js';
import type { TenantsService } from '../tenants/service.js';
import { ApiKeysRepository, type ApiKeyRow } from './repository.js';

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

export const API_KEY_PAGE = { defaultLimit: 200, maxLimit: 500 } as const;

function view(row: ApiKeyRow): ApiKeyView {
  return {
    keyId: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    scopes: row.scopes as ApiKeyScope[],
    createdAt: toIso(row.created_at) ?? '',
    expiresAt: toIso(row.expires_at),
    lastUsedAt: toIso(row.last_used_at),
    revokedAt: toIso(row.revoked_at),
  };
}

/** Partner API keys; hashing and verification live in @clutch/identity. Creation and revocation are audited. */
export class ApiKeysService {
  constructor(private readonly tenants: TenantsService) {}

  /**
   * Creates a key in `request.tenantId`: platform administration for platform staff and the admin
   * token, a partner admin's own organisation only (`scope.ownOrganisation`). No escalation: a
   * signed-in caller gives a key only scopes they hold themselves on that organisation; a refusal is
   * `403 PERMISSION_ESCALATION`, recorded in the audit log as denied.
   */
  async create(
    scope: Scope,
    policy: RequestPolicy,
    request: { tenantId: string; name: string; scopes: readonly ApiKeyScope[]; expiresAt?: Date | undefined },
  ): Promise<CreatedApiKey> {
    const detail = { name: request.name, scopes: request.scopes, expiresAt: request.expiresAt?.toISOString() ?? null };
    const use = { action: 'api-key.create', tenantId: request.tenantId, detail };
    const where = scope.ownOrganisation(use);
    const missing = await this.unheldScopes(policy, request.tenantId, request.scopes);
    if (missing.length > 0) {
      await scope.ownOrganisation({ ...use, outcome: 'denied', detail: { ...detail, missing } }).run(async () => {});
      throw apiError('PERMISSION_ESCALATION', `You cannot give a key ${missing.join(', ')}: you do not hold it here`, {
        missing: missing.map((permission) => ({ permission, condition: null })),
      });
    }
    const key = await where.run(async (q) => {
      await this.tenants.assertExists(q, request.tenantId);
      return createApiKey(q, request);
    });
    return {
      keyId: key.keyId,
      tenantId: key.tenantId,
      name: request.name,
      scopes: key.scopes,
      expiresAt: key.expiresAt?.toISOString() ?? null,
      token: key.token,
    };
  }

  /** The scopes a signed-in caller does not hold, unconditionally, on the whole organisation (keys and administrators hold what they hold). */
  private async unheldScopes(
    policy: RequestPolicy,
    tenantId: string,
    scopes: readonly ApiKeyScope[],
  ): Promise<ApiKeyScope[]> {
    if (policy.ref.kind !== 'user') return [];
    const organisation = { type: 'tenant', id: tenantId, tenantId };
    const missing: ApiKeyScope[] = [];
    for (const permission of scopes)
      if (!(await policy.decide(permission, organisation)).allow) missing.push(permission);
    return missing;
  }

  async list(
    scope: Scope,
    tenantId: string | undefined,
    page: PageRequest,
  ): Promise<{ apiKeys: ApiKeyView[]; next: string | null }> {
    const where = scope.administration({ action: 'api-key.list', tenantId: tenantId ?? null });
    // Like dead letters: naming another organisation is refused, not answered with an empty page.
    if (tenantId !== undefined && !where.covers(tenantId))
      throw apiError('FORBIDDEN', "You list your own organisation's API keys only", { tenantId });
    const { items, next } = await where.run((q) => new ApiKeysRepository(q).list(tenantId, page));
    return { apiKeys: items.map(view), next };
  }

  /**
   * Revokes the key and, in the same transaction, announces `api-key-revoked` through the outbox:
   * once it commits, the relay tells every process holding live sessions (brokers: MQTT and
   * MQTT-over-WebSocket; API: Socket.io) to end those that used it. The REST check reads the
   * database on every request, so it stops at once without the event.
   */
  async revoke(scope: Scope, tenantId: string, keyId: string): Promise<void> {
    await scope.ownOrganisation({ action: 'api-key.revoke', target: keyId, tenantId }).run(async (q) => {
      await revokeApiKey(q, tenantId, keyId);
      await appendLiveEvent(q, { type: 'api-key-revoked', tenantId, keyId });
    });
  }
}
