import { randomUUID } from 'node:crypto';
import { isClutchError } from '@clutch/contracts';
import type { Queryable } from '@clutch/db';
import { PLATFORM_TENANT } from '@clutch/identity';
import { appendLiveEvent } from '@clutch/jobs';
import type { Principal } from '../auth/principal.js';
import type { RequestPolicy } from '../auth/policy.js';
import type { Scope, SystemUse } from '../auth/scope.js';
import { apiError } from '../errors.js';
import type { Page, PageRequest } from '../http/pagination.js';
import { allowedOnRoom, joinRole } from './access.js';
import { sealBody, type ChatKeyRing } from './crypto.js';
import { ChatRepository, type MessageRow, type ParticipantRow, type RoomRow } from './repository.js';
import {
  liveMessage,
  messageView,
  roomView,
  type ChatAttachmentView,
  type ChatMessageView,
  type ChatRoomView,
} from './views.js';

/** What a use case needs of the request. */
export interface ChatCaller {
  scope: Scope;
  principal: Principal;
  policy: RequestPolicy;
  /** An audited system scope for this caller (moderation across tenants); see RouteRequest.administer. */
  administer(use: Omit<SystemUse, 'actor' | 'ip'>): Scope;
}

/**
 * Attachments of messages (api/src/chat/attachments owns them): claimed by a message inside its
 * transaction, rendered with the messages. Absent, a message with attachments is refused.
 */
export interface ChatAttachments {
  claim(
    q: Queryable,
    input: { roomId: string; uploaderId: string; messageId: string; ids: readonly string[] },
  ): Promise<ChatAttachmentView[]>;
  ofMessages(q: Queryable, messageIds: readonly string[]): Promise<Map<string, ChatAttachmentView[]>>;
}

export interface ChatServiceDeps {
  keyRing: ChatKeyRing;
  attachments?: ChatAttachments | undefined;
}

export type NewRoom =
  | { kind: 'booking'; bookingId: string }
  | { kind: 'support'; subject: string }
  | { kind: 'group'; title: string; participantIds: string[] };

export interface NewMessage {
  clientMessageId: string;
  body: string;
  mentions?: string[] | undefined;
  attachmentIds?: string[] | undefined;
}

export interface ChatReportView {
  id: string;
  roomId: string;
  messageId: string;
  messageSeq: number;
  messageSenderUserId: string;
  reporterUserId: string;
  reason: string;
  status: string;
  createdAt: string;
}

export const MAX_GROUP_PARTICIPANTS = 20;

const roomNotFound = (id: string): Error => apiError('CHAT_ROOM_NOT_FOUND', undefined, { roomId: id });
const messageNotFound = (id: string): Error => apiError('CHAT_MESSAGE_NOT_FOUND', undefined, { messageId: id });
const notAPerson = (): Error =>
  apiError('FORBIDDEN', 'Chat is between people: sign in as a user (API keys and devices cannot chat)');

/** The caller as a user; chat rooms are between people. */
function userOf(principal: Principal): Extract<Principal, { kind: 'user' }> {
  if (principal.kind !== 'user') throw notAPerson();
  return principal;
}

/** What a use case may do in a room it opened. */
interface OpenedRoom {
  repo: ChatRepository;
  q: Queryable;
  room: RoomRow;
  participants: ParticipantRow[];
  /** The caller's participation; undefined for a moderator or platform support reading. */
  me: ParticipantRow | undefined;
  /** Read through chat:moderate (an audited scope, or the admin token): read and delete only. */
  moderating: boolean;
}

type Need =
  /** Read; a booking room's eligible side joins on its first read. */
  | 'read'
  /** Take part as a reader (mark read, report): chat:read, and an eligible user joins first. */
  | 'join'
  /**
   * Post: chat:write (platform support answering a support room: chat:read, which is what support
   * holds), and an eligible user joins first.
   */
  | 'post';

/**
 * Chat (docs/chat.md): rooms per booking, support rooms and groups; messages with a gap-free
 * sequence per room and client ids, sealed at rest; per-message read receipts; reports and deletion.
 * Every use case is one transaction in the caller's scope (row-level security, migration 039); the
 * participant list is the second gate, and chat:moderate staff reach other rooms only through an
 * audited system scope. Every change appends its chat event to the outbox in the same transaction.
 */
