import type { LiveChatMessage } from '@clutch/contracts';
import { openBody, sealedFromWire, sealedToWire, type ChatKeyRing } from './crypto.js';
import type {
  MessageKind,
  MessageRow,
  ParticipantRole,
  ParticipantRow,
  ReceiptRow,
  RoomKind,
  RoomRow,
} from './repository.js';

/** COMMS.md's ChatAttachment (rendered by api/src/chat/attachments). */
export interface ChatAttachmentView {
  id: string;
  name: string;
  contentType: string;
  size: number;
  width: number | null;
  height: number | null;
  url: string;
}

export interface ChatParticipantView {
  userId: string;
  tenantId: string;
  role: ParticipantRole;
  displayName: string;
}

export interface ChatRoomView {
  id: string;
  kind: RoomKind;
  title: string | null;
  bookingId: string | null;
  participants: ChatParticipantView[];
  lastSeq: number;
  /** The caller's. */
  readUpToSeq: number;
  unread: number;
  createdAt: string;
  lastMessageAt: string | null;
}

export interface ChatMessageView {
  id: string;
  roomId: string;
  seq: number;
  clientMessageId: string;
  sender: { userId: string; tenantId: string; displayName: string };
  /** '' once deleted. */
  body: string;
  mentions: string[];
  attachments: ChatAttachmentView[];
  /** `text`: written by its sender; `participant_left`: the room's line that the sender left (no body). */
  kind: MessageKind;
  readBy: { userId: string; readAt: string }[];
  createdAt: string;
  deletedAt: string | null;
}

const iso = (d: Date | string): string => new Date(d).toISOString();
const isoOrNull = (d: Date | string | null): string | null => (d === null ? null : iso(d));

export function roomView(
  room: RoomRow,
  participants: readonly ParticipantRow[],
  mine: { readUpToSeq: number; unread: number },
): ChatRoomView {
  return {
    id: room.id,
    kind: room.kind,
    title: room.title,
    bookingId: room.bookingId,
    participants: participants
      .filter((p) => p.roomId === room.id && p.leftAt === null)
      .map((p) => ({ userId: p.userId, tenantId: p.userTenantId, role: p.role, displayName: p.displayName })),
    lastSeq: room.lastSeq,
    readUpToSeq: mine.readUpToSeq,
    unread: mine.unread,
    createdAt: iso(room.createdAt),
    lastMessageAt: isoOrNull(room.lastMessageAt),
  };
}

/** The sender as the room knows them (a participant who left keeps their name). */
function sender(m: MessageRow, participants: readonly ParticipantRow[]): ChatMessageView['sender'] {
  const p = participants.find((x) => x.roomId === m.roomId && x.userId === m.senderUserId);
  return { userId: m.senderUserId, tenantId: p?.userTenantId ?? '', displayName: p?.displayName ?? '' };
}

export function messageView(
  ring: ChatKeyRing,
  m: MessageRow,
  participants: readonly ParticipantRow[],
  attachments: readonly ChatAttachmentView[],
  receipts: readonly ReceiptRow[],
): ChatMessageView {
  return {
    id: m.id,
    roomId: m.roomId,
    seq: m.seq,
    clientMessageId: m.clientMessageId,
    sender: sender(m, participants),
    body: m.sealed === null ? '' : openBody(ring, m.sealed, m.roomId, m.id),
    mentions: m.deletedAt === null ? m.mentions : [],
    attachments: m.deletedAt === null ? [...attachments] : [],
    kind: m.kind,
    readBy: receipts.filter((r) => r.messageId === m.id).map((r) => ({ userId: r.userId, readAt: iso(r.readAt) })),
    createdAt: iso(m.createdAt),
    deletedAt: isoOrNull(m.deletedAt),
  };
}

/** The message as the `chat.message` outbox event carries it: the body stays sealed at rest. */
export function liveMessage(
  m: MessageRow,
  participants: readonly ParticipantRow[],
  attachments: readonly ChatAttachmentView[],
): LiveChatMessage {
  return {
    id: m.id,
    roomId: m.roomId,
    seq: m.seq,
    clientMessageId: m.clientMessageId,
    sender: sender(m, participants),
    body: '',
    sealed: m.sealed === null ? null : sealedToWire(m.sealed),
    mentions: m.mentions,
    attachments: attachments.map((a) => ({ ...a })),
    kind: m.kind,
    createdAt: iso(m.createdAt),
    deletedAt: isoOrNull(m.deletedAt),
  };
}

/** A `chat.message` event's message with its body opened (the Socket.io gateway, notifications). */
export function openLiveMessage(ring: ChatKeyRing, m: LiveChatMessage): Omit<LiveChatMessage, 'sealed'> {
  const { sealed, ...rest } = m;
  return { ...rest, body: sealed ? openBody(ring, sealedFromWire(sealed), m.roomId, m.id) : rest.body };
}
