import type { Queryable } from '@clutch/db';
import { verifyAccessToken, type SigningKeys } from '@clutch/identity';
import type { Principal } from './principal.js';

/** The username a signed-in person connects with; the password is their access token. */
export const USER_USERNAME = 'user';

export type UserLogin =
  { ok: true; principal: Extract<Principal, { kind: 'user' }> } | { ok: false; reason: string; revoked: boolean };

/**
 * A user's CONNECT: the access token must be signed by one of the deployment's keys (the same
 * verification keys the API publishes as its JWK Set), unexpired, and its session still live (not
 * revoked, not past its end, the account active). The session is read from the database at each
 * CONNECT; once connected, a revocation reaches the broker as the outbox's `session-revoked` event.
 */
export async function identifyUser(db: Queryable, keys: SigningKeys, token: string): Promise<UserLogin> {
  const claims = await verifyAccessToken(keys, token);
  if (!claims) return { ok: false, reason: 'access token not valid (expired, malformed or not ours)', revoked: false };
  const { rows } = await db.query<{ live: boolean }>(
    `SELECT (s.revoked_at IS NULL AND s.expires_at > now() AND u.status = 'active') AS live
       FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE s.id = $1 AND s.user_id = $2 AND s.tenant_id = $3`,
    [claims.sessionId, claims.userId, claims.tenantId],
  );
  if (rows[0]?.live !== true) return { ok: false, reason: `session ${claims.sessionId} has ended`, revoked: true };
  return {
    ok: true,
    principal: {
      kind: 'user',
      tenantId: claims.tenantId,
      userId: claims.userId,
      sessionId: claims.sessionId,
      expiresAt: claims.expiresAt,
    },
  };
}

/**
 * The account a `user` CONNECT names, for the failed-login limits: the token's subject, read
 * without verifying it (the limiter only counts; a forged subject costs its sender the same delays
 * as a wrong password for that account, never a permanent lock). Undefined when it names none.
 */
export function userLoginAccount(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (token.split('.').length !== 3 || !payload || payload.length > 4096) return undefined;
  try {
    const sub = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
    return typeof sub === 'string' && /^[0-9a-f-]{36}$/.test(sub) ? `user:${sub}` : undefined;
  } catch {
    return undefined;
  }
}