export class ChatService {
  constructor(private readonly deps: ChatServiceDeps) {}

  /** The ring bodies are sealed with (the gateway opens relayed messages with it). */
  get keyRing(): ChatKeyRing {
    return this.deps.keyRing;
  }

  // ---- rooms ------------------------------------------------------------------------------------

  /** Creates a room; a booking's room exists once (`created` false: the existing one). */
  async createRoom(caller: ChatCaller, input: NewRoom): Promise<{ room: ChatRoomView; created: boolean }> {
    const user = userOf(caller.principal);
    if (input.kind === 'booking') return this.bookingRoom(caller, input.bookingId);
    return caller.scope.run(async (q) => {
      const repo = new ChatRepository(q);
      const id = randomUUID();
      const self = await repo.usersOfTenant(user.tenantId, [user.userId]);
      if (self.length === 0) throw apiError('FORBIDDEN', 'Your account cannot chat');
      if (input.kind === 'support') {
        const draft = draftRoom(id, { kind: 'support', tenantId: PLATFORM_TENANT, customer: user });
        if (!(await allowedOnRoom(caller.policy, caller.principal, 'chat:write', draft)))
          throw apiError('FORBIDDEN', 'This needs the chat:write permission', { requiredPermission: 'chat:write' });
        await repo.insertRoom({ ...draft, title: input.subject, createdBy: `user:${user.userId}` });
        await repo.join({ ...member(draft, user, self[0]!.displayName), role: 'customer' });
      } else {
        const draft = draftRoom(id, { kind: 'group', tenantId: user.tenantId });
        if (!(await allowedOnRoom(caller.policy, caller.principal, 'chat:write', draft)))
          throw apiError('FORBIDDEN', 'This needs the chat:write permission', { requiredPermission: 'chat:write' });
        const wanted = [...new Set(input.participantIds)].filter((u) => u !== user.userId);
        if (wanted.length > MAX_GROUP_PARTICIPANTS)
          throw apiError('CHAT_PARTICIPANTS_INVALID', `A group has at most ${MAX_GROUP_PARTICIPANTS} other members`);
        const found = await repo.usersOfTenant(user.tenantId, wanted);
        const missing = wanted.filter((u) => !found.some((f) => f.id === u));
        if (missing.length > 0)
          throw apiError('CHAT_PARTICIPANTS_INVALID', 'Group members must be active users of your own organisation', {
            userIds: missing,
          });
        await repo.insertRoom({ ...draft, title: input.title, createdBy: `user:${user.userId}` });
        await repo.join({ ...member(draft, user, self[0]!.displayName), role: 'member' });
        for (const f of found)
          await repo.join({
            tenantId: draft.tenantId,
            roomId: id,
            userId: f.id,
            userTenantId: user.tenantId,
            role: 'member',
            displayName: f.displayName,
          });
      }
      const room = (await repo.room(id))!;
      return { room: roomView(room, await repo.participants([id]), { readUpToSeq: 0, unread: 0 }), created: true };
    });
  }

