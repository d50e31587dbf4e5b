import type { Queryable } from '@clutch/db';
import { markSessionMfaRow, revokeSessionRow, revokeUserSessionRows, type Session } from '@clutch/identity';
import { appendLiveEvent } from '@clutch/jobs';
import { recordSecurityEvent } from '../audit/index.js';

/**
 * Revocation as a step of someone's transaction (`q`, run as the platform): the rows change, the
 * audit log says why, and `session-revoked` goes out through the outbox once `q` commits, so every
 * API process forgets the session and its access tokens stop working (api/src/auth/user-tokens.ts).
 *
 * The seams H7 (MFA) and H5 (roles) call: a burst of failed MFA codes, a role removed.
 */
export async function revokeSession(
  q: Queryable,
  sessionId: string,
  reason: string,
  actor?: string,
): Promise<Session | null> {
  const revoked = await revokeSessionRow(q, sessionId, slug(reason));
  if (revoked) await announce(q, [revoked], actor, 'session.revoked');
  return revoked;
}

/** Every live session of the user (`exceptSessionId` kept: "sign out other devices"). */
export async function revokeUserSessions(
  q: Queryable,
  userId: string,
  reason: string,
  options: { exceptSessionId?: string; actor?: string } = {},
): Promise<Session[]> {
  const revoked = await revokeUserSessionRows(q, userId, slug(reason), options.exceptSessionId);
  await announce(q, revoked, options.actor, 'session.revoked');
  return revoked;
}

/**
 * Records an MFA check (a completed step-up) in a live session; false when the session is not
 * live. New access tokens carry it; the authenticator sees it within its cache time, or at once
 * after `SessionsService.forget(sessionId)` (docs/identity.md).
 */
export function markSessionMfa(q: Queryable, sessionId: string, at: Date): Promise<boolean> {
  return markSessionMfaRow(q, sessionId, at);
}

/** Audit rows and outbox events for sessions that were just revoked. */
export async function announce(
  q: Queryable,
  sessions: readonly Session[],
  actor: string | undefined,
  action: 'session.revoked' | 'session.family-revoked' | 'session.evicted',
  ip?: string | null,
): Promise<void> {
  for (const s of sessions) {
    await recordSecurityEvent(q, {
      actor: actor ?? `user:${s.userId}`,
      action,
      target: s.id,
      tenantId: s.tenantId,
      ip: ip ?? null,
      outcome: 'success',
      detail: { userId: s.userId, reason: s.revokedReason, client: s.client, deviceName: s.deviceName },
    });
    await appendLiveEvent(q, { type: 'session-revoked', tenantId: s.tenantId, userId: s.userId, sessionId: s.id });
  }
}

/** Reasons are stored as short slugs (`mfa-failures`, `role-removed`). */
function slug(reason: string): string {
  const s = reason
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 64);
  return s === '' ? 'revoked' : s;
}
