import type { Database } from '@clutch/db';
import type { RequestAuthenticator } from '../http/rate-limit.js';
import { Scope, type AuditLog } from './scope.js';
import type { HandshakeAuthenticator, SubscribeAuthorizer } from '../realtime/auth.js';
import { LIVE_SCOPES } from '../realtime/event-scopes.js';
import { VehiclesRepository } from '../vehicles/repository.js';

/**
 * Socket.io hooks: the handshake carries the same bearer token as REST
 * (`io({ auth: { token } })`) and goes through the same failed-authentication limiter. A partner key
 * needs at least one scope that some live event needs (EVENT_SCOPES), and receives only the events
 * its scopes cover; it may join only its tenant's vehicles (checked under row-level security).
 */
export function socketAuth(
  db: Database,
  authenticate: RequestAuthenticator,
  audit: AuditLog,
): { authenticateHandshake: HandshakeAuthenticator; authorizeSubscribe: SubscribeAuthorizer } {
  return {
    async authenticateHandshake(socket) {
      const token: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
      // The same rule as REST: no token is a development admin only where auth is not required, and
      // a token, when given, decides who the socket is in every mode (so revoking it ends the socket).
      const header = typeof token === 'string' && token !== '' ? `Bearer ${token}` : undefined;
      const principal = await authenticate(header, socket.handshake.address).catch(() => undefined);
      if (!principal) return undefined;
      if (principal.kind === 'admin') return {};
      // Signed-in users join rooms once the policy function decides room joins (issue 14).
      if (principal.kind === 'user') return undefined;
      if (!principal.scopes.some((scope) => LIVE_SCOPES.includes(scope))) return undefined;
      return {
        tenantId: principal.tenantId,
        keyId: principal.keyId,
        scopes: principal.scopes,
        expiresAt: principal.expiresAt,
      };
    },
    async authorizeSubscribe(principal, vehicleId) {
      if (principal.tenantId === undefined) return true;
      return Scope.tenant(db, principal.tenantId, audit).run((q) => new VehiclesRepository(q).exists(vehicleId));
    },
  };
}