  /**
   * The booking's room, made on first ask: the booking's customer and the caller (shop staff, or a
   * fleet's staff on the customer side) are its first participants; the rest of the shop joins
   * later on first read or post, as the policy allows them the booking.
   */
  private async bookingRoom(caller: ChatCaller, bookingId: string): Promise<{ room: ChatRoomView; created: boolean }> {
    const user = userOf(caller.principal);
    const existing = await caller.scope
      .run(async (q) => {
        const repo = new ChatRepository(q);
        const found = await repo.roomOfBooking(bookingId);
        if (found) return { room: await this.viewOf(await this.enter(q, caller, found, 'read')), created: false };
        const { rows } = await q.query<{
          tenantId: string;
          partnerId: string;
          customerTenantId: string;
          customerUserId: string | null;
        }>(
          `SELECT tenant_id AS "tenantId", partner_id AS "partnerId", customer_tenant_id AS "customerTenantId",
                  customer_user_id AS "customerUserId"
             FROM bookings WHERE id = $1`,
          [bookingId],
        );
        const booking = rows[0];
        if (!booking) throw apiError('BOOKING_NOT_FOUND', undefined, { bookingId });
        const id = randomUUID();
        const draft: RoomRow = {
          ...draftRoom(id, { kind: 'booking', tenantId: booking.tenantId }),
          bookingId,
          partnerId: booking.partnerId,
          customerTenantId: booking.customerTenantId,
          customerUserId: booking.customerUserId,
        };
        const role = joinRole(caller.principal, draft);
        if (role === undefined || !(await allowedOnRoom(caller.policy, caller.principal, 'chat:write', draft)))
          throw apiError('BOOKING_NOT_FOUND', undefined, { bookingId });
        if (!(await repo.insertRoom({ ...draft, createdBy: `user:${user.userId}` }))) return undefined; // lost a race
        const customer = booking.customerUserId === null ? undefined : await repo.bookingCustomer(bookingId);
        if (customer)
          await repo.join({
            tenantId: draft.tenantId,
            roomId: id,
            userId: customer.userId,
            userTenantId: customer.tenantId,
            role: 'customer',
            displayName: customer.displayName,
          });
        if (customer?.userId !== user.userId) {
          const self = await repo.usersOfTenant(user.tenantId, [user.userId]);
          if (self.length === 0) throw apiError('FORBIDDEN', 'Your account cannot chat');
          await repo.join({ ...member(draft, user, self[0]!.displayName), role });
        }
        const room = (await repo.room(id))!;
        return {
          room: roomView(room, await repo.participants([id]), { readUpToSeq: 0, unread: 0 }),
          created: true,
        };
      })
      .catch(async (err: unknown) => {
        // Two first asks at once: the unique index let one in; the other answers with its room.
        if ((err as { code?: unknown }).code === '23505') return undefined;
        throw err;
      });
    if (existing) return existing;
    return caller.scope.run(async (q) => {
      const found = await new ChatRepository(q).roomOfBooking(bookingId);
      if (!found) throw apiError('BOOKING_NOT_FOUND', undefined, { bookingId });
      return { room: await this.viewOf(await this.enter(q, caller, found, 'read')), created: false };
    });
  }

  /** The caller's rooms, newest activity first. */
  async myRooms(caller: ChatCaller, page: PageRequest): Promise<Page<ChatRoomView>> {
    const user = userOf(caller.principal);
    return caller.scope.run(async (q) => {
      const repo = new ChatRepository(q);
      const found = await repo.myRooms(user.userId, user.tenantId, page);
      const participants = await repo.participants(found.items.map((r) => r.id));
      const items: ChatRoomView[] = [];
      // The policy still decides: a participant whose role no longer allows the room does not see it.
      for (const r of found.items)
        if (await allowedOnRoom(caller.policy, caller.principal, 'chat:read', r))
          items.push(roomView(r, participants, { readUpToSeq: r.readUpToSeq, unread: r.unread }));
      return { items, next: found.next };
    });
  }

  async room(caller: ChatCaller, roomId: string): Promise<ChatRoomView> {
    return this.inRoom(caller, roomId, 'read', (opened) => this.viewOf(opened));
  }

  /**
   * The room a caller writes into other than by a post (an attachment upload), checked and joined
   * as a post would be: authorised shop staff and the customer upload before they ever opened the
   * room. 404 CHAT_ROOM_NOT_FOUND for everyone else.
   */
  async enterToWrite(caller: Omit<ChatCaller, 'administer'>, roomId: string): Promise<RoomRow> {
    return caller.scope.run(async (q) => {
      const room = await new ChatRepository(q).room(roomId);
      if (!room) throw roomNotFound(roomId);
      return (await this.enter(q, caller, room, 'post')).room;
    });
  }

  // ---- messages ---------------------------------------------------------------------------------

