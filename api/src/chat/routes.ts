import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { pageParams } from '../http/pagination.js';
import { uuid } from '../shared/schemas.js';
import { ROOMS_LISTING } from './repository.js';
import { MAX_GROUP_PARTICIPANTS, type ChatService } from './service.js';

const TAG = 'chat';

export const MAX_BODY_LENGTH = 4000;

const createRoomBody = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('booking'), bookingId: uuid }),
  z.strictObject({ kind: z.literal('support'), subject: z.string().trim().min(1).max(200) }),
  z.strictObject({
    kind: z.literal('group'),
    title: z.string().trim().min(1).max(200),
    participantIds: z
      .array(uuid)
      .min(1)
      .max(MAX_GROUP_PARTICIPANTS)
      .describe(`Users of your own organisation (at most ${MAX_GROUP_PARTICIPANTS}); you join anyway`),
  }),
]);

const participantSchema = z.object({
  userId: z.string(),
  tenantId: z.string(),
  role: z.enum(['customer', 'shop', 'support', 'member']),
  displayName: z.string(),
});

export const chatRoomSchema = z.object({
  id: z.string(),
  kind: z.enum(['booking', 'support', 'group']),
  title: z.string().nullable(),
  bookingId: z.string().nullable(),
  participants: z.array(participantSchema),
  lastSeq: z.number().int(),
  readUpToSeq: z.number().int().describe("The caller's read mark"),
  unread: z.number().int().describe("Messages of the others after the caller's read mark"),
  createdAt: z.string(),
  lastMessageAt: z.string().nullable(),
});

