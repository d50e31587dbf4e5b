import type { Database, Queryable } from '@clutch/db';
import { appendLiveEvent, type JobQueue } from '@clutch/jobs';
import type { Logger } from 'pino';
import type { JobEnqueuer } from '../ai/retrain-jobs.js';
import { toIso } from '../shared/time.js';
import type { ChannelName, ChannelTarget, NotificationChannels, RenderedNotification } from './channels/channel.js';
import { channelEnabled, PUSH_CHANNELS, type NotificationCategory, type NotificationSettings } from './model.js';
import { holdUntil } from './quiet-hours.js';
import {
  NOTIFICATION_DISPATCH_QUEUE,
  NOTIFICATION_DISPATCH_SETTINGS,
  NOTIFICATION_SEND_QUEUE,
  NOTIFICATION_SEND_SETTINGS,
  type DispatchJobData,
  type SendJobData,
} from './queues.js';
import { readSettings } from './settings.js';

export interface NotificationJobDeps {
  /** The platform's own transactions: dispatch and sends act for every tenant. */
  db: Pick<Database, 'transaction'>;
  channels: NotificationChannels;
  logger: Logger;
  /** Where the jobs re-enqueue (sends, deferrals); the queue they run on. */
  jobs: JobEnqueuer;
  /** The clock quiet hours are read with (tests move it); default the system clock. */
  now?: () => Date;
}

/** The channels with a sender, in the order deliveries are made. */
const SENDER_CHANNELS: readonly ChannelName[] = ['web_push', 'fcm', 'apns', 'email', 'sms'];

interface NotificationRow {
  id: string;
  tenant_id: string;
  user_id: string;
  category: NotificationCategory;
  title: string;
  body: string;
  url: string | null;
  urgent: boolean;
  status: string;
  send_at: Date | string;
  created_at: Date | string;
  read_at: Date | string | null;
}

interface UserRow {
  email: string;
  locale: string;
  time_zone: string;
  status: string;
}

async function userOf(q: Queryable, userId: string): Promise<UserRow | undefined> {
  const { rows } = await q.query<UserRow>('SELECT email, locale, time_zone, status FROM users WHERE id = $1', [userId]);
  return rows[0];
}

/** The rules a channel waits under: urgent push ignores quiet hours and do-not-disturb. */
function holdFor(now: Date, settings: NotificationSettings, channel: ChannelName, urgent: boolean): Date | null {
  if (urgent && PUSH_CHANNELS.includes(channel)) return null;
  return holdUntil(now, settings);
}

interface Target {
  channel: ChannelName;
  ref: string;
  deviceId: string | null;
}

async function targetsOf(
  q: Queryable,
  n: NotificationRow,
  user: UserRow,
  settings: NotificationSettings,
  channels: NotificationChannels,
): Promise<Target[]> {
  const wanted = SENDER_CHANNELS.filter((c) => channels[c] !== undefined && channelEnabled(settings, n.category, c));
  if (wanted.length === 0 || user.status === 'disabled') return [];
  const targets: Target[] = [];
  const push = wanted.filter((c) => PUSH_CHANNELS.includes(c));
  if (push.length > 0) {
    const { rows } = await q.query<{ id: string; kind: ChannelName }>(
      `SELECT id::text AS id, kind FROM notification_devices
        WHERE user_id = $1 AND kind = ANY ($2::text[]) AND disabled_at IS NULL ORDER BY created_at, id`,
      [n.user_id, push],
    );
    for (const d of rows) targets.push({ channel: d.kind, ref: d.id, deviceId: d.id });
  }
  if (wanted.includes('email')) targets.push({ channel: 'email', ref: user.email, deviceId: null });
  if (wanted.includes('sms') && settings.phone !== null)
    targets.push({ channel: 'sms', ref: settings.phone, deviceId: null });
  return targets;
}

/**
 * One notification's dispatch, in one transaction: the inbox row (in_app: at once, whatever the
 * hour, with the `notification` live event through the outbox) and one delivery per channel and
 * target the user's preferences allow, each `queued` (or `deferred` until quiet hours or
 * do-not-disturb end) with its `notification-send` job. Running it again changes nothing.
 */
