import type { ChatEvent } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import type { PolicyStore } from '@clutch/identity';
import type { Logger } from 'pino';
import type { Server as SocketIOServer, Socket } from 'socket.io';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { requestPolicy } from '../auth/policy.js';
import { Scope, type AuditLog } from '../auth/scope.js';
import type { ChatService } from '../chat/service.js';
import { openLiveMessage, type ChatMessageView } from '../chat/views.js';
import { apiError, apiErrors, type ApiErrorCode } from '../errors.js';
import type { SocketPrincipal } from './auth.js';

/** The Socket.io room of one chat room's events. */
export const chatRoom = (roomId: string): string => `chat:${roomId}`;

/** Rooms one socket may follow at once. */
export const MAX_CHAT_ROOMS_PER_SOCKET = 100;
/** Messages one subscribe acknowledges at most; `more: true` says to subscribe again from the last. */
export const CATCH_UP_LIMIT = 200;
/** A socket's typing indicator goes out at most once per room in this window; the rest are dropped. */
export const TYPING_INTERVAL_MS = 1000;

export type ChatSubscribeAck =
  | { ok: true; missed: ChatMessageView[]; more: boolean }
  | { ok: false; error: { code: ApiErrorCode; message: string } };

const subscribeMessage = z.object({ roomId: z.guid(), afterSeq: z.number().int().min(0).default(0) });
const roomMessage = z.object({ roomId: z.guid() });

export interface ChatRoomGateway {
  /** Adds the chat handlers to a connected socket. */
  attach(socket: Socket, principal: SocketPrincipal): void;
  /** Relays a chat event from the bus to its room's sockets on this process. */
  relay(io: SocketIOServer, event: ChatEvent): void;
}

function failure(code: ApiErrorCode, message?: string): ChatSubscribeAck {
  return { ok: false, error: { code, message: message ?? apiErrors[code].title } };
}

/**
 * Chat over Socket.io (docs/chat.md): `chat_subscribe {roomId, afterSeq}` checks in the database that
 * the socket's user takes part in the room (the REST gate, ChatService), joins `chat:<roomId>` and
 * acknowledges `{ok, missed}` with the messages after `afterSeq`: read once before the join (the
 * gate) and once after it, so a message committed meanwhile may come both live and in `missed`;
 * clients keep messages by seq (gap-free per room), which makes a reconnect lose nothing and show
 * nothing twice.
 * `chat_unsubscribe {roomId}` leaves; `chat_typing {roomId}` tells the room's other sockets (not
 * stored, not through the outbox, rate-limited). Events relayed: `chat_message` (the body opened
 * with the key ring here), `chat_read`, `chat_message_deleted`.
 */