const attachmentSchema = z.object({
  id: z.string(),
  name: z.string(),
  contentType: z.string(),
  size: z.number().int(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  url: z.string(),
});

export const chatMessageSchema = z.object({
  id: z.string(),
  roomId: z.string(),
  seq: z.number().int().describe('Gap-free per room, from 1'),
  clientMessageId: z.string(),
  sender: z.object({ userId: z.string(), tenantId: z.string(), displayName: z.string() }),
  body: z.string().describe("'' once deleted"),
  mentions: z.array(z.string()),
  attachments: z.array(attachmentSchema),
  kind: z
    .enum(['text', 'participant_left'])
    .describe(
      "`participant_left`: the room's own line that the sender left (empty body; render it from your catalogue)",
    ),
  readBy: z.array(z.object({ userId: z.string(), readAt: z.string() })),
  createdAt: z.string(),
  deletedAt: z.string().nullable(),
});

const roomParams = z.object({ id: uuid });
const messageParams = z.object({ id: uuid });

const seq = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const messagesQuery = z
  .object({
    afterSeq: seq.optional().describe('Messages after this seq, ascending (catch up after a reconnect)'),
    beforeSeq: seq.optional().describe('Messages before this seq, descending (page back through history)'),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .refine((q) => q.afterSeq === undefined || q.beforeSeq === undefined, {
    error: 'give afterSeq or beforeSeq, not both',
  });

const postMessageBody = z.strictObject({
  clientMessageId: uuid.describe("The client's id of this message: a retry with the same id is the same message"),
  body: z
    .string()
    .max(MAX_BODY_LENGTH)
    .refine((s) => s.trim().length > 0, { error: 'must not be empty' }),
  mentions: z.array(uuid).max(50).optional().describe('Participants of the room'),
  attachmentIds: z.array(uuid).max(10).optional().describe('Uploaded with POST /chat/rooms/:id/attachments'),
});

export function chatRoutes(router: ApiRouter, chat: ChatService): void {
  router.route({
    method: 'post',
    path: '/chat/rooms',
    tag: TAG,
    summary:
      "Open a chat room: a booking's (one per booking: asking again answers the existing room with 200), a support conversation with the platform's support staff, or a group of your organisation's users",
    access: { permission: 'chat:write', perResource: 'service' },
    body: createRoomBody,
    response: { status: 201, description: 'The new room (200: the booking room that exists)', schema: chatRoomSchema },
    errors: ['BOOKING_NOT_FOUND', 'CHAT_PARTICIPANTS_INVALID'],
    handle: async (r) => {
      const { room, created } = await chat.createRoom(r, r.body);
      if (!created) r.ctx.status = 200;
      return room;
    },
  });

  router.route({
    method: 'get',
    path: '/chat/rooms',
    tag: TAG,
    summary: 'My chat rooms, newest activity first, with my read mark and unread count',
    access: { permission: 'chat:read', perResource: 'service' },
    query: z.object(pageParams(ROOMS_LISTING)),
    response: {
      status: 200,
      description: 'A page of rooms; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ items: z.array(chatRoomSchema), next: z.string().nullable() }),
    },
    handle: (r) => chat.myRooms(r, r.query),
  });

  router.route({
    method: 'get',
    path: '/chat/rooms/:id',
    tag: TAG,
    summary: 'One chat room (participants only; a booking room takes in its shop staff and customer on first read)',
    access: { permission: 'chat:read', perResource: 'service' },
    params: roomParams,
    response: { status: 200, description: 'The room', schema: chatRoomSchema },
    errors: ['CHAT_ROOM_NOT_FOUND'],
    handle: (r) => chat.room(r, r.params.id),
  });

  router.route({
    method: 'get',
    path: '/chat/rooms/:id/messages',
    tag: TAG,
    summary:
      'Messages of a room: after `afterSeq` ascending (catch-up), or before `beforeSeq` / the latest descending (history)',
    access: { permission: 'chat:read', perResource: 'service' },
    params: roomParams,
    query: messagesQuery,
    response: {
      status: 200,
      description:
        '`next`: the seq to pass as afterSeq (ascending) or beforeSeq (descending) for the next page; null on the last',
      schema: z.object({ items: z.array(chatMessageSchema), next: z.number().int().nullable() }),
    },
    errors: ['CHAT_ROOM_NOT_FOUND'],
    handle: (r) => chat.messages(r, r.params.id, r.query),
  });

  router.route({
    method: 'post',
    path: '/chat/rooms/:id/messages',
    tag: TAG,
    summary:
      'Post a message (the next seq of the room); the same clientMessageId from the same sender answers the stored message with 200',
    description:
      'The service asks chat:write on the room; platform support answers support rooms with chat:read (what support holds), joining the room.',
    access: { permission: 'chat:read', perResource: 'service' },
    params: roomParams,
    body: postMessageBody,
    response: { status: 201, description: 'The message (200: stored before)', schema: chatMessageSchema },
    errors: ['CHAT_ROOM_NOT_FOUND', 'CHAT_MENTION_INVALID'],
    handle: async (r) => {
      const { message, created } = await chat.post(r, r.params.id, r.body);
      if (!created) r.ctx.status = 200;
      return message;
    },
  });

  router.route({
    method: 'post',
    path: '/chat/rooms/:id/leave',
    tag: TAG,
    summary:
      'Leave a room: you stop being a participant (your messages keep your name) and the room says so in a `participant_left` message',
    description:
      "The booking's customer cannot leave their own booking's room (409 CHAT_LEAVE_NOT_ALLOWED): the booking's " +
      'conversation needs them. Shop staff, support staff and group members may; shop and support staff join ' +
      'again by opening the room. Your sockets stop receiving the room at once.',
    access: { permission: 'chat:read', perResource: 'service' },
    params: roomParams,
    response: {
      status: 200,
      description: 'The room as the others now see it, and the message that says you left',
      schema: z.object({ roomId: z.string(), message: chatMessageSchema }),
    },
    errors: ['CHAT_ROOM_NOT_FOUND', 'CHAT_LEAVE_NOT_ALLOWED'],
    handle: (r) => chat.leave(r, r.params.id),
  });

  router.route({
    method: 'put',
    path: '/chat/messages/:id/read',
    tag: TAG,
    summary: 'Mark this message and every earlier one of its room read by me (read receipts)',
    access: { permission: 'chat:read', perResource: 'service' },
    params: messageParams,
    response: {
      status: 200,
      description: 'My read mark in the room (it never moves back)',
      schema: z.object({ roomId: z.string(), readUpToSeq: z.number().int() }),
    },
    errors: ['CHAT_MESSAGE_NOT_FOUND'],
    handle: (r) => chat.markRead(r, r.params.id),
  });

  router.route({
    method: 'post',
    path: '/chat/messages/:id/report',
    tag: TAG,
    summary: 'Report a message to the moderators (participants; reporting again answers the first report)',
    access: { permission: 'chat:read', perResource: 'service' },
    params: messageParams,
    body: z.strictObject({ reason: z.string().trim().min(1).max(1000) }),
    response: {
      status: 201,
      description: 'The report',
      schema: z.object({ id: z.string(), messageId: z.string(), status: z.string(), createdAt: z.string() }),
    },
    errors: ['CHAT_MESSAGE_NOT_FOUND'],
    handle: (r) => chat.report(r, r.params.id, r.body.reason),
  });

  router.route({
    method: 'delete',
    path: '/chat/messages/:id',
    tag: TAG,
    summary:
      'Delete a message (its sender, or a moderator: audited): the body is wiped, the tombstone keeps its place in the room',
    access: { permission: 'chat:read', perResource: 'service' },
    params: messageParams,
    response: { status: 204, description: 'Deleted' },
    errors: ['CHAT_MESSAGE_NOT_FOUND'],
    handle: async (r) => {
      await chat.delete(r, r.params.id);
      return undefined;
    },
  });

  router.route({
    method: 'get',
    path: '/chat/reports',
    tag: TAG,
    summary: 'Reported chat messages, newest first (moderators; audited)',
    access: { permission: 'chat:moderate' },
    query: z.object({
      status: z.enum(['open', 'all']).default('open'),
      limit: z.coerce.number().int().min(1).max(200).default(50),
    }),
    response: {
      status: 200,
      description: 'The reports',
      schema: z.object({
        items: z.array(
          z.object({
            id: z.string(),
            roomId: z.string(),
            messageId: z.string(),
            messageSeq: z.number().int(),
            messageSenderUserId: z.string(),
            reporterUserId: z.string(),
            reason: z.string(),
            status: z.string(),
            createdAt: z.string(),
          }),
        ),
      }),
    },
    handle: async (r) => ({ items: await chat.reports(r, r.query) }),
  });
}
