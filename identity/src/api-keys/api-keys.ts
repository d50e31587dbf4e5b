import { randomBytes } from 'node:crypto';
import type { Queryable } from '@clutch/db';
import { identityError } from '../errors.js';
import { newSecret, secretMatches, sha256 } from '../secrets/secrets.js';

/** What a partner's key may do. Read scopes map one-to-one to topic kinds on the broker. */
export const API_KEY_SCOPES = ['telemetry:read', 'location:read', 'status:read', 'dtc:read', 'commands:write'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export interface ApiKeyPrincipal {
  keyId: string;
  tenantId: string;
  scopes: ApiKeyScope[];
  /**
   * When the key stops working; null for a key without expiry. Holders of long-lived sessions
   * (MQTT connections, Socket.io sockets) end them at this instant: no sweep re-checks them.
   */
  expiresAt: Date | null;
}

/** A key as an administrator sees it: everything but the secret, which is never stored in clear. */
export interface ApiKeySummary {
  keyId: string;
  tenantId: string;
  name: string;
  scopes: ApiKeyScope[];
  createdAt: Date;
  expiresAt: Date | null;
  /** Last successful verification, to the minute (see verifyApiKey). */
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const TOKEN = /^ck_([a-z0-9]{8,32})_([A-Za-z0-9_-]{20,100})$/;

const toDate = (value: unknown): Date | null =>
  value === null || value === undefined ? null : new Date(value as string | Date);

/** Creates a key; the token `ck_<id>_<secret>` is returned once (REST bearer token and MQTT password). */
export async function createApiKey(
  db: Queryable,
  request: { tenantId: string; name: string; scopes: readonly string[]; expiresAt?: Date | undefined },
): Promise<ApiKeyPrincipal & { token: string }> {
  const unknown = request.scopes.filter((s) => !(API_KEY_SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0 || request.scopes.length === 0)
    throw identityError('INVALID_SCOPE', { scopes: unknown, allowed: API_KEY_SCOPES });
  const expiresAt = request.expiresAt ?? null;
  if (expiresAt && !(expiresAt.getTime() > Date.now()))
    throw identityError('API_KEY_EXPIRY_INVALID', { expiresAt: expiresAt.toISOString() });
  const keyId = randomBytes(8).toString('hex');
  const secret = newSecret();
  await db.query(
    'INSERT INTO api_keys (id, tenant_id, name, scopes, secret_sha256, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
    [keyId, request.tenantId, request.name, [...request.scopes], sha256(secret), expiresAt],
  );
  return {
    keyId,
    tenantId: request.tenantId,
    scopes: [...request.scopes] as ApiKeyScope[],
    expiresAt,
    token: `ck_${keyId}_${secret}`,
  };
}

/**
 * The key's tenant, scopes and expiry when the token is valid, not revoked and not expired; null
 * otherwise. Records the use in `last_used_at`, but at most once a minute per key: the row says
 * whether its stamp is stale, so a busy key costs one read per request and one write a minute.
 */
export async function verifyApiKey(db: Queryable, token: string): Promise<ApiKeyPrincipal | null> {
  const match = TOKEN.exec(token);
  if (!match) return null;
  const keyId = match[1]!;
  const { rows } = await db.query<{
    tenant_id: string;
    scopes: string[];
    secret_sha256: Uint8Array;
    expires_at: Date | string | null;
    stale: boolean;
  }>(
    `SELECT tenant_id, scopes, secret_sha256, expires_at,
            (last_used_at IS NULL OR last_used_at < now() - interval '1 minute') AS stale
       FROM api_keys
      WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
    [keyId],
  );
  const row = rows[0];
  if (!row || !secretMatches(match[2]!, row.secret_sha256)) return null;
  if (row.stale) {
    // The guard repeats the staleness test, so concurrent verifications write once between them.
    await db.query(
      `UPDATE api_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [keyId],
    );
  }
  return { keyId, tenantId: row.tenant_id, scopes: row.scopes as ApiKeyScope[], expiresAt: toDate(row.expires_at) };
}

export async function revokeApiKey(db: Queryable, tenantId: string, keyId: string): Promise<void> {
  const result = await db.query(
    'UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL',
    [tenantId, keyId],
  );
  if (result.rowCount === 0) throw identityError('API_KEY_NOT_FOUND', { tenantId, keyId });
}

/** Every key (of one tenant when given), oldest first; revoked and expired ones included, secrets never. */
export async function listApiKeys(db: Queryable, tenantId?: string): Promise<ApiKeySummary[]> {
  const { rows } = await db.query<{
    id: string;
    tenant_id: string;
    name: string;
    scopes: string[];
    created_at: Date | string;
    expires_at: Date | string | null;
    last_used_at: Date | string | null;
    revoked_at: Date | string | null;
  }>(
    `SELECT id, tenant_id, name, scopes, created_at, expires_at, last_used_at, revoked_at
       FROM api_keys
      WHERE $1::text IS NULL OR tenant_id = $1
      ORDER BY tenant_id, created_at, id`,
    [tenantId ?? null],
  );
  return rows.map((r) => ({
    keyId: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    scopes: r.scopes as ApiKeyScope[],
    createdAt: new Date(r.created_at),
    expiresAt: toDate(r.expires_at),
    lastUsedAt: toDate(r.last_used_at),
    revokedAt: toDate(r.revoked_at),
  }));
}
