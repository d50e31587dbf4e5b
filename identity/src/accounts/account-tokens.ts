import type { Queryable } from '@clutch/db';
import { newOpaqueToken, opaqueDigest } from '../tokens/opaque.js';

/** What an emailed link does; each kind has its own prefix so one can never pass for another. */
export type AccountTokenPurpose = 'verify-email' | 'password-reset' | 'invitation';

const PREFIX: Record<AccountTokenPurpose, string> = {
  'verify-email': 'cve',
  'password-reset': 'cpr',
  invitation: 'cin',
};

/** Lifetimes: a reset link is a key to the account, so short; a verification or invitation can wait longer. */
export const ACCOUNT_TOKEN_TTL_SECONDS: Record<AccountTokenPurpose, number> = {
  'verify-email': 24 * 3600,
  'password-reset': 30 * 60,
  invitation: 7 * 24 * 3600,
};

/**
 * A new single-use token for a user; earlier unused tokens of the same purpose stop working (only
 * the newest link in the inbox counts). Returns the token to put in the link; the database keeps
 * only its SHA-256.
 */
export async function issueAccountToken(
  q: Queryable,
  input: { userId: string; tenantId: string; purpose: AccountTokenPurpose; ttlSeconds?: number },
): Promise<string> {
  await q.query(`UPDATE account_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL`, [
    input.userId,
    input.purpose,
  ]);
  const { token, digest } = newOpaqueToken(PREFIX[input.purpose]);
  await q.query(
    `INSERT INTO account_tokens (tenant_id, user_id, purpose, token_sha256, expires_at)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
    [input.tenantId, input.userId, input.purpose, digest, input.ttlSeconds ?? ACCOUNT_TOKEN_TTL_SECONDS[input.purpose]],
  );
  return token;
}

/**
 * Uses a token up: the user it was issued to when it is of this purpose, unused and unexpired;
 * null otherwise. One UPDATE, so two concurrent uses cannot both succeed.
 */
export async function consumeAccountToken(
  q: Queryable,
  purpose: AccountTokenPurpose,
  token: string,
): Promise<{ userId: string; tenantId: string } | null> {
  const digest = opaqueDigest(PREFIX[purpose], token);
  if (!digest) return null;
  const { rows } = await q.query<{ user_id: string; tenant_id: string }>(
    `UPDATE account_tokens SET used_at = now()
      WHERE token_sha256 = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
      RETURNING user_id, tenant_id`,
    [digest, purpose],
  );
  const row = rows[0];
  return row ? { userId: row.user_id, tenantId: row.tenant_id } : null;
}
