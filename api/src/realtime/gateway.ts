import type { IncomingMessage, Server as HttpServer } from 'node:http';
import {
  isChatEvent,
  isMarketplaceEvent,
  isRevocation,
  type LiveEvent,
  type LiveEventBus,
  type RevocationEvent,
} from '@clutch/contracts';
import { PLATFORM_TENANT, type ApiKeyScope } from '@clutch/identity';
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
import type { ChatRoomGateway } from './chat-rooms.js';
import { EVENT_SCOPES, LIVE_SCOPES, MARKETPLACE_EVENT_SCOPES } from './event-scopes.js';
import {
  allBookingsRoom,
  roomsOfMarketplaceEvent,
  type MarketplaceRoomAuthorizer,
  type MarketplaceRooms,
} from './marketplace-rooms.js';

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
  /**
   * The marketplace rooms (bookings, repair orders) a socket joins at the handshake. Default: all of
   * them for a principal without a tenant (administrators, dev mode), none for anyone else.
   */
  marketplaceRooms?: MarketplaceRoomAuthorizer;
  /** Chat rooms (chat-rooms.ts): `chat_subscribe`, `chat_typing` and the chat events; absent, chat events are not relayed. */
  chatRooms?: ChatRoomGateway;
}

const adminMarketplaceRooms: MarketplaceRoomAuthorizer = async (principal) => ({
  rooms:
    principal.tenantId === undefined
      ? Object.values(MARKETPLACE_EVENT_SCOPES).map((permission) => allBookingsRoom(permission))
      : [],
});

export type SubscribeAck = { ok: true } | { ok: false; error: { code: ApiErrorCode; message: string } };

/**
 * The room of one vehicle's events that need one scope. A socket joins the rooms of the scopes it
 * holds, and each event goes to the room of its scope: filtering is the adapter's room lookup, which
 * the Redis adapter carries across processes unchanged.
 */
export const vehicleRoom = (vehicleId: string, scope: ApiKeyScope): string => `vehicle:${vehicleId}:${scope}`;

/** The room of the sockets that authenticated with one API key (ended together when it is revoked). */
export const apiKeyRoom = (tenantId: string, keyId: string): string => `api-key:${tenantId}:${keyId}`;

/** Rooms of signed-in users' sockets: per session (revoked), per user (grants changed), per tenant and all (roles changed). */
export const sessionRoom = (sessionId: string): string => `session:${sessionId}`;
export const userRoom = (userId: string): string => `user:${userId}`;
export const tenantUsersRoom = (tenantId: string): string => `users:${tenantId}`;
export const ALL_USERS_ROOM = 'users';

const subscribeMessage = z.object({ vehicleId: z.guid() });