  async messages(
    caller: ChatCaller,
    roomId: string,
    query: { afterSeq?: number | undefined; beforeSeq?: number | undefined; limit: number },
  ): Promise<{ items: ChatMessageView[]; next: number | null }> {
    return this.inRoom(caller, roomId, 'read', async (opened) => {
      const range = query.afterSeq !== undefined ? { afterSeq: query.afterSeq } : { beforeSeq: query.beforeSeq };
      const rows = await opened.repo.messages(roomId, range, query.limit);
      const more = rows.length > query.limit;
      const page = rows.slice(0, query.limit);
      return {
        items: await this.messageViews(opened, page),
        // Where the next page starts: after the last (ascending) or before the last (descending).
        next: more ? page.at(-1)!.seq : null,
      };
    });
  }

  /**
   * A live subscription's catch-up: the messages after `afterSeq` (at most `limit`; `more` when
   * there are others), for participants only (no moderator path: a socket is a participant's), and
   * the caller's name in the room (typing indicators).
   */
  async catchUp(
    caller: ChatCaller,
    roomId: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ messages: ChatMessageView[]; more: boolean; displayName: string }> {
    const user = userOf(caller.principal);
    return caller.scope.run(async (q) => {
      const room = await new ChatRepository(q).room(roomId);
      if (!room) throw roomNotFound(roomId);
      const opened = await this.enter(q, caller, room, 'read');
      const rows = await opened.repo.messages(roomId, { afterSeq }, limit);
      const displayName =
        opened.me?.displayName ?? (await opened.repo.usersOfTenant(user.tenantId, [user.userId]))[0]?.displayName ?? '';
      return {
        messages: await this.messageViews(opened, rows.slice(0, limit)),
        more: rows.length > limit,
        displayName,
      };
    });
  }

  /** Posts a message; the same client id from the same sender is the stored message (`created` false). */
  async post(
    caller: ChatCaller,
    roomId: string,
    input: NewMessage,
  ): Promise<{ message: ChatMessageView; created: boolean }> {
    const user = userOf(caller.principal);
    return this.inRoom(caller, roomId, 'post', async (opened) => {
      const { repo, q } = opened;
      // The room's row lock orders posts: the seq, and the client-id check, see every earlier post.
      const room = (await repo.lockRoom(roomId))!;
      const again = await repo.messageByClientId(roomId, user.userId, input.clientMessageId);
      if (again) return { message: (await this.messageViews(opened, [again]))[0]!, created: false };
      const mentions = [...new Set(input.mentions ?? [])];
      const present = new Set(opened.participants.filter((p) => p.leftAt === null).map((p) => p.userId));
      const strangers = mentions.filter((m) => !present.has(m));
      if (strangers.length > 0)
        throw apiError('CHAT_MENTION_INVALID', 'Only participants of the room can be mentioned', {
          userIds: strangers,
        });
      const id = randomUUID();
      const seq = await repo.nextSeq(roomId);
      const row = await repo.insertMessage({
        id,
        tenantId: room.tenantId,
        roomId,
        seq,
        senderUserId: user.userId,
        clientMessageId: input.clientMessageId,
        sealed: sealBody(this.deps.keyRing, input.body, roomId, id),
        mentions,
      });
      const ids = input.attachmentIds ?? [];
      let attachments: ChatAttachmentView[] = [];
      if (ids.length > 0) {
        if (!this.deps.attachments) throw apiError('VALIDATION_FAILED', 'Attachments are not available here');
        attachments = await this.deps.attachments.claim(q, { roomId, uploaderId: user.userId, messageId: id, ids });
      }
      await appendLiveEvent(q, {
        type: 'chat_message',
        tenantId: room.tenantId,
        roomId,
        message: liveMessage(row, opened.participants, attachments),
        participantUserIds: [...present],
        room: { kind: room.kind, title: room.title, bookingId: room.bookingId },
      });
      return {
        message: messageView(this.deps.keyRing, row, opened.participants, attachments, []),
        created: true,
      };
    });
  }

