// Test helper (imported only by tests): real Socket.io clients signed in with a token, each keeping
// every event it received, and a wait for the first event that matches.
import { io as connect, type Socket } from 'socket.io-client';

export interface Received {
  event: string;
  payload: Record<string, unknown>;
}

export interface LiveSockets {
  /** A connected socket authenticated with `token` (the handshake's policy decisions made). */
  live(token: string): Promise<Socket>;
  /** The first `event` matching `match`, already received or the next; fails after `ms`. */
  arrival(
    socket: Socket,
    event: string,
    match: (p: Record<string, unknown>) => boolean,
    ms?: number,
  ): Promise<Record<string, unknown>>;
  /** Everything the socket received so far. */
  received(socket: Socket): Received[];
  closeAll(): void;
}

/** Sockets to the API at `url()` (a function: the fixture starts after the helper is made). */
export function liveSockets(url: () => string): LiveSockets {
  const sockets: Socket[] = [];
  const inbox = new Map<Socket, Received[]>();
  return {
    async live(token) {
      const socket = connect(url(), {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        auth: { token },
      });
      sockets.push(socket);
      const got: Received[] = [];
      inbox.set(socket, got);
      socket.onAny((event: string, payload: Record<string, unknown>) => got.push({ event, payload }));
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      return socket;
    },
    arrival(socket, event, match, ms = 1000) {
      const got = inbox.get(socket)!;
      const found = (): Received | undefined => got.find((r) => r.event === event && match(r.payload));
      return new Promise((resolve, reject) => {
        const hit = found();
        if (hit) return resolve(hit.payload);
        const timer = setTimeout(() => {
          socket.offAny(check);
          reject(new Error(`no ${event} within ${ms} ms`));
        }, ms);
        const check = (): void => {
          const r = found();
          if (!r) return;
          clearTimeout(timer);
          socket.offAny(check);
          resolve(r.payload);
        };
        socket.onAny(check);
      });
    },
    received: (socket) => inbox.get(socket) ?? [],
    closeAll() {
      for (const s of sockets) s.disconnect();
    },
  };
}