/** setTimeout fires at once past 2^31-1 ms (~24.8 days): longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function failure(code: ApiErrorCode, message?: string): SubscribeAck {
  return { ok: false, error: { code, message: message ?? apiErrors[code].title } };
}

const principalOf = (socket: Socket): SocketPrincipal =>
  (socket.data as { principal?: SocketPrincipal }).principal ?? {};

/** Ends the socket when its key (or a grant it rests on) expires; the timer goes when the socket does. */
function endAtExpiry(socket: Socket, expiresAt: Date, log: Logger, why = 'API key expired: socket ended'): void {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const left = expiresAt.getTime() - Date.now();
    if (left <= 0) {
      log.info({ keyId: principalOf(socket).keyId, userId: principalOf(socket).userId }, why);
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
 * Booking and repair-order events (`booking_update`, `service_status_change`) need no subscribe: a
 * socket joins, at the handshake, the rooms of the shops and customer side the policy function
 * allows it (marketplace-rooms.ts), and each event goes to its shop's and its customer's rooms.
 * A revoked or expired API key ends the sockets that authenticated with it.
 */
export function attachRealtime(server: HttpServer, deps: RealtimeDeps): SocketIOServer {
  const authenticate = deps.authenticateHandshake ?? allowAllHandshakes;
  const authorize = deps.authorizeSubscribe ?? allowAllSubscriptions;
  const maxSubscriptions = deps.maxSubscriptionsPerSocket ?? 50;
  const allowRequest = deps.allowRequest;
  const marketplaceRooms = deps.marketplaceRooms ?? adminMarketplaceRooms;
  const log = deps.logger.child({ component: 'realtime' });

  const io = new SocketIOServer(server, {
    serveClient: true,
    cors: { origin: false },
    ...(allowRequest ? { allowRequest: (req, callback) => callback(null, allowRequest(req)) } : {}),
  });

  /** The marketplace rooms of a principal; a check that fails joins none (fail closed, the socket still serves vehicles). */
  const marketplaceRoomsOf = (principal: SocketPrincipal): Promise<MarketplaceRooms> =>
    marketplaceRooms(principal).catch((err: unknown) => {
      log.error({ err }, 'marketplace room check failed: no booking events on this socket');
      return { rooms: [] };
    });

  io.use((socket, next) => {
    authenticate(socket).then(
      async (principal) => {
        if (!principal) return next(new Error('unauthorized'));
        (socket.data as { principal?: SocketPrincipal }).principal = principal;
        // Joined during the handshake, so a revocation published from here on finds the socket.
        if (principal.keyId !== undefined && principal.tenantId !== undefined)
          void socket.join(apiKeyRoom(principal.tenantId, principal.keyId));
        if (principal.userId !== undefined && principal.tenantId !== undefined)
          void socket.join([
            userRoom(principal.userId),
            tenantUsersRoom(principal.tenantId),
            ALL_USERS_ROOM,
            ...(principal.sessionId !== undefined ? [sessionRoom(principal.sessionId)] : []),
          ]);
        // Bookings and repair orders of the shops and the customer side the policy allows, decided
        // once (after the revocation rooms, so a revocation meanwhile still finds the socket): a
        // change of the user's grants or roles ends the socket, and the reconnect decides again.
        const marketplace = await marketplaceRoomsOf(principal);
        if (marketplace.rooms.length > 0) void socket.join(marketplace.rooms);
        (socket.data as { marketplaceUntil?: number }).marketplaceUntil = marketplace.until;
        next();
      },
      (err: unknown) => {
        log.error({ err }, 'handshake authentication failed');
        next(new Error('unauthorized'));
      },
    );
  });

  /** Every local subscription to a vehicle, so a change of who may see it is re-checked where it matters. */
  const watchers = new Map<string, Set<Watch>>();
  interface Watch {
    tenantId: string | undefined;
    recheck(): Promise<void>;
  }

  io.on('connection', (socket: Socket) => {
    const principal = principalOf(socket);
    /** Vehicles this socket watches: the scopes (rooms) joined for each, and the check that re-decides them. */
    const vehicles = new Map<string, { scopes: readonly ApiKeyScope[]; timer?: NodeJS.Timeout; watch: Watch }>();
    const scopes = principal.scopes ?? LIVE_SCOPES;
    if (principal.expiresAt) endAtExpiry(socket, principal.expiresAt, log);
    deps.chatRooms?.attach(socket, principal);
    // A time-bound grant gave a marketplace room: the socket ends with it, and reconnects without.
    const marketplaceUntil = (socket.data as { marketplaceUntil?: number }).marketplaceUntil;
    if (marketplaceUntil !== undefined)
      endAtExpiry(socket, new Date(marketplaceUntil), log, 'a time-bound grant ended: socket ended');

    /** The scopes the socket may receive for a vehicle now (none: not allowed), and until when. */
    const allowedFor = async (vehicleId: string): Promise<{ scopes: readonly ApiKeyScope[]; until?: number }> => {
      if (!(await deps.vehicleExists(vehicleId))) return { scopes: [] };
      const granted = await authorize(principal, vehicleId);
      if (granted === false) return { scopes: [] };
      if (granted === true) return { scopes };
      return {
        scopes: scopes.filter((s) => granted.scopes.includes(s)),
        ...(granted.until ? { until: granted.until } : {}),
      };
    };

    const drop = async (vehicleId: string): Promise<void> => {
      const sub = vehicles.get(vehicleId);
      if (!sub) return;
      clearTimeout(sub.timer);
      vehicles.delete(vehicleId);
      watchers.get(vehicleId)?.delete(sub.watch);
      if (watchers.get(vehicleId)?.size === 0) watchers.delete(vehicleId);
      for (const scope of sub.scopes) await socket.leave(vehicleRoom(vehicleId, scope));
    };

    /** Joins the rooms now allowed and leaves the others; re-checked when the access it rests on ends. */
    const apply = async (
      vehicleId: string,
      allowed: { scopes: readonly ApiKeyScope[]; until?: number },
    ): Promise<void> => {
      const sub = vehicles.get(vehicleId);
      if (!sub) return;
      for (const scope of sub.scopes)
        if (!allowed.scopes.includes(scope)) await socket.leave(vehicleRoom(vehicleId, scope));
      await socket.join(allowed.scopes.map((scope) => vehicleRoom(vehicleId, scope)));
      sub.scopes = allowed.scopes;
      clearTimeout(sub.timer);
      if (allowed.until !== undefined) {
        // Past setTimeout's limit the check simply runs early and arms again.
        sub.timer = setTimeout(
          () => void sub.watch.recheck(),
          Math.min(Math.max(0, allowed.until - Date.now()), MAX_TIMER_MS),
        );
        sub.timer.unref();
      }
    };

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
        const allowed = await allowedFor(vehicleId);
        if (allowed.scopes.length === 0) return reply(failure('VEHICLE_NOT_FOUND', `No vehicle with id ${vehicleId}`));
        if (socket.disconnected) return reply(failure('UNAUTHENTICATED', 'the connection was ended'));
        if (vehicles.has(vehicleId)) return reply({ ok: true });
        const watch: Watch = {
          tenantId: principal.tenantId,
          recheck: async () => {
            if (!vehicles.has(vehicleId) || socket.disconnected) return;
            try {
              const now = await allowedFor(vehicleId);
              if (now.scopes.length === 0) await drop(vehicleId);
              else await apply(vehicleId, now);
            } catch (err) {
              // Fail closed: a check that cannot be made ends the subscription.
              log.error({ err, vehicleId }, 'subscription re-check failed');
              await drop(vehicleId);
            }
          },
        };
        vehicles.set(vehicleId, { scopes: [], watch });
        let set = watchers.get(vehicleId);
        if (!set) watchers.set(vehicleId, (set = new Set()));
        set.add(watch);
        await apply(vehicleId, allowed);
        reply({ ok: true });
      } catch (err) {
        log.error({ err, vehicleId }, 'subscribe failed');
        await drop(vehicleId);
        reply(failure('INTERNAL'));
      }
    });

    socket.on('unsubscribe', async (payload: unknown, ack?: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (a: SubscribeAck) => void) : () => {};
      const parsed = subscribeMessage.safeParse(payload);
      if (!parsed.success) return reply(failure('VALIDATION_FAILED', 'unsubscribe expects {vehicleId: <uuid>}'));
      await drop(parsed.data.vehicleId);
      reply({ ok: true });
    });

    socket.once('disconnect', () => {
      for (const vehicleId of [...vehicles.keys()]) void drop(vehicleId);
    });
  });

  const revoke = (event: RevocationEvent): void => {
    // Every process gets these events (through the outbox relay and, scaled out, Redis pub/sub) and
    // acts on its own sockets: `local`, so the adapter does not broadcast the same disconnect to the
    // others again. Acting twice (the outbox delivers at least once) is harmless.
    if (event.type === 'session-revoked') return void io.local.in(sessionRoom(event.sessionId)).disconnectSockets(true);
    if (event.type === 'roles-changed') {
      // A share of one vehicle changed: re-decide the subscriptions to it of the tenant it concerns.
      if (event.vehicleId !== undefined) {
        for (const watch of watchers.get(event.vehicleId) ?? [])
          if (watch.tenantId === event.tenantId) void watch.recheck();
        return;
      }
      // Someone's grants changed, or a role did: their sockets end, and they reconnect with the new rights.
      const room =
        event.userId !== undefined
          ? userRoom(event.userId)
          : event.tenantId === PLATFORM_TENANT
            ? ALL_USERS_ROOM
            : tenantUsersRoom(event.tenantId);
      return void io.local.in(room).disconnectSockets(true);
    }
    if (event.type !== 'api-key-revoked') return;
    // The revocation committed with its outbox event, which the relay put on the bus.
    io.local.in(apiKeyRoom(event.tenantId, event.keyId)).disconnectSockets(true);
  };

  // socket.io encodes a packet before it looks up the room's members: without this check every bus event
  // (each car's readings batch) is serialised for rooms no socket of this process is in.
  const occupied = (room: string): boolean => io.of('/').adapter.rooms.has(room);
  const relay = (event: LiveEvent): void => {
    // Credential events stay server-side; everything else goes to the room of the vehicle and the
    // event's scope, under its type, without the tenant id (the room already scopes it). Every API
    // process hears every bus event (Redis pub/sub when scaled out) and tells its own sockets:
    // `local`, or the Redis adapter would also broadcast it to the other processes, which tell
    // theirs already, and a socket would get one copy per API process.
    if (isRevocation(event)) return revoke(event);
    // Chat events go to the chat room's sockets (chat-rooms.ts), whoever's tenant the row names.
    if (isChatEvent(event)) return deps.chatRooms?.relay(io, event);
    if (isMarketplaceEvent(event)) {
      // One emit to every room: a socket in several of them (a fleet user who booked) gets it once.
      const rooms = roomsOfMarketplaceEvent(event).filter(occupied);
      if (rooms.length === 0) return;
      const { type, tenantId: _tenant, ...payload } = event;
      return void io.local.to(rooms).emit(type, payload);
    }
    // A saved normal is for the API's own caches (vehicle-health/parts-cache.ts); clients read calibration over REST.
    if (event.type === 'normal') return;
    if (event.type === 'notification') {
      // A user's inbox: only that user's own sockets (docs/notifications.md).
      const { userId, notification } = event;
      if (!occupied(userRoom(userId))) return;
      return void io.local.to(userRoom(userId)).emit('notification', { userId, notification });
    }
    const room = vehicleRoom(event.vehicleId, EVENT_SCOPES[event.type]);
    if (!occupied(room)) return;
    const { type, tenantId: _tenant, ...payload } = event;
    io.local.to(room).emit(type, payload);
  };
  const unsubscribe = deps.bus.subscribe(relay);
  // io.close() closes the HTTP server too, so this covers both ways of shutting down.
  server.once('close', unsubscribe);
  return io;
}
