import type { Queryable } from '@clutch/db';
import type { RoomRow } from '../repository.js';
import type { AttachmentType } from './detect.js';

export interface AttachmentRow {
  id: string;
  tenantId: string;
  roomId: string;
  uploaderUserId: string;
  storageKey: string;
  name: string;
  contentType: AttachmentType;
  size: number;
  width: number | null;
  height: number | null;
  sha256: Buffer;
  messageId: string | null;
  createdAt: Date;
}

/** An attachment as a participant may fetch it: the row, plus whether its message was deleted. */
export interface ReadableAttachment extends AttachmentRow {
  messageDeleted: boolean;
}

export interface NewAttachment {
  id: string;
  roomId: string;
  uploaderUserId: string;
  storageKey: string;
  name: string;
  contentType: AttachmentType;
  size: number;
  width: number | null;
  height: number | null;
  sha256: Buffer;
}

const COLUMNS = `a.id, a.tenant_id AS "tenantId", a.room_id AS "roomId", a.uploader_user_id AS "uploaderUserId",
  a.storage_key AS "storageKey", a.name, a.content_type AS "contentType", a.size::int AS size, a.width, a.height,
  a.sha256, a.message_id AS "messageId", a.created_at AS "createdAt"`;

const ROOM_COLUMNS = `r.id, r.tenant_id AS "tenantId", r.kind, r.title, r.booking_id AS "bookingId",
  r.partner_id AS "partnerId", r.customer_tenant_id AS "customerTenantId", r.customer_user_id AS "customerUserId",
  r.last_seq::int AS "lastSeq", r.last_message_at AS "lastMessageAt", r.created_at AS "createdAt"`;

type Raw<T> = Omit<T, 'sha256'> & { sha256: Buffer | Uint8Array };
const withBuffer = <T extends { sha256: Buffer | Uint8Array }>(row: T): T & { sha256: Buffer } => ({
  ...row,
  sha256: Buffer.from(row.sha256),
});

/**
 * Stores the facts of an upload, only while its uploader still takes part in the room; false when
 * they no longer do (left between the check and the insert). The room's tenant comes from the room.
 */
