import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';
import type { DeliveryState, NotificationCategory } from './model.js';

/** The inbox: newest arrival first. */
export const INBOX_LISTING: Listing = { name: 'notifications-inbox', key: 'arrived_at', id: 'id', idType: 'uuid' };
/** History: newest request first, scheduled ones included. */
export const HISTORY_LISTING: Listing = { name: 'notifications-history', key: 'created_at', id: 'id', idType: 'uuid' };

export interface InboxRow {
  id: string;
  category: NotificationCategory;
  title: string;
  body: string;
  url: string | null;
  arrived_at: Date | string;
  read_at: Date | string | null;
}

export interface HistoryRow {
  id: string;
  user_id: string;
  category: NotificationCategory;
  title: string;
  body: string;
  url: string | null;
  status: string;
  urgent: boolean;
  created_at: Date | string;
  send_at: Date | string;
  dispatched_at: Date | string | null;
  read_at: Date | string | null;
  opened_at: Date | string | null;
  created_by: string | null;
}

export interface DeliveryRow {
  id: string;
  notification_id: string;
  channel: string;
  device_id: string | null;
  state: DeliveryState;
  attempts: number;
  deferred_until: Date | string | null;
  provider_message_id: string | null;
  error: string | null;
  updated_at: Date | string;
}

/** One user's inbox (the in_app notifications), optionally only the unread. */
export function inboxPage(q: Queryable, userId: string, unread: boolean, page: PageRequest): Promise<Page<InboxRow>> {
  return keysetPage<InboxRow>(
    q,
    INBOX_LISTING,
    {
      sql: `SELECT id, category, title, body, url, dispatched_at AS arrived_at, read_at
              FROM notifications
             WHERE user_id = $1 AND in_app AND ($2::boolean IS FALSE OR read_at IS NULL)`,
      params: [userId, unread],
    },
    page,
  );
}

export async function unreadCount(q: Queryable, userId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND in_app AND read_at IS NULL',
    [userId],
  );
  return rows[0]?.n ?? 0;
}

export function historyPage(q: Queryable, userId: string, page: PageRequest): Promise<Page<HistoryRow>> {
  return keysetPage<HistoryRow>(
    q,
    HISTORY_LISTING,
    {
      sql: `SELECT id, user_id::text AS user_id, category, title, body, url, status, urgent, created_at, send_at,
                   dispatched_at, read_at, opened_at, created_by
              FROM notifications WHERE user_id = $1`,
      params: [userId],
    },
    page,
  );
}

export async function deliveriesOf(q: Queryable, notificationIds: readonly string[]): Promise<DeliveryRow[]> {
  if (notificationIds.length === 0) return [];
  const { rows } = await q.query<DeliveryRow>(
    `SELECT id::text AS id, notification_id::text AS notification_id, channel, device_id::text AS device_id, state,
            attempts, deferred_until, provider_message_id, error, updated_at
       FROM notification_deliveries WHERE notification_id = ANY ($1::uuid[])
      ORDER BY created_at, id`,
    [notificationIds],
  );
  return rows;
}

/** Marks one of the user's notifications read; undefined when it is not theirs (or not in the inbox). */
export async function markRead(q: Queryable, userId: string, id: string): Promise<InboxRow | undefined> {
  const { rows } = await q.query<InboxRow>(
    `UPDATE notifications SET read_at = coalesce(read_at, now())
      WHERE id = $1 AND user_id = $2 AND in_app
      RETURNING id, category, title, body, url, dispatched_at AS arrived_at, read_at`,
    [id, userId],
  );
  return rows[0];
}

export async function markAllRead(q: Queryable, userId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `WITH marked AS (UPDATE notifications SET read_at = now() WHERE user_id = $1 AND in_app AND read_at IS NULL RETURNING 1)
     SELECT count(*)::int AS n FROM marked`,
    [userId],
  );
  return rows[0]?.n ?? 0;
}

/**
 * The user opened a notification (clicked a push, or opened it from the inbox): it is read and
 * opened, and its deliveries that reached the user (sent push, the inbox) are `opened`.
 */
