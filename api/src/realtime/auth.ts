import type { ApiKeyScope } from '@clutch/identity';
import type { Socket } from 'socket.io';

/** Who is on the other end of a socket, once handshake auth exists. */
export interface SocketPrincipal {
  /** Undefined in single-tenant dev mode and for administrators. */
  tenantId?: string;
  /** The API key the socket authenticated with: its revocation ends the socket. */
  keyId?: string;
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

/** Whether a principal may watch a vehicle. Dev mode: any vehicle that exists. */
export type SubscribeAuthorizer = (principal: SocketPrincipal, vehicleId: string) => Promise<boolean>;

export const allowAllSubscriptions: SubscribeAuthorizer = async () => true;
