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
}

const TOKEN = /^ck_([a-z0-9]{8,32})_([A-Za-z0-9_-]{20,100})$/;

/** Creates a key; the token `ck_<id>_<secret>` is returned once (REST bearer token and MQTT password). */
export async function createApiKey(
  db: Queryable,
  request: { tenantId: string; name: string; scopes: readonly string[] },
): Promise<ApiKeyPrincipal & { token: string }> {
  const unknown = request.scopes.filter((s) => !(API_KEY_SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0 || request.scopes.length === 0) throw identityError('INVALID_SCOPE', { scopes: unknown, allowed: API_KEY_SCOPES });
  const keyId = randomBytes(8).toString('hex');
  const secret = newSecret();
  await db.query('INSERT INTO api_keys (id, tenant_id, name, scopes, secret_sha256) VALUES ($1, $2, $3, $4, $5)', [
    keyId, request.tenantId, request.name, [...request.scopes], sha256(secret),
  ]);
  return { keyId, tenantId: request.tenantId, scopes: [...request.scopes] as ApiKeyScope[], token: `ck_${keyId}_${secret}` };
}

/** The key's tenant and scopes when the token is valid and not revoked; null otherwise. */
export async function verifyApiKey(db: Queryable, token: string): Promise<ApiKeyPrincipal | null> {
  const match = TOKEN.exec(token);
  if (!match) return null;
  const { rows } = await db.query<{ tenant_id: string; scopes: string[]; secret_sha256: Uint8Array }>(
    'SELECT tenant_id, scopes, secret_sha256 FROM api_keys WHERE id = $1 AND revoked_at IS NULL',
    [match[1]],
  );
  const row = rows[0];
  if (!row || !secretMatches(match[2]!, row.secret_sha256)) return null;
  return { keyId: match[1]!, tenantId: row.tenant_id, scopes: row.scopes as ApiKeyScope[] };
}

export async function revokeApiKey(db: Queryable, tenantId: string, keyId: string): Promise<void> {
  const result = await db.query('UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL', [tenantId, keyId]);
  if (result.rowCount === 0) throw identityError('API_KEY_NOT_FOUND', { tenantId, keyId });
}