export function chatRoomGateway(deps: {
  db: Database;
  audit: AuditLog;
  policy: PolicyStore;
  chat: ChatService;
  logger: Logger;
}): ChatRoomGateway {
  const log = deps.logger.child({ component: 'realtime-chat' });

  /** The sockets of `userId` on this process leave `chat:<roomId>`. */
  const dropFromRoom = async (io: SocketIOServer, roomId: string, userId: string): Promise<void> => {
    try {
      for (const s of await io.local.in(chatRoom(roomId)).fetchSockets())
        if ((s.data as { principal?: SocketPrincipal }).principal?.userId === userId) s.leave(chatRoom(roomId));
    } catch (err) {
      log.error({ err, roomId }, 'could not drop a leaver from the chat room');
    }
  };

  /** The socket's user as the REST routes see one (chat is for signed-in users only). */
  const callerOf = (who: SocketPrincipal) => {
    if (who.userId === undefined || who.tenantId === undefined) return undefined;
    const principal: Principal = {
      kind: 'user',
      userId: who.userId,
      tenantId: who.tenantId,
      sessionId: who.sessionId ?? '',
      mfaAt: null,
      expiresAt: new Date(0),
    };
    return {
      principal,
      scope: Scope.for(deps.db, principal, deps.audit),
      policy: requestPolicy(deps.policy, principal),
      // A socket follows rooms its user takes part in; moderation is the REST routes' (audited).
      administer: () => {
        throw apiError('CHAT_ROOM_NOT_FOUND');
      },
    };
  };

  return {
    attach(socket, who) {
      /** Rooms this socket follows: the user's name there (typing) and when it last typed. */
      const rooms = new Map<string, { displayName: string; typedAt: number }>();

      socket.on('chat_subscribe', async (payload: unknown, ack?: unknown) => {
        const reply = typeof ack === 'function' ? (ack as (a: ChatSubscribeAck) => void) : () => {};
        const parsed = subscribeMessage.safeParse(payload);
        if (!parsed.success)
          return reply(failure('VALIDATION_FAILED', 'chat_subscribe expects {roomId: <uuid>, afterSeq?: <integer>}'));
        const { roomId, afterSeq } = parsed.data;
        const caller = callerOf(who);
        if (!caller) return reply(failure('FORBIDDEN', 'Chat is between people: sign in as a user'));
        if (!rooms.has(roomId) && rooms.size >= MAX_CHAT_ROOMS_PER_SOCKET)
          return reply(failure('SUBSCRIPTION_LIMIT', `at most ${MAX_CHAT_ROOMS_PER_SOCKET} chat rooms per connection`));
        const wasIn = rooms.has(roomId);
        try {
          // The gate (and a first read) before the join, so no event reaches a socket that may not
          // have it; a second read after the join, so nothing committed in between slips through.
          const before = await deps.chat.catchUp(caller, roomId, afterSeq, CATCH_UP_LIMIT);
          if (socket.disconnected) return reply(failure('UNAUTHENTICATED', 'the connection was ended'));
          await socket.join(chatRoom(roomId));
          const from = before.messages.at(-1)?.seq ?? afterSeq;
          const after = await deps.chat.catchUp(caller, roomId, from, CATCH_UP_LIMIT);
          if (socket.disconnected) return reply(failure('UNAUTHENTICATED', 'the connection was ended'));
          rooms.set(roomId, { displayName: after.displayName, typedAt: rooms.get(roomId)?.typedAt ?? 0 });
          reply({ ok: true, missed: [...before.messages, ...after.messages], more: after.more });
        } catch (err) {
          if (!wasIn) await socket.leave(chatRoom(roomId));
          const code = (err as { code?: unknown }).code;
          // Same answer for "absent" and "not yours".
          if (code === 'CHAT_ROOM_NOT_FOUND' || code === 'FORBIDDEN')
            return reply(failure('CHAT_ROOM_NOT_FOUND', `No chat room with id ${roomId}`));
          log.error({ err, roomId }, 'chat subscribe failed');
          reply(failure('INTERNAL'));
        }
      });

      socket.on('chat_unsubscribe', async (payload: unknown, ack?: unknown) => {
        const reply = typeof ack === 'function' ? (ack as (a: { ok: boolean }) => void) : () => {};
        const parsed = roomMessage.safeParse(payload);
        if (!parsed.success) return reply({ ok: false });
        rooms.delete(parsed.data.roomId);
        await socket.leave(chatRoom(parsed.data.roomId));
        reply({ ok: true });
      });

      socket.on('chat_typing', (payload: unknown) => {
        const parsed = roomMessage.safeParse(payload);
        if (!parsed.success || who.userId === undefined) return;
        // Dropped from the Socket.io room when its user left the chat room: no more typing there.
        if (!socket.rooms.has(chatRoom(parsed.data.roomId))) return void rooms.delete(parsed.data.roomId);
        const room = rooms.get(parsed.data.roomId);
        const now = Date.now();
        if (!room || now - room.typedAt < TYPING_INTERVAL_MS) return;
        room.typedAt = now;
        // Ephemeral: to the room's other sockets (every process, through the adapter), never stored.
        socket
          .to(chatRoom(parsed.data.roomId))
          .emit('chat_typing', { roomId: parsed.data.roomId, userId: who.userId, displayName: room.displayName });
      });

      socket.once('disconnect', () => rooms.clear());
    },

    relay(io, event) {
      const target = io.local.to(chatRoom(event.roomId));
      if (event.type === 'chat_message') {
        let message;
        try {
          message = openLiveMessage(deps.chat.keyRing, event.message);
        } catch (err) {
          // A key this process lacks: the clients catch up through REST or their next subscribe.
          log.error({ err, roomId: event.roomId, messageId: event.message.id }, 'chat message could not be opened');
          return;
        }
        target.emit('chat_message', { roomId: event.roomId, message });
        // Someone left (POST /chat/rooms/:id/leave): their sockets on this process stop following
        // the room once they got the line; every process does the same for its own sockets.
        if (message.kind === 'participant_left') void dropFromRoom(io, event.roomId, message.sender.userId);
        return;
      }
      if (event.type === 'chat_read') {
        const { roomId, userId, readUpToSeq, readAt } = event;
        return void target.emit('chat_read', { roomId, userId, readUpToSeq, readAt });
      }
      const { roomId, messageId, seq } = event;
      target.emit('chat_message_deleted', { roomId, messageId, seq });
    },
  };
}
