import type { Server as HttpServer } from 'node:http';
import { isRevocation, type LiveEvent, type LiveEventBus } from '@clutch/contracts';
import type { Logger } from 'pino';
import { Server as SocketIOServer, type Socket } from 'socket.io';
import { z } from 'zod';
import { apiErrors, type ApiErrorCode } from '../errors.js';
import { allowAllHandshakes, allowAllSubscriptions, type HandshakeAuthenticator, type SocketPrincipal, type SubscribeAuthorizer } from './auth.js';

export interface RealtimeDeps {
  bus: LiveEventBus;
  vehicleExists: (vehicleId: string) => Promise<boolean>;
  logger: Logger;
  authenticateHandshake?: HandshakeAuthenticator;
  authorizeSubscribe?: SubscribeAuthorizer;
  /** Rooms one socket may join; bounds what a single client can make the server fan out. */
  maxSubscriptionsPerSocket?: number;
}

export type SubscribeAck = { ok: true } | { ok: false; error: { code: ApiErrorCode; message: string } };

export const vehicleRoom = (vehicleId: string): string => `vehicle:${vehicleId}`;

const subscribeMessage = z.object({ vehicleId: z.guid() });

function failure(code: ApiErrorCode, message?: string): SubscribeAck {
  return { ok: false, error: { code, message: message ?? apiErrors[code].title } };
}

/**
 * Attaches Socket.io to an HTTP server and relays bus events to per-vehicle rooms. Clients send
 * `subscribe {vehicleId}` / `unsubscribe {vehicleId}`; the server emits `readings` and `presence`.
 */
export function attachRealtime(server: HttpServer, deps: RealtimeDeps): SocketIOServer {
  const authenticate = deps.authenticateHandshake ?? allowAllHandshakes;
  const authorize = deps.authorizeSubscribe ?? allowAllSubscriptions;
  const maxSubscriptions = deps.maxSubscriptionsPerSocket ?? 50;
  const log = deps.logger.child({ component: 'realtime' });

  const io = new SocketIOServer(server, { serveClient: true, cors: { origin: false } });

  io.use((socket, next) => {
    authenticate(socket).then(
      (principal) => {
        if (!principal) return next(new Error('unauthorized'));
        (socket.data as { principal?: SocketPrincipal }).principal = principal;
        next();
      },
      (err: unknown) => {
        log.error({ err }, 'handshake authentication failed');
        next(new Error('unauthorized'));
      },
    );
  });

  io.on('connection', (socket: Socket) => {
    const principal = (socket.data as { principal?: SocketPrincipal }).principal ?? {};

    socket.on('subscribe', async (payload: unknown, ack?: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (a: SubscribeAck) => void) : () => {};
      const parsed = subscribeMessage.safeParse(payload);
      if (!parsed.success) return reply(failure('VALIDATION_FAILED', 'subscribe expects {vehicleId: <uuid>}'));
      const { vehicleId } = parsed.data;
      const room = vehicleRoom(vehicleId);
      if (socket.rooms.has(room)) return reply({ ok: true });
      const joined = [...socket.rooms].filter((r) => r.startsWith('vehicle:')).length;
      if (joined >= maxSubscriptions) return reply(failure('SUBSCRIPTION_LIMIT', `at most ${maxSubscriptions} vehicles per connection`));
      try {
        // Same answer for "absent" and "not yours", so ids of other tenants cannot be probed.
        if (!(await deps.vehicleExists(vehicleId)) || !(await authorize(principal, vehicleId))) {
          return reply(failure('VEHICLE_NOT_FOUND', `No vehicle with id ${vehicleId}`));
        }
        await socket.join(room);
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
      await socket.leave(vehicleRoom(parsed.data.vehicleId));
      reply({ ok: true });
    });
  });

  const relay = (event: LiveEvent): void => {
    // Device administration stays server-side; everything else goes to the vehicle's room under its
    // type, without the tenant id (the room already scopes it).
    if (isRevocation(event)) return;
    const { type, tenantId: _tenant, ...payload } = event;
    io.to(vehicleRoom(event.vehicleId)).emit(type, payload);
  };
  const unsubscribe = deps.bus.subscribe(relay);
  // io.close() closes the HTTP server too, so this covers both ways of shutting down.
  server.once('close', unsubscribe);
  return io;
}