  /**
   * The caller leaves the room: no longer a participant (what they wrote keeps their name), and the
   * room says so in a `participant_left` message (its seq, live to the room's sockets, which drop the
   * leaver's sockets from the room; no notification). The booking's customer cannot leave their own
   * booking's room (CHAT_LEAVE_NOT_ALLOWED). Someone who is not in the room gets 404.
   */
  async leave(caller: ChatCaller, roomId: string): Promise<{ roomId: string; message: ChatMessageView }> {
    const user = userOf(caller.principal);
    return caller.scope.run(async (q) => {
      const repo = new ChatRepository(q);
      const found = await repo.room(roomId);
      if (!found || !(await allowedOnRoom(caller.policy, caller.principal, 'chat:read', found)))
        throw roomNotFound(roomId);
      const participants = await repo.participants([roomId]);
      const me = participants.find(
        (p) => p.userId === user.userId && p.userTenantId === user.tenantId && p.leftAt === null,
      );
      if (!me) throw roomNotFound(roomId);
      if (found.kind === 'booking' && me.role === 'customer' && found.customerUserId === user.userId)
        throw apiError('CHAT_LEAVE_NOT_ALLOWED', "The booking's customer stays in the booking's conversation", {
          roomId,
        });
      // The room's row lock orders this line among the posts, as a post's seq is.
      const room = (await repo.lockRoom(roomId))!;
      await repo.leave(roomId, user.userId);
      const id = randomUUID();
      const row = await repo.insertMessage({
        id,
        tenantId: room.tenantId,
        roomId,
        seq: await repo.nextSeq(roomId),
        senderUserId: user.userId,
        clientMessageId: randomUUID(),
        sealed: sealBody(this.deps.keyRing, '', roomId, id),
        mentions: [],
        kind: 'participant_left',
      });
      await appendLiveEvent(q, {
        type: 'chat_message',
        tenantId: room.tenantId,
        roomId,
        message: liveMessage(row, participants, []),
        // Nobody is notified of a leave: the room's open pages see the line, the rest on their next read.
        participantUserIds: [],
        room: { kind: room.kind, title: room.title, bookingId: room.bookingId },
      });
      return { roomId, message: messageView(this.deps.keyRing, row, participants, [], []) };
    });
  }

  /** Marks the message and every earlier one of the room read by the caller. */
  async markRead(caller: ChatCaller, messageId: string): Promise<{ roomId: string; readUpToSeq: number }> {
    const user = userOf(caller.principal);
    return this.inMessage(caller, messageId, 'join', async (opened, message) => {
      const before = opened.me!.readUpToSeq;
      const mark = await opened.repo.markRead(opened.room.id, opened.room.tenantId, user.userId, message.seq);
      if (mark.readUpToSeq > before)
        await appendLiveEvent(opened.q, {
          type: 'chat_read',
          tenantId: opened.room.tenantId,
          roomId: opened.room.id,
          userId: user.userId,
          readUpToSeq: mark.readUpToSeq,
          readAt: new Date(mark.readAt).toISOString(),
        });
      return { roomId: opened.room.id, readUpToSeq: mark.readUpToSeq };
    });
  }

  // ---- moderation -------------------------------------------------------------------------------

  async report(
    caller: ChatCaller,
    messageId: string,
    reason: string,
  ): Promise<{ id: string; messageId: string; status: string; createdAt: string }> {
    const user = userOf(caller.principal);
    return this.inMessage(caller, messageId, 'join', async (opened, message) => {
      const r = await opened.repo.report({
        tenantId: opened.room.tenantId,
        roomId: opened.room.id,
        messageId: message.id,
        reporterUserId: user.userId,
        reason,
      });
      return { id: r.id, messageId: message.id, status: r.status, createdAt: new Date(r.createdAt).toISOString() };
    });
  }

  /**
   * Deletes a message: its sender, in their own scope; or chat:moderate staff, always through an
   * audited scope (the audit log names who removed what). The body is wiped, the tombstone stays.
   */
  async delete(caller: ChatCaller, messageId: string): Promise<void> {
    const moderator = await this.isModerator(caller);
    const own = await caller.scope.run(async (q) => {
      const repo = new ChatRepository(q);
      const message = await repo.message(messageId);
      if (!message) return 'unseen' as const;
      const room = (await repo.room(message.roomId))!;
      const opened = await this.enter(q, caller, room, 'read').catch((err: unknown) => {
        if (isClutchError(err) && err.code === 'CHAT_ROOM_NOT_FOUND') return undefined;
        throw err;
      });
      if (!opened) return 'unseen' as const;
      const mine = caller.principal.kind === 'user' && message.senderUserId === caller.principal.userId;
      if (!mine) return moderator ? ('moderate' as const) : ('forbidden' as const);
      await this.wipe(opened, message, actorName(caller.principal));
      return 'done' as const;
    });
    if (own === 'done') return;
    if (own === 'forbidden') throw apiError('FORBIDDEN', 'Only its sender or a moderator deletes a message');
    if (!moderator) throw messageNotFound(messageId);
    await this.moderationScope(caller, 'chat.message.delete', `chat-message:${messageId}`).run(async (q) => {
      const repo = new ChatRepository(q);
      const message = await repo.message(messageId);
      if (!message) throw messageNotFound(messageId);
      const room = (await repo.room(message.roomId))!;
      await this.wipe(
        { repo, q, room, participants: await repo.participants([room.id]), me: undefined, moderating: true },
        message,
        actorName(caller.principal),
      );
    });
  }

