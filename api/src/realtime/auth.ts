import type { ApiKeyScope } from '@clutch/identity';
import type { Socket } from 'socket.io';

/** Who is on the other end of a socket, once handshake auth exists. */
export interface SocketPrincipal {
  /** Undefined in single-tenant dev mode and for administrators. */
  tenantId?: string;
  /** The API key the socket authenticated with: its revocation ends the socket. */
  keyId?: string;
  /** The signed-in user and session (a user's token or cookie): revoking the session or changing their roles ends the socket. */
  userId?: string;
  sessionId?: string;
  /** What the socket may receive (see EVENT_SCOPES); undefined = everything (administrators, dev mode). */
  scopes?: readonly ApiKeyScope[];
  /** When the key expires; the socket is ended then. */
  expiresAt?: Date | null;
}

/**
 * Decides whether a Socket.io handshake may connect; return undefined to refuse. This is the hook
 * for token auth (read `socket.handshake.auth.token`). Dev mode accepts everyone.
 */
export type HandshakeAuthenticator = (socket: Socket) => Promise<SocketPrincipal | undefined>;

export const allowAllHandshakes: HandshakeAuthenticator = async () => ({});

/**
 * Whether a principal may watch a vehicle: false, true (every event its scopes cover), or the scopes
 * it may receive for this vehicle (a vehicle shared for some permissions only) and, when that ends
 * by itself (a time-bound grant or share), the instant it does (epoch ms). Dev mode: any vehicle
 * that exists.
 */
export type SubscribeAuthorizer = (principal: SocketPrincipal, vehicleId: string) => Promise<SubscribeGrant>;

export type SubscribeGrant = boolean | { scopes: readonly ApiKeyScope[]; until?: number | undefined };

export const allowAllSubscriptions: SubscribeAuthorizer = async () => true;
