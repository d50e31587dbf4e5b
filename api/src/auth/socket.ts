import type { Database } from '@clutch/db';
import { decide, EMPTY_SNAPSHOT, type PolicyStore } from '@clutch/identity';
import type { RequestAuthenticator } from '../http/rate-limit.js';
import { ACCESS_COOKIE } from '../sessions/cookies.js';
import { vehicleResource } from '../vehicles/access.js';
import { subjectRefOf, type Principal } from './principal.js';
import { Scope, type AuditLog } from './scope.js';
import type { HandshakeAuthenticator, SubscribeAuthorizer } from '../realtime/auth.js';
import { LIVE_SCOPES } from '../realtime/event-scopes.js';

/** The access cookie from a handshake's Cookie header (browsers send it with the WebSocket upgrade). */
function accessCookie(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === ACCESS_COOKIE) return decodeURIComponent(part.slice(at + 1).trim());
  }
  return undefined;
}

/**
 * Socket.io hooks. The handshake carries the same credential as REST: a bearer token
 * (`io({ auth: { token } })`: the admin token, an API key, a user's access token) or, from a browser,
 * the session's access cookie (the Origin check in front of every handshake keeps other sites out).
 * It goes through the same failed-authentication limiter.
 *
 * What a socket may receive is decided by the same policy function as REST: a caller needs at least
 * one live-event permission (EVENT_SCOPES), possibly only for some vehicles, to connect; each
 * `subscribe` is decided on the vehicle itself (row-level security and the policy: an owner's own
 * vehicles, a shop's vehicles and those shared with it, for the shared permissions only), and joins
 * only the rooms of the permissions allowed there, until a time-bound grant or share ends.
 */
export function socketAuth(
  db: Database,
  authenticate: RequestAuthenticator,
  audit: AuditLog,
  policy: PolicyStore,
): { authenticateHandshake: HandshakeAuthenticator; authorizeSubscribe: SubscribeAuthorizer } {
  return {
    async authenticateHandshake(socket) {
      const token: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
      // The same rule as REST: no token is a development admin only where auth is not required, and
      // a token, when given, decides who the socket is in every mode (so revoking it ends the socket).
      const bearer = typeof token === 'string' && token !== '' ? token : accessCookie(socket.handshake.headers.cookie);
      const header = bearer !== undefined ? `Bearer ${bearer}` : undefined;
      const principal = await authenticate(header, socket.handshake.address).catch(() => undefined);
      if (!principal) return undefined;
      if (principal.kind === 'admin') return {};
      // The live permissions held at all (for some vehicles at least); none: nothing to receive.
      const ref = subjectRefOf(principal);
      const [snapshot, subject] = await Promise.all([
        ref.kind === 'user' ? policy.snapshot() : EMPTY_SNAPSHOT,
        policy.subject(ref),
      ]);
      const now = policy.now();
      const scopes = LIVE_SCOPES.filter((scope) => {
        const d = decide(snapshot, subject, scope, undefined, now);
        return d.allow || d.conditional === true;
      });
      if (scopes.length === 0) return undefined;
      if (principal.kind === 'user') {
        // A user's socket lives until the session is revoked or the user's roles change (the
        // gateway ends it then); it is not cut at the access token's ten-minute expiry.
        return { tenantId: principal.tenantId, userId: principal.userId, sessionId: principal.sessionId, scopes };
      }
      return { tenantId: principal.tenantId, keyId: principal.keyId, scopes, expiresAt: principal.expiresAt };
    },

    async authorizeSubscribe(who, vehicleId) {
      if (who.tenantId === undefined) return true;
      // The principal again, from the ids the handshake kept (what the scope and the policy need).
      const principal: Principal =
        who.userId !== undefined
          ? {
              kind: 'user',
              userId: who.userId,
              tenantId: who.tenantId,
              sessionId: who.sessionId ?? '',
              mfaAt: null,
              expiresAt: new Date(0),
            }
          : {
              kind: 'partner',
              tenantId: who.tenantId,
              keyId: who.keyId ?? '',
              scopes: who.scopes ?? [],
              expiresAt: who.expiresAt ?? null,
            };
      // Under the caller's own row-level security: another tenant's (or owner's) vehicle is not there at all.
      const scope = Scope.for(db, principal, audit);
      const resource = await scope.run((q) => vehicleResource(q, vehicleId));
      if (!resource) return false;
      const [snapshot, subject] = await Promise.all([
        principal.kind === 'user' ? policy.snapshot() : EMPTY_SNAPSHOT,
        policy.subject(subjectRefOf(principal)),
      ]);
      const now = policy.now();
      const allowed: (typeof LIVE_SCOPES)[number][] = [];
      let until: number | undefined;
      for (const scope of who.scopes ?? LIVE_SCOPES) {
        const d = decide(snapshot, subject, scope, resource, now);
        if (!d.allow) continue;
        allowed.push(scope);
        if (d.until !== undefined) until = until === undefined ? d.until : Math.min(until, d.until);
      }
      return { scopes: allowed, until };
    },
  };
}