  async reports(caller: ChatCaller, query: { status: 'open' | 'all'; limit: number }): Promise<ChatReportView[]> {
    return this.moderationScope(caller, 'chat.reports.list', null).run(async (q) => {
      const rows = await new ChatRepository(q).reports(query.status, query.limit);
      return rows.map((r) => ({ ...r, createdAt: new Date(r.createdAt).toISOString() }));
    });
  }

  // ---- the gate -----------------------------------------------------------------------------------

  private async wipe(opened: OpenedRoom, message: MessageRow, by: string): Promise<void> {
    const wiped = await opened.repo.wipe(message.id, by);
    await opened.repo.resolveReports(message.id);
    if (!wiped) return; // deleted already: nothing new to announce
    await appendLiveEvent(opened.q, {
      type: 'chat_message_deleted',
      tenantId: opened.room.tenantId,
      roomId: opened.room.id,
      messageId: message.id,
      seq: message.seq,
    });
  }

  private async isModerator(caller: ChatCaller): Promise<boolean> {
    if (caller.principal.kind === 'admin') return true;
    if (caller.principal.kind !== 'user' || caller.principal.tenantId !== PLATFORM_TENANT) return false;
    return (await caller.policy.decide('chat:moderate')).allow;
  }

  /** Where moderation runs: an audited system scope for platform staff; the admin token's own scope. */
  private moderationScope(caller: ChatCaller, action: string, target: string | null): Scope {
    if (caller.principal.kind === 'admin') return caller.scope;
    return caller.administer({ action, target });
  }

  /**
   * Runs fn in the room: in the caller's scope when they may (a participant, or one who joins now),
   * else, for chat:moderate staff reading, in an audited system scope.
   */
  private async inRoom<T>(
    caller: ChatCaller,
    roomId: string,
    need: Need,
    fn: (opened: OpenedRoom) => Promise<T>,
  ): Promise<T> {
    try {
      return await caller.scope.run(async (q) => {
        const room = await new ChatRepository(q).room(roomId);
        if (!room) throw roomNotFound(roomId);
        return fn(await this.enter(q, caller, room, need));
      });
    } catch (err) {
      if (!(isClutchError(err) && err.code === 'CHAT_ROOM_NOT_FOUND') || need !== 'read') throw err;
      if (!(await this.isModerator(caller))) throw err;
    }
    return this.moderationScope(caller, 'chat.room.read', `chat-room:${roomId}`).run(async (q) => {
      const repo = new ChatRepository(q);
      const room = await repo.room(roomId);
      if (!room) throw roomNotFound(roomId);
      return fn({ repo, q, room, participants: await repo.participants([roomId]), me: undefined, moderating: true });
    });
  }

  /** inRoom for the room of a message (404 CHAT_MESSAGE_NOT_FOUND when the caller may not see it). */
  private async inMessage<T>(
    caller: ChatCaller,
    messageId: string,
    need: Need,
    fn: (opened: OpenedRoom, message: MessageRow) => Promise<T>,
  ): Promise<T> {
    return caller.scope
      .run(async (q) => {
        const repo = new ChatRepository(q);
        const message = await repo.message(messageId);
        if (!message) throw messageNotFound(messageId);
        const room = (await repo.room(message.roomId))!;
        return fn(await this.enter(q, caller, room, need), message);
      })
      .catch((err: unknown) => {
        if (isClutchError(err) && err.code === 'CHAT_ROOM_NOT_FOUND') throw messageNotFound(messageId);
        throw err;
      });
  }

