import type { Queryable } from '@clutch/db';

/**
 * Marks a sign-in challenge (the jti of a signed `mfa-login` token) as completed; false when it
 * already was, so one password step completes one sign-in. Expired marks are swept on the way.
 * Call it in the transaction that accepts the second factor.
 */
export async function claimLoginChallenge(q: Queryable, challengeId: string, expiresAt: Date): Promise<boolean> {
  await q.query(`DELETE FROM mfa_used_login_challenges WHERE expires_at < now() - interval '1 minute'`);
  const { rows } = await q.query(
    `INSERT INTO mfa_used_login_challenges (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id`,
    [challengeId, expiresAt],
  );
  return rows.length === 1;
}
