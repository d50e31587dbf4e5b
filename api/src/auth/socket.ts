import type { Database } from '@clutch/db';
import type { HandshakeAuthenticator, SubscribeAuthorizer } from '../realtime/auth.js';
import { VehiclesRepository } from '../vehicles/repository.js';
import type { Authenticator } from './authenticate.js';

/**
 * Socket.io hooks for `requireAuth`: the handshake carries the same bearer token as REST
 * (`io({ auth: { token } })`); partners need `telemetry:read` and may join only their tenant's
 * vehicles (checked under row-level security).
 */
export function socketAuth(db: Database, authenticate: Authenticator): { authenticateHandshake: HandshakeAuthenticator; authorizeSubscribe: SubscribeAuthorizer } {
  return {
    async authenticateHandshake(socket) {
      const token: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
      if (typeof token !== 'string' || token === '') return undefined;
      const principal = await authenticate(`Bearer ${token}`).catch(() => undefined);
      if (!principal) return undefined;
      if (principal.kind === 'admin') return {};
      return principal.scopes.includes('telemetry:read') ? { tenantId: principal.tenantId } : undefined;
    },
    async authorizeSubscribe(principal, vehicleId) {
      if (principal.tenantId === undefined) return true;
      return db.withTenant(principal.tenantId, (q) => new VehiclesRepository(q).exists(vehicleId));
    },
  };
}
