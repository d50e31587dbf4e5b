import type { Database } from '@clutch/db';

/**
 * How long ended sign-in records stay, from their end (docs/identity.md): long enough for the
 * sessions page, support questions and investigations; the audit log keeps the story after that
 * (sign-ins, revocations and their reasons are rows there, hash-chained).
 */
export const IDENTITY_RETENTION_SECONDS = 30 * 24 * 3600;

export interface PrunedIdentityRecords {
  sessions: number;
  refreshTokens: number;
  accountTokens: number;
}

/**
 * Deletes what ended more than `keepSeconds` ago, in one transaction, as the platform:
 *
 * - sessions revoked, or past their absolute expiry, that long ago, with their refresh tokens (the
 *   whole family goes with its session: a token of a live session is kept however old, since
 *   presenting a replaced one again is what reveals a stolen token);
 * - account tokens (email verification, password reset, invitation) used, or expired unused, that
 *   long ago.
 *
 * Live sessions and anything that ended more recently stay. The durable queue runs it daily
 * (platform/src/builders/jobs.ts, `identity.prune`).
 */
export async function pruneIdentityRecords(
  db: Pick<Database, 'transaction'>,
  keepSeconds: number = IDENTITY_RETENTION_SECONDS,
): Promise<PrunedIdentityRecords> {
  if (!Number.isFinite(keepSeconds) || keepSeconds < 0)
    throw new Error(`pruneIdentityRecords: keepSeconds must be a non-negative number, not ${keepSeconds}`);
  return db.transaction(async (q) => {
    const ended = `SELECT id FROM sessions WHERE coalesce(revoked_at, expires_at) < now() - make_interval(secs => $1)`;
    // Tokens first, counted (the cascade from sessions would delete them uncounted).
    const tokens = await q.query(`DELETE FROM refresh_tokens WHERE session_id IN (${ended})`, [keepSeconds]);
    const sessions = await q.query(`DELETE FROM sessions WHERE id IN (${ended})`, [keepSeconds]);
    const accountTokens = await q.query(
      `DELETE FROM account_tokens WHERE coalesce(used_at, expires_at) < now() - make_interval(secs => $1)`,
      [keepSeconds],
    );
    return { sessions: sessions.rowCount, refreshTokens: tokens.rowCount, accountTokens: accountTokens.rowCount };
  });
}