export async function dispatchNotification(deps: NotificationJobDeps, notificationId: string): Promise<void> {
  const now = deps.now?.() ?? new Date();
  await deps.db.transaction(async (q) => {
    const { rows } = await q.query<NotificationRow>(
      `SELECT id::text AS id, tenant_id, user_id::text AS user_id, category, title, body, url, urgent, status, send_at,
              created_at, read_at
         FROM notifications WHERE id = $1 FOR UPDATE`,
      [notificationId],
    );
    const n = rows[0];
    if (!n || n.status === 'dispatched' || n.status === 'cancelled') return;
    const user = await userOf(q, n.user_id);
    if (!user) return;
    const settings = await readSettings(q, n.user_id, user.time_zone);
    const inApp = channelEnabled(settings, n.category, 'in_app');
    if (inApp) {
      await q.query(
        `INSERT INTO notification_deliveries (tenant_id, notification_id, user_id, channel, target_ref, state)
         VALUES ($1, $2, $3, 'in_app', 'inbox', 'delivered') ON CONFLICT ON CONSTRAINT notification_deliveries_target DO NOTHING`,
        [n.tenant_id, n.id, n.user_id],
      );
      await appendLiveEvent(q, {
        type: 'notification',
        tenantId: n.tenant_id,
        userId: n.user_id,
        notification: {
          id: n.id,
          category: n.category,
          title: n.title,
          body: n.body,
          url: n.url,
          // When it reached the inbox, as the inbox lists it (a scheduled one: its send time, not its request).
          createdAt: now.toISOString(),
          readAt: toIso(n.read_at),
        },
      });
    }
    for (const target of await targetsOf(q, n, user, settings, deps.channels)) {
      const hold = holdFor(now, settings, target.channel, n.urgent);
      const { rows: made } = await q.query<{ id: string }>(
        `INSERT INTO notification_deliveries (tenant_id, notification_id, user_id, channel, device_id, target_ref, state, deferred_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT ON CONSTRAINT notification_deliveries_target DO NOTHING RETURNING id::text AS id`,
        [n.tenant_id, n.id, n.user_id, target.channel, target.deviceId, target.ref, hold ? 'deferred' : 'queued', hold],
      );
      for (const { id } of made)
        await deps.jobs.enqueue(NOTIFICATION_SEND_QUEUE, { deliveryId: id } satisfies SendJobData, {
          tx: q,
          singletonKey: id,
          ...(hold ? { startAfter: hold } : {}),
        });
    }
    await q.query(`UPDATE notifications SET status = 'dispatched', dispatched_at = $2, in_app = $3 WHERE id = $1`, [
      n.id,
      now,
      inApp,
    ]);
  });
}

interface DeliveryRow {
  id: string;
  tenant_id: string;
  user_id: string;
  notification_id: string;
  channel: ChannelName;
  target_ref: string;
  state: string;
  device_id: string | null;
  device_kind: string | null;
  token: string | null;
  endpoint: string | null;
  p256dh: string | null;
  auth: string | null;
  device_disabled: boolean | null;
  category: NotificationCategory;
  title: string;
  body: string;
  url: string | null;
  urgent: boolean;
  locale: string;
  time_zone: string;
}

function targetOf(d: DeliveryRow): ChannelTarget | null {
  switch (d.channel) {
    case 'email':
      return { kind: 'email', address: d.target_ref };
    case 'sms':
      return { kind: 'sms', phone: d.target_ref };
    case 'web_push':
      return d.endpoint && d.p256dh && d.auth
        ? { kind: 'web_push', endpoint: d.endpoint, p256dh: d.p256dh, auth: d.auth }
        : null;
    case 'fcm':
    case 'apns':
      return d.token ? { kind: d.channel, token: d.token } : null;
  }
}

/** What an attempt needs outside the transaction, or null when there is nothing to send now. */
interface Claimed {
  delivery: DeliveryRow;
  target: ChannelTarget;
  message: RenderedNotification;
}

async function fail(q: Queryable, deliveryId: string, reason: string): Promise<void> {
  await q.query(
    `UPDATE notification_deliveries SET state = 'failed', error = $2, deferred_until = NULL
      WHERE id = $1 AND state IN ('queued', 'deferred')`,
    [deliveryId, reason.slice(0, 1000)],
  );
}

