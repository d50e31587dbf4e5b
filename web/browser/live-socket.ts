import { refreshSession } from './api.js';

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
  connect(): void;
}

/** At most one session refresh per this long for a refused handshake (a signed-out page stops asking). */
const HANDSHAKE_REFRESH_MS = 30_000;

/**
 * Socket.io does not retry a handshake the server refused: when the access cookie expired before a
 * (re)connection, the socket would stay down for good. Trade the refresh cookie for a new access
 * cookie, as API requests do (api.ts), and connect again.
 */
function reconnectAfterRefusal(socket: LiveSocket): void {
  let lastRefresh = 0;
  socket.on('connect_error', (err) => {
    if ((err as { message?: unknown }).message !== 'unauthorized') return;
    const now = Date.now();
    if (now - lastRefresh < HANDSHAKE_REFRESH_MS) return;
    lastRefresh = now;
    void refreshSession().then((refreshed) => {
      if (refreshed) socket.connect();
    });
  });
}

const SOCKET_IO_URL: string = '/socket.io/socket.io.esm.min.js';

let shared: Promise<LiveSocket> | null = null;

/** The page's communication socket, opened on first use; a failed import lets a later call try again. */
export function liveSocket(): Promise<LiveSocket> {
  shared ??= (import(SOCKET_IO_URL) as Promise<{ io: (options: object) => LiveSocket }>).then(
    ({ io }) => {
      const socket = io({ transports: ['websocket', 'polling'] });
      reconnectAfterRefusal(socket);
      return socket;
    },
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
