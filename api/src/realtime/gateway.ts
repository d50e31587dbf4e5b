import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { isRevocation, type LiveEvent, type LiveEventBus, type RevocationEvent } from '@clutch/contracts';
import type { ApiKeyScope } from '@clutch/identity';
import type { Logger } from 'pino';
import { Server as SocketIOServer, type Socket } from 'socket.io';
import { z } from 'zod';
import { apiErrors, type ApiErrorCode } from '../errors.js';
import {
  allowAllHandshakes,
  allowAllSubscriptions,
  type HandshakeAuthenticator,
  type SocketPrincipal,
  type SubscribeAuthorizer,
} from './auth.js';
import { EVENT_SCOPES, LIVE_SCOPES } from './event-scopes.js';

export interface RealtimeDeps {
  bus: LiveEventBus;
  vehicleExists: (vehicleId: string) => Promise<boolean>;
  logger: Logger;
  authenticateHandshake?: HandshakeAuthenticator;
  authorizeSubscribe?: SubscribeAuthorizer;
  /** Checked before any handshake (Host and Origin); false answers 403. Default: everything. */
  allowRequest?: (req: IncomingMessage) => boolean;
  /** Rooms one socket may join; bounds what a single client can make the server fan out. */
  maxSubscriptionsPerSocket?: number;
}

export type SubscribeAck = { ok: true } | { ok: false; error: { code: ApiErrorCode; message: string } };

/**
 * The room of one vehicle's events that need one scope. A socket joins the rooms of the scopes it
 * holds, and each event goes to the room of its scope: filtering is the adapter's room lookup, which
 * the Redis adapter carries across processes unchanged.
 */
export const vehicleRoom = (vehicleId: string, scope: ApiKeyScope): string => `vehicle:${vehicleId}:${scope}`;

/** The room of the sockets that authenticated with one API key (ended together when it is revoked). */
export const apiKeyRoom = (tenantId: string, keyId: string): string => `api-key:${tenantId}:${keyId}`;

const subscribeMessage = z.object({ vehicleId: z.guid() });

/** setTimeout fires at once past 2^31-1 ms (~24.8 days): longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function failure(code: ApiErrorCode, message?: string): SubscribeAck {
  return { ok: false, error: { code, message: message ?? apiErrors[code].title } };
}

const principalOf = (socket: Socket): SocketPrincipal =>
  (socket.data as { principal?: SocketPrincipal }).principal ?? {};

/** Ends the socket when its key expires; the timer goes when the socket does. */
function endAtExpiry(socket: Socket, expiresAt: Date, log: Logger): void {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const left = expiresAt.getTime() - Date.now();
    if (left <= 0) {
      log.info({ keyId: principalOf(socket).keyId }, 'API key expired: socket ended');
      socket.disconnect(true);
      return;
    }
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  socket.once('disconnect', () => clearTimeout(timer));
}

/**
 * Attaches Socket.io to an HTTP server and relays bus events to per-vehicle, per-scope rooms. Clients
 * send `subscribe {vehicleId}` / `unsubscribe {vehicleId}`; the server emits `readings`, `presence`,
 * `location`, `dtc`, `alert` and `command`, each only to sockets holding its scope (EVENT_SCOPES).
 * A revoked or expired API key ends the sockets that authenticated with it.
 */
export function attachRealtime(server: HttpServer, deps: RealtimeDeps): SocketIOServer {
  const authenticate = deps.authenticateHandshake ?? allowAllHandshakes;
  const authorize = deps.authorizeSubscribe ?? allowAllSubscriptions;
  const maxSubscriptions = deps.maxSubscriptionsPerSocket ?? 50;
  const allowRequest = deps.allowRequest;
  const log = deps.logger.child({ component: 'realtime' });

  const io = new SocketIOServer(server, {
    serveClient: true,
    cors: { origin: false },
    ...(allowRequest ? { allowRequest: (req, callback) => callback(null, allowRequest(req)) } : {}),
  });

  io.use((socket, next) => {
    authenticate(socket).then(
      (principal) => {
        if (!principal) return next(new Error('unauthorized'));
        (socket.data as { principal?: SocketPrincipal }).principal = principal;
        // Joined during the handshake, so a revocation published from here on finds the socket.
        if (principal.keyId !== undefined && principal.tenantId !== undefined)
          void socket.join(apiKeyRoom(principal.tenantId, principal.keyId));
        next();
      },
      (err: unknown) => {
        log.error({ err }, 'handshake authentication failed');
        next(new Error('unauthorized'));
      },
    );
  });

  io.on('connection', (socket: Socket) => {
    const principal = principalOf(socket);
    /** Vehicles this socket watches (each is one room per scope it holds). */
    const vehicles = new Set<string>();
    const scopes = principal.scopes ?? LIVE_SCOPES;
    if (principal.expiresAt) endAtExpiry(socket, principal.expiresAt, log);

    socket.on('subscribe', async (payload: unknown, ack?: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (a: SubscribeAck) => void) : () => {};
      const parsed = subscribeMessage.safeParse(payload);
      if (!parsed.success) return reply(failure('VALIDATION_FAILED', 'subscribe expects {vehicleId: <uuid>}'));
      const { vehicleId } = parsed.data;
      if (vehicles.has(vehicleId)) return reply({ ok: true });
      if (vehicles.size >= maxSubscriptions)
        return reply(failure('SUBSCRIPTION_LIMIT', `at most ${maxSubscriptions} vehicles per connection`));
      try {
        // Same answer for "absent" and "not yours", so ids of other tenants cannot be probed.
        if (!(await deps.vehicleExists(vehicleId)) || !(await authorize(principal, vehicleId))) {
          return reply(failure('VEHICLE_NOT_FOUND', `No vehicle with id ${vehicleId}`));
        }
        if (socket.disconnected) return reply(failure('UNAUTHENTICATED', 'the connection was ended'));
        vehicles.add(vehicleId);
        await socket.join(scopes.map((scope) => vehicleRoom(vehicleId, scope)));
        reply({ ok: true });
      } catch (err) {
        log.error({ err, vehicleId }, 'subscribe failed');
        reply(failure('INTERNAL'));
      }
    });

    socket.on('unsubscribe', async (payload: unknown, ack?: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (a: SubscribeAck) => void) : () => {};
      const parsed = subscribeMessage.safeParse(payload);
      if (!parsed.success) return reply(failure('VALIDATION_FAILED', 'unsubscribe expects {vehicleId: <uuid>}'));
      const { vehicleId } = parsed.data;
      vehicles.delete(vehicleId);
      for (const scope of scopes) await socket.leave(vehicleRoom(vehicleId, scope));
      reply({ ok: true });
    });
  });

  const revoke = (event: RevocationEvent): void => {
    if (event.type !== 'api-key-revoked') return;
    // Every process gets the bus event (Redis pub/sub when scaled out) and ends its own sockets:
    // `local`, so the adapter does not broadcast the same disconnect to the others again.
    io.local.in(apiKeyRoom(event.tenantId, event.keyId)).disconnectSockets(true);
  };

  const relay = (event: LiveEvent): void => {
    // Credential events stay server-side; everything else goes to the room of the vehicle and the
    // event's scope, under its type, without the tenant id (the room already scopes it).
    if (isRevocation(event)) return revoke(event);
    const { type, tenantId: _tenant, ...payload } = event;
    io.to(vehicleRoom(event.vehicleId, EVENT_SCOPES[type])).emit(type, payload);
  };
  const unsubscribe = deps.bus.subscribe(relay);
  // io.close() closes the HTTP server too, so this covers both ways of shutting down.
  server.once('close', unsubscribe);
  return io;
}