export async function insertAttachment(q: Queryable, a: NewAttachment): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO chat_attachments (id, tenant_id, room_id, uploader_user_id, storage_key, name, content_type, size,
                                   width, height, sha256)
     SELECT $1, p.tenant_id, p.room_id, p.user_id, $4, $5, $6, $7, $8, $9, $10
       FROM chat_participants p
      WHERE p.room_id = $2 AND p.user_id = $3 AND p.left_at IS NULL`,
    [a.id, a.roomId, a.uploaderUserId, a.storageKey, a.name, a.contentType, a.size, a.width, a.height, a.sha256],
  );
  return rowCount === 1;
}

/** Removes an upload's row whose object could not be stored (nothing refers to it yet). */
export async function deleteUnclaimed(q: Queryable, id: string): Promise<void> {
  await q.query('DELETE FROM chat_attachments WHERE id = $1 AND message_id IS NULL', [id]);
}

/**
 * An attachment the user may fetch: in a room they take part in now, and either claimed by a
 * message or their own pending upload (others learn of an upload only with its message).
 */
export async function readableAttachment(
  q: Queryable,
  id: string,
  userId: string,
  userTenantId: string,
): Promise<(ReadableAttachment & { room: RoomRow }) | undefined> {
  const { rows } = await q.query<Raw<ReadableAttachment> & { room: Record<string, unknown> }>(
    `SELECT ${COLUMNS}, (m.deleted_at IS NOT NULL) AS "messageDeleted",
            (SELECT row_to_json(x) FROM (SELECT ${ROOM_COLUMNS} FROM chat_rooms r WHERE r.id = a.room_id) x) AS room
       FROM chat_attachments a
       JOIN chat_participants p ON p.room_id = a.room_id AND p.user_id = $2 AND p.user_tenant_id = $3 AND p.left_at IS NULL
       LEFT JOIN chat_messages m ON m.tenant_id = a.tenant_id AND m.id = a.message_id
      WHERE a.id = $1 AND (a.message_id IS NOT NULL OR a.uploader_user_id = $2)`,
    [id, userId, userTenantId],
  );
  const row = rows[0];
  if (!row || !row.room) return undefined;
  const room = parseRoom(row.room);
  return { ...withBuffer(row), room };
}

/** row_to_json gives timestamps as strings and bigints as numbers: the RoomRow shape again. */
function parseRoom(raw: Record<string, unknown>): RoomRow {
  const r = raw as unknown as RoomRow & { lastMessageAt: string | Date | null; createdAt: string | Date };
  return {
    ...r,
    lastSeq: Number(r.lastSeq),
    lastMessageAt: r.lastMessageAt === null ? null : new Date(r.lastMessageAt),
    createdAt: new Date(r.createdAt),
  };
}

/** An attachment a message carries that was not deleted (moderation reads it in an audited scope). */
export async function sentAttachment(q: Queryable, id: string): Promise<AttachmentRow | undefined> {
  const { rows } = await q.query<Raw<AttachmentRow>>(
    `SELECT ${COLUMNS}
       FROM chat_attachments a
       JOIN chat_messages m ON m.tenant_id = a.tenant_id AND m.id = a.message_id AND m.deleted_at IS NULL
      WHERE a.id = $1`,
    [id],
  );
  return rows[0] ? withBuffer(rows[0]) : undefined;
}

/**
 * Sets `messageId` on the uploads named, in the order named, where each is in `roomId`, by
 * `uploaderId` and unclaimed; returns the rows it claimed (fewer than asked: some did not qualify).
 * A concurrent claim of the same upload waits for the row lock and then finds it claimed.
 */
export async function claim(
  q: Queryable,
  input: { roomId: string; uploaderId: string; messageId: string; ids: readonly string[] },
): Promise<AttachmentRow[]> {
  const { rows } = await q.query<Raw<AttachmentRow>>(
    `UPDATE chat_attachments a
        SET message_id = $3, position = x.ord - 1, claimed_at = now()
       FROM unnest($4::uuid[]) WITH ORDINALITY AS x(id, ord)
      WHERE a.id = x.id AND a.room_id = $1 AND a.uploader_user_id = $2 AND a.message_id IS NULL
      RETURNING ${COLUMNS}, x.ord`,
    [input.roomId, input.uploaderId, input.messageId, input.ids],
  );
  return rows.map(withBuffer);
}

/** The attachments of these messages that were not deleted, in each message's order. */
export async function ofMessages(q: Queryable, messageIds: readonly string[]): Promise<AttachmentRow[]> {
  if (messageIds.length === 0) return [];
  const { rows } = await q.query<Raw<AttachmentRow>>(
    `SELECT ${COLUMNS}
       FROM chat_attachments a
       JOIN chat_messages m ON m.tenant_id = a.tenant_id AND m.id = a.message_id AND m.deleted_at IS NULL
      WHERE a.message_id = ANY ($1::uuid[])
      ORDER BY a.message_id, a.position`,
    [messageIds],
  );
  return rows.map(withBuffer);
}

/** What the cleanup removes: uploads never claimed since `cutoff`, and attachments of deleted messages. */
export async function takeExpired(
  q: Queryable,
  cutoff: Date,
  limit: number,
): Promise<{ id: string; storageKey: string }[]> {
  // Two scans, each on its own index (the unclaimed one, and deleted messages' rows).
  const unclaimed = await q.query<{ id: string; storageKey: string }>(
    `SELECT a.id, a.storage_key AS "storageKey"
       FROM chat_attachments a
      WHERE a.message_id IS NULL AND a.created_at < $1
      ORDER BY a.created_at
      LIMIT $2
      FOR UPDATE OF a SKIP LOCKED`,
    [cutoff, limit],
  );
  const left = limit - unclaimed.rows.length;
  if (left <= 0) return unclaimed.rows;
  const deleted = await q.query<{ id: string; storageKey: string }>(
    `SELECT a.id, a.storage_key AS "storageKey"
       FROM chat_messages m
       JOIN chat_attachments a ON a.tenant_id = m.tenant_id AND a.message_id = m.id
      WHERE m.deleted_at IS NOT NULL
      LIMIT $1
      FOR UPDATE OF a SKIP LOCKED`,
    [left],
  );
  return [...unclaimed.rows, ...deleted.rows];
}

export async function deleteRows(q: Queryable, ids: readonly string[]): Promise<void> {
  await q.query('DELETE FROM chat_attachments WHERE id = ANY ($1::uuid[])', [ids]);
}
