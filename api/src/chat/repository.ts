import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';
import type { SealedBody } from './crypto.js';

export type RoomKind = 'booking' | 'support' | 'group';
export type ParticipantRole = 'customer' | 'shop' | 'support' | 'member';

export interface RoomRow {
  id: string;
  tenantId: string;
  kind: RoomKind;
  title: string | null;
  bookingId: string | null;
  partnerId: string | null;
  customerTenantId: string | null;
  customerUserId: string | null;
  lastSeq: number;
  lastMessageAt: Date | null;
  createdAt: Date;
}

export interface ParticipantRow {
  roomId: string;
  userId: string;
  userTenantId: string;
  role: ParticipantRole;
  displayName: string;
  readUpToSeq: number;
  joinedAt: Date;
  leftAt: Date | null;
}

export interface MessageRow {
  id: string;
  tenantId: string;
  roomId: string;
  seq: number;
  senderUserId: string;
  clientMessageId: string;
  sealed: SealedBody | null;
  mentions: string[];
  /** `text`: a person's message; `participant_left`: the room's line that its sender left (047). */
  kind: MessageKind;
  createdAt: Date;
  deletedAt: Date | null;
}

export type MessageKind = 'text' | 'participant_left';

export interface ReceiptRow {
  messageId: string;
  userId: string;
  readAt: Date;
}

export interface ReportRow {
  id: string;
  roomId: string;
  messageId: string;
  reporterUserId: string;
  reason: string;
  status: string;
  createdAt: Date;
  messageSeq: number;
  messageSenderUserId: string;
}

const ROOM_COLUMNS = `r.id, r.tenant_id AS "tenantId", r.kind, r.title, r.booking_id AS "bookingId",
  r.partner_id AS "partnerId", r.customer_tenant_id AS "customerTenantId", r.customer_user_id AS "customerUserId",
  r.last_seq::int AS "lastSeq", r.last_message_at AS "lastMessageAt", r.created_at AS "createdAt"`;

const PARTICIPANT_COLUMNS = `p.room_id AS "roomId", p.user_id AS "userId", p.user_tenant_id AS "userTenantId",
  p.role, p.display_name AS "displayName", p.read_up_to_seq::int AS "readUpToSeq", p.joined_at AS "joinedAt",
  p.left_at AS "leftAt"`;

const MESSAGE_COLUMNS = `m.id, m.tenant_id AS "tenantId", m.room_id AS "roomId", m.seq::int AS seq,
  m.sender_user_id AS "senderUserId", m.client_message_id AS "clientMessageId", m.ciphertext, m.nonce,
  m.key_id AS "keyId", m.mentions::text[] AS mentions, m.kind, m.created_at AS "createdAt", m.deleted_at AS "deletedAt"`;

interface RawMessage extends Omit<MessageRow, 'sealed'> {
  ciphertext: Buffer | Uint8Array | null;
  nonce: Buffer | Uint8Array | null;
  keyId: string | null;
}

const toBuffer = (b: Buffer | Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b));

function message(raw: RawMessage): MessageRow {
  const { ciphertext, nonce, keyId, ...rest } = raw;
  return {
    ...rest,
    sealed:
      ciphertext !== null && nonce !== null && keyId !== null
        ? { keyId, nonce: toBuffer(nonce), ciphertext: toBuffer(ciphertext) }
        : null,
  };
}

/** My rooms, newest activity first (a room without messages counts from its creation). */
export const ROOMS_LISTING: Listing = { name: 'chat-rooms', key: 'activity', id: 'id', idType: 'uuid' };

export interface MyRoomRow extends RoomRow {
  readUpToSeq: number;
  unread: number;
}

/**
 * The chat tables' SQL (migration 039). Every method runs in the transaction it is given, under
 * the caller's row-level security (or a system scope's).
 */
export class ChatRepository {
  constructor(private readonly q: Queryable) {}

  async room(id: string): Promise<RoomRow | undefined> {
    const { rows } = await this.q.query<RoomRow>(`SELECT ${ROOM_COLUMNS} FROM chat_rooms r WHERE r.id = $1`, [id]);
    return rows[0];
  }

  async roomOfBooking(bookingId: string): Promise<RoomRow | undefined> {
    const { rows } = await this.q.query<RoomRow>(`SELECT ${ROOM_COLUMNS} FROM chat_rooms r WHERE r.booking_id = $1`, [
      bookingId,
    ]);
    return rows[0];
  }

