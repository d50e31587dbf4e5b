// The reference of the realtime bench: a bare socket.io server on Node's HTTP server, with the
// gateway's own Socket.io settings and no authentication, policy or bus: each socket `join`s the rooms
// it would be in on the gateway, and the bench emits to the same rooms. What it costs is what
// socket.io itself costs; the gateway's figures over these are the price of everything we add.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';

export interface BareServer {
  url: string;
  io: Server;
  close(): Promise<void>;
}

export async function startBareServer(): Promise<BareServer> {
  const http = createServer();
  http.maxConnections = 1_000_000;
  const io = new Server(http, { serveClient: false, cors: { origin: false } });
  io.on('connection', (socket) => {
    socket.on('join', (rooms: unknown, ack?: unknown) => {
      if (Array.isArray(rooms)) void socket.join(rooms.filter((r): r is string => typeof r === 'string'));
      if (typeof ack === 'function') (ack as (ok: boolean) => void)(true);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    io,
    close: () =>
      new Promise<void>((resolve) => {
        io.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
