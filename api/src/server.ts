import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server as SocketIOServer } from 'socket.io';
import { API_PREFIX, createApi, type ApiDeps } from './app.js';
import { ATTACHMENT_UPLOAD_PATH } from './chat/attachments/routes.js';
import { UPLOAD_TIMEOUT_MS } from './chat/attachments/service.js';

/** Socket-level limits of the HTTP server; the defaults suit the dashboard and partner clients. */
export interface ConnectionLimits {
  /** The whole request (headers and body) must arrive within this (Node's `requestTimeout`); default 10 s. */
  requestTimeoutMs: number;
  /** The headers must arrive within this (Node's `headersTimeout`, at most `requestTimeoutMs`); default 10 s. */
  headersTimeoutMs: number;
  /** Open connections (HTTP keep-alive and Socket.io alike); further ones are dropped. Default 10,000. */
  maxConnections: number;
  /**
   * A chat attachment upload (`POST /api/chat/rooms/:id/attachments`, up to 20 MB) may take this
   * long instead of `requestTimeoutMs`: a large allowed file on a slow uplink. Its body reader gives
   * up with a 408 problem at UPLOAD_TIMEOUT_MS; this is Node's backstop. Default 55 s.
   */
  uploadTimeoutMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  maxConnections: 10_000,
  uploadTimeoutMs: UPLOAD_TIMEOUT_MS + 5_000,
};

const isUpload = (url: string | undefined): boolean => {
  if (!url?.startsWith(`${API_PREFIX}/`)) return false;
  const q = url.indexOf('?');
  return ATTACHMENT_UPLOAD_PATH.test(url.slice(API_PREFIX.length, q < 0 ? undefined : q));
};

/**
 * Node's `requestTimeout` is one value for the whole server, so it is set to the uploads' and every
 * other request whose body is still arriving after `timeoutMs` is answered 408 and closed here, as
 * Node would. Requests without a body are complete once their headers are (`headersTimeout`).
 */
function limitOtherRequests(server: Server, timeoutMs: number): void {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'POST' && isUpload(req.url)) return;
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody || req.complete) return;
    const timer = setTimeout(() => {
      if (req.complete) return;
      if (!res.headersSent) res.writeHead(408, { connection: 'close' }).end();
      req.socket.destroy();
    }, timeoutMs);
    const clear = (): void => clearTimeout(timer);
    req.once('end', clear);
    res.once('close', clear);
  });
}

export interface ApiServerOptions extends ApiDeps {
  /** 0 picks a free port (tests). */
  port: number;
  host?: string;
  connections?: Partial<ConnectionLimits>;
}

export interface ApiServer {
  url: string;
  port: number;
  server: Server;
  io: SocketIOServer;
  close(): Promise<void>;
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { port, host = '127.0.0.1', connections, ...deps } = options;
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...connections };
  const api = createApi({ ...deps, bindHost: deps.bindHost ?? host });
  const server = createServer(
    {
      // Node's defaults (300 s for a request) let a slow sender hold a socket for minutes. Uploads
      // get longer; limitOtherRequests holds every other request to requestTimeoutMs.
      requestTimeout: Math.max(limits.requestTimeoutMs, limits.uploadTimeoutMs),
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      // Node checks those timeouts only this often (default 30 s): check every second.
      connectionsCheckingInterval: Math.min(1000, limits.requestTimeoutMs),
    },
    api.app.callback(),
  );
  server.maxConnections = limits.maxConnections;
  if (limits.uploadTimeoutMs > limits.requestTimeoutMs) limitOtherRequests(server, limits.requestTimeoutMs);
  let dropped = 0;
  server.on('drop', () => {
    // One warning per burst, not one per refused connection.
    if (dropped++ === 0)
      setTimeout(() => {
        deps.logger?.warn(
          { dropped, maxConnections: limits.maxConnections },
          'connections refused: the connection cap is reached',
        );
        dropped = 0;
      }, 10_000).unref();
  });
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