  /** The room locked for this transaction (posting takes the next seq under it). */
  async lockRoom(id: string): Promise<RoomRow | undefined> {
    const { rows } = await this.q.query<RoomRow>(
      `SELECT ${ROOM_COLUMNS} FROM chat_rooms r WHERE r.id = $1 FOR UPDATE`,
      [id],
    );
    return rows[0];
  }

  /**
   * Inserts a room; undefined when a booking room for the booking exists already (the caller reads
   * that one). No RETURNING: a customer may not see the row until they are its participant.
   */
  async insertRoom(room: {
    id: string;
    tenantId: string;
    kind: RoomKind;
    title: string | null;
    bookingId: string | null;
    partnerId: string | null;
    customerTenantId: string | null;
    customerUserId: string | null;
    createdBy: string;
  }): Promise<boolean> {
    const result = await this.q.query(
      `INSERT INTO chat_rooms (id, tenant_id, kind, title, booking_id, partner_id, customer_tenant_id,
                               customer_user_id, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (booking_id) WHERE booking_id IS NOT NULL DO NOTHING`,
      [
        room.id,
        room.tenantId,
        room.kind,
        room.title,
        room.bookingId,
        room.partnerId,
        room.customerTenantId,
        room.customerUserId,
        room.createdBy,
      ],
    );
    return (result.rowCount ?? 0) > 0;
  }

  /** Marks a present participant as gone (they keep their name on what they wrote); false when not present. */
  async leave(roomId: string, userId: string): Promise<boolean> {
    const { rowCount } = await this.q.query(
      'UPDATE chat_participants SET left_at = now() WHERE room_id = $1 AND user_id = $2 AND left_at IS NULL',
      [roomId, userId],
    );
    return rowCount === 1;
  }

  /** Adds a participant, or brings one who left back; a present one stays as they are. */
  async join(p: {
    tenantId: string;
    roomId: string;
    userId: string;
    userTenantId: string;
    role: ParticipantRole;
    displayName: string;
  }): Promise<void> {
    await this.q.query(
      `INSERT INTO chat_participants (tenant_id, room_id, user_id, user_tenant_id, role, display_name)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (room_id, user_id) DO UPDATE SET left_at = NULL WHERE chat_participants.left_at IS NOT NULL`,
      [p.tenantId, p.roomId, p.userId, p.userTenantId, p.role, p.displayName],
    );
  }

  async participants(roomIds: readonly string[]): Promise<ParticipantRow[]> {
    if (roomIds.length === 0) return [];
    const { rows } = await this.q.query<ParticipantRow>(
      `SELECT ${PARTICIPANT_COLUMNS} FROM chat_participants p
        WHERE p.room_id = ANY ($1::uuid[]) ORDER BY p.room_id, p.joined_at, p.user_id`,
      [roomIds],
    );
    return rows;
  }

  /** Users of the caller's own tenant, by id (the ones that exist and are not disabled). */
  async usersOfTenant(tenantId: string, ids: readonly string[]): Promise<{ id: string; displayName: string }[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.q.query<{ id: string; displayName: string }>(
      `SELECT id, display_name AS "displayName" FROM users
        WHERE tenant_id = $1 AND id = ANY ($2::uuid[]) AND status <> 'disabled'`,
      [tenantId, ids],
    );
    return rows;
  }

  /** The booking's customer as the caller may name them (migration 039, chat_booking_customer). */
  async bookingCustomer(
    bookingId: string,
  ): Promise<{ userId: string; tenantId: string; displayName: string } | undefined> {
    const { rows } = await this.q.query<{ userId: string; tenantId: string; displayName: string }>(
      `SELECT user_id AS "userId", tenant_id AS "tenantId", display_name AS "displayName"
         FROM chat_booking_customer($1)`,
      [bookingId],
    );
    return rows[0];
  }

