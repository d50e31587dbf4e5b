import type { Socket } from 'socket.io';

/** Who is on the other end of a socket, once handshake auth exists. */
export interface SocketPrincipal {
  /** Undefined in single-tenant dev mode. */
  tenantId?: string;
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
