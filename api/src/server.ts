import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server as SocketIOServer } from 'socket.io';
import { createApi, type ApiDeps } from './app.js';

export interface ApiServerOptions extends ApiDeps {
  /** 0 picks a free port (tests). */
  port: number;
  host?: string;
}

export interface ApiServer {
  url: string;
  port: number;
  server: Server;
  io: SocketIOServer;
  close(): Promise<void>;
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { port, host = '127.0.0.1', ...deps } = options;
  const api = createApi(deps);
  const server = createServer(api.app.callback());
  const io = api.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    server,
    io,
    close() {
      // Socket.io disconnects its clients and closes the HTTP server; keep-alive sockets must go too.
      closing ??= new Promise<void>((resolve, reject) => {
        io.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