  /**
   * The gate, on a room the caller's row-level security shows: the policy must allow the room
   * (chat:read, or chat:write to take part), and the caller must be a participant, or join now (a
   * booking room's side on first read, anyone eligible to take part). Platform support reads a
   * support room without joining. Anything else is 404, as for a room that does not exist.
   */
  private async enter(
    q: Queryable,
    caller: Omit<ChatCaller, 'administer'>,
    room: RoomRow,
    need: Need,
  ): Promise<OpenedRoom> {
    const repo = new ChatRepository(q);
    const participants = await repo.participants([room.id]);
    if (caller.principal.kind === 'admin') {
      if (need !== 'read') throw notAPerson();
      return { repo, q, room, participants, me: undefined, moderating: true };
    }
    const supportAnswer = room.kind === 'support' && caller.principal.tenantId === PLATFORM_TENANT;
    const permission = need === 'post' && !supportAnswer ? 'chat:write' : 'chat:read';
    if (!(await allowedOnRoom(caller.policy, caller.principal, permission, room))) throw roomNotFound(room.id);
    const user = userOf(caller.principal);
    const isMe = (p: ParticipantRow): boolean =>
      p.userId === user.userId && p.userTenantId === user.tenantId && p.leftAt === null;
    let me = participants.find(isMe);
    if (me) return { repo, q, room, participants, me, moderating: false };
    const role = joinRole(caller.principal, room);
    if (role === undefined) throw roomNotFound(room.id);
    if (need === 'read' && room.kind === 'support')
      return { repo, q, room, participants, me: undefined, moderating: false };
    const self = await repo.usersOfTenant(user.tenantId, [user.userId]);
    if (self.length === 0) throw roomNotFound(room.id);
    await repo.join({ ...member(room, user, self[0]!.displayName), role });
    const now = await repo.participants([room.id]);
    me = now.find(isMe);
    return { repo, q, room, participants: now, me, moderating: false };
  }

  private async viewOf(opened: OpenedRoom): Promise<ChatRoomView> {
    const readUpToSeq = opened.me?.readUpToSeq ?? 0;
    const unread = opened.me ? await opened.repo.unread(opened.room.id, opened.me.userId, readUpToSeq) : 0;
    return roomView(opened.room, opened.participants, { readUpToSeq, unread });
  }

  private async messageViews(opened: OpenedRoom, rows: readonly MessageRow[]): Promise<ChatMessageView[]> {
    const ids = rows.map((m) => m.id);
    const [receipts, attachments] = await Promise.all([
      opened.repo.receipts(ids),
      this.deps.attachments ? this.deps.attachments.ofMessages(opened.q, ids) : Promise.resolve(new Map()),
    ]);
    return rows.map((m) =>
      messageView(this.deps.keyRing, m, opened.participants, attachments.get(m.id) ?? [], receipts),
    );
  }
}

function actorName(principal: Principal): string {
  if (principal.kind === 'user') return `user:${principal.userId}`;
  if (principal.kind === 'partner') return `partner:${principal.tenantId}:${principal.keyId}`;
  return 'admin';
}

function draftRoom(
  id: string,
  o: { kind: RoomRow['kind']; tenantId: string; customer?: { userId: string; tenantId: string } },
): RoomRow {
  return {
    id,
    tenantId: o.tenantId,
    kind: o.kind,
    title: null,
    bookingId: null,
    partnerId: null,
    customerTenantId: o.customer?.tenantId ?? null,
    customerUserId: o.customer?.userId ?? null,
    lastSeq: 0,
    lastMessageAt: null,
    createdAt: new Date(),
  };
}

function member(
  room: Pick<RoomRow, 'id' | 'tenantId'>,
  user: { userId: string; tenantId: string },
  displayName: string,
): { tenantId: string; roomId: string; userId: string; userTenantId: string; displayName: string } {
  return { tenantId: room.tenantId, roomId: room.id, userId: user.userId, userTenantId: user.tenantId, displayName };
}