export async function markOpened(q: Queryable, userId: string, id: string): Promise<InboxRow | undefined> {
  const { rows } = await q.query<InboxRow>(
    `UPDATE notifications SET read_at = coalesce(read_at, now()), opened_at = coalesce(opened_at, now())
      WHERE id = $1 AND user_id = $2 AND status = 'dispatched'
      RETURNING id, category, title, body, url, dispatched_at AS arrived_at, read_at`,
    [id, userId],
  );
  if (!rows[0]) return undefined;
  await q.query(
    `UPDATE notification_deliveries SET state = 'opened'
      WHERE notification_id = $1 AND user_id = $2 AND state IN ('sent', 'delivered')
        AND channel IN ('in_app', 'web_push', 'fcm', 'apns')`,
    [id, userId],
  );
  return rows[0];
}

/** Recipients among `userIds` that exist and are not disabled, optionally only of one tenant. */
export async function recipients(
  q: Queryable,
  userIds: readonly string[],
  tenantId: string | null,
): Promise<{ id: string; tenant_id: string }[]> {
  const { rows } = await q.query<{ id: string; tenant_id: string }>(
    `SELECT id::text AS id, tenant_id FROM users
      WHERE id = ANY ($1::uuid[]) AND status <> 'disabled' AND ($2::text IS NULL OR tenant_id = $2)`,
    [userIds, tenantId],
  );
  return rows;
}

/** A scheduled notification an administrator may withdraw (one created by a send, not by an event). */
export async function scheduledForUpdate(
  q: Queryable,
  id: string,
  tenantId: string | null,
): Promise<{ id: string; status: string } | undefined> {
  const { rows } = await q.query<{ id: string; status: string }>(
    `SELECT id::text AS id, status FROM notifications
      WHERE id = $1 AND created_by IS NOT NULL AND ($2::text IS NULL OR tenant_id = $2)
        FOR UPDATE`,
    [id, tenantId],
  );
  return rows[0];
}

export async function cancelScheduled(q: Queryable, id: string): Promise<void> {
  await q.query(`UPDATE notifications SET status = 'cancelled' WHERE id = $1 AND status = 'scheduled'`, [id]);
}

export interface DeviceRow {
  id: string;
  kind: 'web_push' | 'fcm' | 'apns';
  token: string | null;
  endpoint: string | null;
  created_at: Date | string;
  last_used_at: Date | string | null;
  disabled_at: Date | string | null;
  disabled_reason: string | null;
}

const DEVICE_COLUMNS = `id::text AS id, kind, token, endpoint, created_at, last_used_at, disabled_at, disabled_reason`;

export async function listDevices(q: Queryable, userId: string): Promise<DeviceRow[]> {
  const { rows } = await q.query<DeviceRow>(
    `SELECT ${DEVICE_COLUMNS} FROM notification_devices WHERE user_id = $1 ORDER BY created_at DESC, id DESC`,
    [userId],
  );
  return rows;
}

/** Registers (or takes over, and enables again) a push target for the transaction's own user. */
export async function registerDevice(
  q: Queryable,
  device:
    { kind: 'web_push'; endpoint: string; p256dh: string; auth: string } | { kind: 'fcm' | 'apns'; token: string },
): Promise<DeviceRow> {
  const { rows } = await q.query<DeviceRow>(
    `SELECT ${DEVICE_COLUMNS} FROM notification_register_device($1, $2, $3, $4, $5)`,
    device.kind === 'web_push'
      ? [device.kind, null, device.endpoint, device.p256dh, device.auth]
      : [device.kind, device.token, null, null, null],
  );
  return rows[0]!;
}

export async function deleteDevice(q: Queryable, userId: string, id: string): Promise<boolean> {
  const { rows } = await q.query('DELETE FROM notification_devices WHERE id = $1 AND user_id = $2 RETURNING id', [
    id,
    userId,
  ]);
  return rows.length > 0;
}