  async myRooms(userId: string, userTenantId: string, page: PageRequest): Promise<Page<MyRoomRow>> {
    return keysetPage<MyRoomRow>(
      this.q,
      ROOMS_LISTING,
      {
        sql: `SELECT ${ROOM_COLUMNS}, coalesce(r.last_message_at, r.created_at) AS activity,
                     p.read_up_to_seq::int AS "readUpToSeq",
                     (SELECT count(*)::int FROM chat_messages m
                       WHERE m.room_id = r.id AND m.seq > p.read_up_to_seq AND m.sender_user_id <> p.user_id
                         AND m.deleted_at IS NULL) AS unread
                FROM chat_participants p JOIN chat_rooms r ON r.id = p.room_id
               WHERE p.user_id = $1 AND p.user_tenant_id = $2 AND p.left_at IS NULL`,
        params: [userId, userTenantId],
      },
      page,
    );
  }

  async unread(roomId: string, userId: string, readUpToSeq: number): Promise<number> {
    const { rows } = await this.q.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM chat_messages
        WHERE room_id = $1 AND seq > $3 AND sender_user_id <> $2 AND deleted_at IS NULL`,
      [roomId, userId, readUpToSeq],
    );
    return rows[0]!.n;
  }

  async messageByClientId(
    roomId: string,
    senderUserId: string,
    clientMessageId: string,
  ): Promise<MessageRow | undefined> {
    const { rows } = await this.q.query<RawMessage>(
      `SELECT ${MESSAGE_COLUMNS} FROM chat_messages m
        WHERE m.room_id = $1 AND m.sender_user_id = $2 AND m.client_message_id = $3`,
      [roomId, senderUserId, clientMessageId],
    );
    return rows[0] && message(rows[0]);
  }

  async message(id: string): Promise<MessageRow | undefined> {
    const { rows } = await this.q.query<RawMessage>(`SELECT ${MESSAGE_COLUMNS} FROM chat_messages m WHERE m.id = $1`, [
      id,
    ]);
    return rows[0] && message(rows[0]);
  }

  /** The room's next sequence number, taken under its row lock (held until this transaction ends). */
  async nextSeq(roomId: string): Promise<number> {
    const { rows } = await this.q.query<{ seq: number }>(
      `UPDATE chat_rooms SET last_seq = last_seq + 1, last_message_at = now() WHERE id = $1 RETURNING last_seq::int AS seq`,
      [roomId],
    );
    return rows[0]!.seq;
  }

  async insertMessage(m: {
    id: string;
    tenantId: string;
    roomId: string;
    seq: number;
    senderUserId: string;
    clientMessageId: string;
    sealed: SealedBody;
    mentions: readonly string[];
    kind?: MessageKind;
  }): Promise<MessageRow> {
    const { rows } = await this.q.query<RawMessage>(
      `INSERT INTO chat_messages AS m (id, tenant_id, room_id, seq, sender_user_id, client_message_id, ciphertext, nonce,
                                       key_id, mentions, kind)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::uuid[], $11)
       RETURNING ${MESSAGE_COLUMNS}`,
      [
        m.id,
        m.tenantId,
        m.roomId,
        m.seq,
        m.senderUserId,
        m.clientMessageId,
        m.sealed.ciphertext,
        m.sealed.nonce,
        m.sealed.keyId,
        m.mentions,
        m.kind ?? 'text',
      ],
    );
    return message(rows[0]!);
  }

  /** Ascending after `afterSeq`, or descending before `beforeSeq` (the latest when undefined); limit + 1 rows. */
  async messages(
    roomId: string,
    range: { afterSeq: number } | { beforeSeq: number | undefined },
    limit: number,
  ): Promise<MessageRow[]> {
    const after = 'afterSeq' in range;
    const { rows } = await this.q.query<RawMessage>(
      after
        ? `SELECT ${MESSAGE_COLUMNS} FROM chat_messages m WHERE m.room_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3`
        : `SELECT ${MESSAGE_COLUMNS} FROM chat_messages m WHERE m.room_id = $1 AND ($2::bigint IS NULL OR m.seq < $2)
            ORDER BY m.seq DESC LIMIT $3`,
      [roomId, after ? range.afterSeq : (range.beforeSeq ?? null), limit + 1],
    );
    return rows.map(message);
  }

  async receipts(messageIds: readonly string[]): Promise<ReceiptRow[]> {
    if (messageIds.length === 0) return [];
    const { rows } = await this.q.query<ReceiptRow>(
      `SELECT message_id AS "messageId", user_id AS "userId", read_at AS "readAt" FROM chat_receipts
        WHERE message_id = ANY ($1::uuid[]) ORDER BY read_at, user_id`,
      [messageIds],
    );
    return rows;
  }

  /**
   * The user has read the room up to `seq`: a receipt for every message of the others in between
   * not read yet, and the participant's mark moved (never back). Returns the mark and when.
   */
  async markRead(
    roomId: string,
    tenantId: string,
    userId: string,
    seq: number,
  ): Promise<{ readUpToSeq: number; readAt: Date }> {
    // The participant's row first, locked: two marks of one user in one room take turns.
    const { rows: me } = await this.q.query<{ readUpToSeq: number }>(
      `SELECT read_up_to_seq::int AS "readUpToSeq" FROM chat_participants WHERE room_id = $1 AND user_id = $2 FOR UPDATE`,
      [roomId, userId],
    );
    const from = me[0]!.readUpToSeq;
    if (seq > from)
      await this.q.query(
        `INSERT INTO chat_receipts (tenant_id, room_id, message_id, user_id)
         SELECT $2, $1, m.id, $3 FROM chat_messages m
          WHERE m.room_id = $1 AND m.seq > $4 AND m.seq <= $5 AND m.sender_user_id <> $3 AND m.deleted_at IS NULL
         ON CONFLICT DO NOTHING`,
        [roomId, tenantId, userId, from, seq],
      );
    const { rows } = await this.q.query<{ readUpToSeq: number; readAt: Date }>(
      `UPDATE chat_participants SET read_up_to_seq = greatest(read_up_to_seq, $3)
        WHERE room_id = $1 AND user_id = $2
       RETURNING read_up_to_seq::int AS "readUpToSeq", now() AS "readAt"`,
      [roomId, userId, seq],
    );
    return rows[0]!;
  }

  /** Wipes the body (the tombstone keeps seq, sender and time); false when it was deleted already. */
  async wipe(messageId: string, deletedBy: string): Promise<MessageRow | undefined> {
    const { rows } = await this.q.query<RawMessage>(
      `UPDATE chat_messages m SET ciphertext = NULL, nonce = NULL, key_id = NULL, mentions = '{}',
              deleted_at = now(), deleted_by = $2
        WHERE m.id = $1 AND m.deleted_at IS NULL
        RETURNING ${MESSAGE_COLUMNS}`,
      [messageId, deletedBy],
    );
    return rows[0] && message(rows[0]);
  }

  /** Records a report; a second one by the same reporter is the first (its id). */
  async report(r: {
    tenantId: string;
    roomId: string;
    messageId: string;
    reporterUserId: string;
    reason: string;
  }): Promise<{ id: string; createdAt: Date; status: string }> {
    const { rows } = await this.q.query<{ id: string; createdAt: Date; status: string }>(
      `WITH inserted AS (
         INSERT INTO chat_reports (tenant_id, room_id, message_id, reporter_user_id, reason)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (message_id, reporter_user_id) DO NOTHING
         RETURNING id, created_at, status
       )
       SELECT id, created_at AS "createdAt", status FROM inserted
       UNION ALL
       SELECT id, created_at, status FROM chat_reports WHERE message_id = $3 AND reporter_user_id = $4
       LIMIT 1`,
      [r.tenantId, r.roomId, r.messageId, r.reporterUserId, r.reason],
    );
    return rows[0]!;
  }

  async reports(status: 'open' | 'all', limit: number): Promise<ReportRow[]> {
    const { rows } = await this.q.query<ReportRow>(
      `SELECT r.id, r.room_id AS "roomId", r.message_id AS "messageId", r.reporter_user_id AS "reporterUserId",
              r.reason, r.status, r.created_at AS "createdAt", m.seq::int AS "messageSeq",
              m.sender_user_id AS "messageSenderUserId"
         FROM chat_reports r JOIN chat_messages m ON m.id = r.message_id
        WHERE $1 = 'all' OR r.status = 'open'
        ORDER BY r.created_at DESC, r.id LIMIT $2`,
      [status, limit],
    );
    return rows;
  }

  /** Reports of a deleted message are resolved with it. */
  async resolveReports(messageId: string): Promise<void> {
    await this.q.query(
      `UPDATE chat_reports SET status = 'resolved', resolved_at = now() WHERE message_id = $1 AND status = 'open'`,
      [messageId],
    );
  }
}