/** Reads the delivery, and either defers it again, fails it for good, or takes it for one attempt. */
async function claim(deps: NotificationJobDeps, deliveryId: string, now: Date): Promise<Claimed | null> {
  return deps.db.transaction(async (q) => {
    const { rows } = await q.query<DeliveryRow>(
      `SELECT d.id::text AS id, d.tenant_id, d.user_id::text AS user_id, d.notification_id::text AS notification_id,
              d.channel, d.target_ref, d.state, d.device_id::text AS device_id,
              v.kind AS device_kind, v.token, v.endpoint, v.p256dh, v.auth, v.disabled_at IS NOT NULL AS device_disabled,
              n.category, n.title, n.body, n.url, n.urgent, u.locale, u.time_zone
         FROM notification_deliveries d
         JOIN notifications n ON n.id = d.notification_id
         JOIN users u ON u.id = d.user_id
         LEFT JOIN notification_devices v ON v.id = d.device_id
        WHERE d.id = $1
          FOR UPDATE OF d`,
      [deliveryId],
    );
    const d = rows[0];
    // Sent, failed or gone: a retried or repeated job never sends a delivery twice.
    if (!d || (d.state !== 'queued' && d.state !== 'deferred')) return null;
    const settings = await readSettings(q, d.user_id, d.time_zone);
    // Settings may have changed since dispatch: the hold is decided again when it is due.
    const hold = holdFor(now, settings, d.channel, d.urgent);
    if (hold) {
      await q.query(`UPDATE notification_deliveries SET state = 'deferred', deferred_until = $2 WHERE id = $1`, [
        d.id,
        hold,
      ]);
      await deps.jobs.enqueue(NOTIFICATION_SEND_QUEUE, { deliveryId: d.id } satisfies SendJobData, {
        tx: q,
        startAfter: hold,
      });
      return null;
    }
    const isPush = PUSH_CHANNELS.includes(d.channel);
    if (isPush && (d.device_id === null || d.device_disabled)) {
      await fail(q, d.id, 'the device was removed before the message went out');
      return null;
    }
    const target = targetOf(d);
    if (!target || deps.channels[d.channel] === undefined) {
      await fail(q, d.id, `channel ${d.channel} is not configured here`);
      return null;
    }
    await q.query(
      `UPDATE notification_deliveries SET state = 'queued', deferred_until = NULL, attempts = attempts + 1 WHERE id = $1`,
      [d.id],
    );
    const { rows: unread } = await q.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND in_app AND read_at IS NULL`,
      [d.user_id],
    );
    return {
      delivery: d,
      target,
      message: {
        notificationId: d.notification_id,
        category: d.category,
        title: d.title,
        body: d.body,
        url: d.url,
        locale: d.locale,
        ...(isPush ? { badge: unread[0]?.n ?? 0 } : {}),
      },
    };
  });
}

/** A provider's answer that is worth another attempt (thrown, or a rejection it calls temporary). */
export class TransientSendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransientSendError';
  }
}

/**
 * One attempt at one delivery (the `notification-send` job). `lastAttempt`: the queue will not
 * retry, so a transient failure ends `failed` instead of being thrown. A provider's rejection is
 * `failed`, never `sent`; an invalid token or endpoint also disables the device, so nothing is sent
 * to it again. Throws (for the queue to retry) on a transient failure before the last attempt.
 */
export async function sendDelivery(
  deps: NotificationJobDeps,
  deliveryId: string,
  options: { lastAttempt?: boolean } = {},
): Promise<void> {
  const now = deps.now?.() ?? new Date();
  const claimed = await claim(deps, deliveryId, now);
  if (!claimed) return;
  const { delivery, target, message } = claimed;
  const sender = deps.channels[delivery.channel]!;
  let result;
  try {
    result = await sender.send(target, message);
  } catch (err) {
    result = { ok: false as const, permanent: false, invalidTarget: false, reason: errorText(err) };
  }
  const transient = !result.ok && !result.permanent && !result.invalidTarget;
  await deps.db.transaction(async (q) => {
    if (result.ok) {
      await q.query(
        `UPDATE notification_deliveries SET state = 'sent', provider_message_id = $2, error = NULL
          WHERE id = $1 AND state IN ('queued', 'deferred')`,
        [delivery.id, result.providerMessageId],
      );
      if (delivery.device_id !== null)
        await q.query('UPDATE notification_devices SET last_used_at = now() WHERE id = $1', [delivery.device_id]);
      return;
    }
    if (transient && !options.lastAttempt) {
      await q.query('UPDATE notification_deliveries SET error = $2 WHERE id = $1', [
        delivery.id,
        result.reason.slice(0, 1000),
      ]);
      return;
    }
    await fail(q, delivery.id, result.reason);
    if (result.invalidTarget && delivery.device_id !== null)
      await q.query(
        `UPDATE notification_devices SET disabled_at = now(), disabled_reason = $2 WHERE id = $1 AND disabled_at IS NULL`,
        [delivery.device_id, result.reason.slice(0, 500)],
      );
  });
  if (!result.ok && transient && !options.lastAttempt) {
    deps.logger.warn({ deliveryId, channel: delivery.channel, reason: result.reason }, 'notification send will retry');
    throw new TransientSendError(`${delivery.channel}: ${result.reason}`);
  }
  if (!result.ok)
    deps.logger.info({ deliveryId, channel: delivery.channel, reason: result.reason }, 'notification delivery failed');
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

/**
 * Works the notification queues in this process (platform/src/builders/jobs.ts calls it where job
 * workers run): dispatch and send, with the settings of queues.ts.
 */
export async function defineNotificationJobs(
  queue: Pick<JobQueue, 'define' | 'enqueue'>,
  deps: { db: Pick<Database, 'transaction'>; channels: NotificationChannels; logger: Logger; now?: () => Date },
): Promise<void> {
  const full: NotificationJobDeps = { ...deps, jobs: queue };
  await queue.define<DispatchJobData>(
    NOTIFICATION_DISPATCH_QUEUE,
    (job) => dispatchNotification(full, job.data.notificationId),
    NOTIFICATION_DISPATCH_SETTINGS,
  );
  await queue.define<SendJobData>(
    NOTIFICATION_SEND_QUEUE,
    (job) =>
      sendDelivery(full, job.data.deliveryId, {
        lastAttempt: job.retryCount >= NOTIFICATION_SEND_SETTINGS.retryLimit,
      }),
    NOTIFICATION_SEND_SETTINGS,
  );
}

/** Declares the queues in a process that only enqueues (the scaled-out API). */
export async function declareNotificationQueues(queue: Pick<JobQueue, 'declare'>): Promise<void> {
  await queue.declare(NOTIFICATION_DISPATCH_QUEUE, NOTIFICATION_DISPATCH_SETTINGS);
  await queue.declare(NOTIFICATION_SEND_QUEUE, NOTIFICATION_SEND_SETTINGS);
}
