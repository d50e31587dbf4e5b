/**
 * One Socket.io connection per page, shared by the notification bell (`notification` events), the chat
 * panel (its room's events) and the marketplace and money pages (booking, repair-order and payment
 * events): the server joins a signed-in user's socket to their own and their organisation's rooms at the
 * handshake (docs/realtime.md), so those only listen; the chat panel subscribes to its room.
 */

export interface LiveSocket {
  readonly connected: boolean;
  on(event: string, handler: (msg: Record<string, unknown>) => void): void;
  emit(event: string, payload: unknown, ack?: (answer: Record<string, unknown>) => void): void;
}

const SOCKET_IO_URL: string = '/socket.io/socket.io.esm.min.js';

let shared: Promise<LiveSocket> | null = null;

/** The page's communication socket, opened on first use; a failed import lets a later call try again. */
export function liveSocket(): Promise<LiveSocket> {
  shared ??= (import(SOCKET_IO_URL) as Promise<{ io: (options: object) => LiveSocket }>).then(
    ({ io }) => io({ transports: ['websocket', 'polling'] }),
    (err: unknown) => {
      shared = null;
      throw err;
    },
  );
  return shared;
}

/**
 * Runs `onConnect` on every (re)connection: now if the socket is already connected, and again after each
 * reconnect (a room subscription does not survive one).
 */
export function onEveryConnect(socket: LiveSocket, onConnect: () => void): void {
  socket.on('connect', onConnect);
  if (socket.connected) onConnect();
}
