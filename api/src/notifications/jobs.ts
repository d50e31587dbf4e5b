import type { Database, Queryable } from '@clutch/db';
import { appendLiveEvents, type JobContext, type JobQueue, type JobResult, type OutboxLiveEvent } from '@clutch/jobs';
import type { Logger } from 'pino';
import { toIso } from '../shared/time.js';
import type {
  ChannelName,
  ChannelTarget,
  NotificationChannels,
  RenderedNotification,
  SendResult,
} from './channels/channel.js';
import { channelEnabled, PUSH_CHANNELS, type NotificationCategory, type NotificationSettings } from './model.js';
import { holdUntil } from './quiet-hours.js';
import {
  enqueueAll,
  NOTIFICATION_DISPATCH_QUEUE,
  NOTIFICATION_DISPATCH_SETTINGS,
  NOTIFICATION_SEND_QUEUE,
  NOTIFICATION_SEND_SETTINGS,
  dispatchIdsOf,
  sendIdsOf,
  sendJobsFor,
  type DispatchJobData,
  type NotificationEnqueuer,
  type SendJobData,
} from './queues.js';
import { readSettingsOf } from './settings.js';

export interface NotificationJobDeps {
  /** The platform's own transactions: dispatch and sends act for every tenant. */
  db: Pick<Database, 'transaction'>;
  channels: NotificationChannels;
  logger: Logger;
  /** Where the jobs re-enqueue (sends, deferrals); the queue they run on. */
  jobs: NotificationEnqueuer;
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
  id: string;
  email: string;
  locale: string;
  time_zone: string;
  status: string;
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

interface Device {
  id: string;
  user_id: string;
  kind: ChannelName;
}

/** The channels with a sender here that the user wants for this notification (none for a disabled account). */
function wantedChannels(
  n: NotificationRow,
  user: UserRow,
  settings: NotificationSettings,
  channels: NotificationChannels,
): ChannelName[] {
  if (user.status === 'disabled') return [];
  return SENDER_CHANNELS.filter((c) => channels[c] !== undefined && channelEnabled(settings, n.category, c));
}

/** Each wanted channel's targets: the user's enabled devices of a push kind, the account's address, the phone. */
function targetsOf(
  wanted: readonly ChannelName[],
  user: UserRow,
  settings: NotificationSettings,
  devices: readonly Device[],
): Target[] {
  const targets: Target[] = [];
  for (const d of devices) if (wanted.includes(d.kind)) targets.push({ channel: d.kind, ref: d.id, deviceId: d.id });
  if (wanted.includes('email')) targets.push({ channel: 'email', ref: user.email, deviceId: null });
  if (wanted.includes('sms') && settings.phone !== null)
    targets.push({ channel: 'sms', ref: settings.phone, deviceId: null });
  return targets;
}

/**
 * One notification's dispatch (see dispatchNotifications, which does many in one transaction).
 * Running it again changes nothing.
 */
export async function dispatchNotification(deps: NotificationJobDeps, notificationId: string): Promise<void> {
  await dispatchNotifications(deps, [notificationId]);
}

/**
 * The dispatch of many notifications in one transaction, set-based: for each, the inbox row (in_app:
 * at once, whatever the hour, with the `notification` live event through the outbox) and one
 * delivery per channel and target the user's preferences allow, each `queued` (or `deferred` until
 * quiet hours or do-not-disturb end) with its `notification-send` job. A notification already
 * dispatched or cancelled is left alone, so running it again changes nothing.
 */
export async function dispatchNotifications(
  deps: NotificationJobDeps,
  notificationIds: readonly string[],
): Promise<void> {
  if (notificationIds.length === 0) return;
  const now = deps.now?.() ?? new Date();
  await deps.db.transaction(async (q) => {
    // Locked in id order: two batches sharing notifications (a redelivered job) cannot deadlock.
    const { rows: found } = await q.query<NotificationRow>(
      `SELECT id::text AS id, tenant_id, user_id::text AS user_id, category, title, body, url, urgent, status, send_at,
              created_at, read_at
         FROM notifications WHERE id = ANY ($1::uuid[]) ORDER BY id FOR UPDATE`,
      [[...new Set(notificationIds)]],
    );
    const pending = found.filter((n) => n.status !== 'dispatched' && n.status !== 'cancelled');
    if (pending.length === 0) return;
    const { rows: users } = await q.query<UserRow>(
      'SELECT id::text AS id, email, locale, time_zone, status FROM users WHERE id = ANY ($1::uuid[])',
      [[...new Set(pending.map((n) => n.user_id))]],
    );
    const userById = new Map(users.map((u) => [u.id, u]));
    const settingsOf = await readSettingsOf(
      q,
      users.map((u) => ({ id: u.id, timeZone: u.time_zone })),
    );
    const work = pending.flatMap((n) => {
      const user = userById.get(n.user_id);
      if (!user) return [];
      const settings = settingsOf.get(user.id)!;
      return [{ n, user, settings, wanted: wantedChannels(n, user, settings, deps.channels) }];
    });
    const pushKinds = [...new Set(work.flatMap((w) => w.wanted.filter((c) => PUSH_CHANNELS.includes(c))))];
    const pushUsers = [
      ...new Set(work.filter((w) => w.wanted.some((c) => PUSH_CHANNELS.includes(c))).map((w) => w.user.id)),
    ];
    const devicesOf = new Map<string, Device[]>();
    if (pushUsers.length > 0) {
      const { rows: devices } = await q.query<Device>(
        `SELECT id::text AS id, user_id::text AS user_id, kind FROM notification_devices
          WHERE user_id = ANY ($1::uuid[]) AND kind = ANY ($2::text[]) AND disabled_at IS NULL ORDER BY created_at, id`,
        [pushUsers, pushKinds],
      );
      for (const d of devices) devicesOf.set(d.user_id, [...(devicesOf.get(d.user_id) ?? []), d]);
    }

    const inbox: NotificationRow[] = [];
    const live: OutboxLiveEvent[] = [];
    const deliveries: { n: NotificationRow; target: Target; hold: Date | null }[] = [];
    const inApp = new Map<string, boolean>();
    for (const { n, user, settings, wanted } of work) {
      const shown = channelEnabled(settings, n.category, 'in_app');
      inApp.set(n.id, shown);
      if (shown) {
        inbox.push(n);
        live.push({
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
      const devices = devicesOf.get(user.id) ?? [];
      for (const target of targetsOf(wanted, user, settings, devices))
        deliveries.push({ n, target, hold: holdFor(now, settings, target.channel, n.urgent) });
    }

    if (inbox.length > 0) {
      await q.query(
        `INSERT INTO notification_deliveries (tenant_id, notification_id, user_id, channel, target_ref, state)
         SELECT t, n, u, 'in_app', 'inbox', 'delivered' FROM unnest($1::text[], $2::uuid[], $3::uuid[]) AS x (t, n, u)
         ON CONFLICT ON CONSTRAINT notification_deliveries_target DO NOTHING`,
        [inbox.map((n) => n.tenant_id), inbox.map((n) => n.id), inbox.map((n) => n.user_id)],
      );
      await appendLiveEvents(q, live);
    }
    if (deliveries.length > 0) {
      const { rows: made } = await q.query<{ id: string; deferred_until: Date | string | null }>(
        `INSERT INTO notification_deliveries (tenant_id, notification_id, user_id, channel, device_id, target_ref, state, deferred_until)
         SELECT t, n, u, c, d, r, s, h
           FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::timestamptz[])
                AS x (t, n, u, c, d, r, s, h)
         ON CONFLICT ON CONSTRAINT notification_deliveries_target DO NOTHING
         RETURNING id::text AS id, deferred_until`,
        [
          deliveries.map((d) => d.n.tenant_id),
          deliveries.map((d) => d.n.id),
          deliveries.map((d) => d.n.user_id),
          deliveries.map((d) => d.target.channel),
          deliveries.map((d) => d.target.deviceId),
          deliveries.map((d) => d.target.ref),
          deliveries.map((d) => (d.hold ? 'deferred' : 'queued')),
          deliveries.map((d) => d.hold),
        ],
      );
      // Those due now share jobs; a held one has its own, due when its hold ends.
      await enqueueAll(
        deps.jobs,
        NOTIFICATION_SEND_QUEUE,
        [
          ...sendJobsFor(made.filter((d) => d.deferred_until === null).map((d) => d.id)),
          ...made.flatMap(({ id, deferred_until }) =>
            deferred_until === null
              ? []
              : [
                  {
                    data: { deliveryId: id } satisfies SendJobData,
                    singletonKey: id,
                    startAfter: new Date(deferred_until),
                  },
                ],
          ),
        ],
        q,
      );
    }
    const done = work.map((w) => w.n.id);
    await q.query(
      `UPDATE notifications n SET status = 'dispatched', dispatched_at = $2, in_app = x.in_app
         FROM unnest($1::uuid[], $3::boolean[]) AS x (id, in_app) WHERE n.id = x.id`,
      [done, now, done.map((id) => inApp.get(id) ?? false)],
    );
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

/** What an attempt needs outside the transaction. */
interface Claimed {
  delivery: DeliveryRow;
  target: ChannelTarget;
  message: RenderedNotification;
}

/**
 * Fails deliveries still waiting to go (never one already sent or failed), each with its reason;
 * `unclaim`: deliveries the claim took (and counted an attempt for) that are failed unsent.
 */
async function failAll(
  q: Queryable,
  failed: readonly { id: string; reason: string }[],
  unclaim = false,
): Promise<void> {
  if (failed.length === 0) return;
  await q.query(
    `UPDATE notification_deliveries d SET state = 'failed', error = x.reason, deferred_until = NULL,
            attempts = d.attempts - $3::int
       FROM unnest($1::uuid[], $2::text[]) AS x (id, reason)
      WHERE d.id = x.id AND d.state IN ('queued', 'deferred')`,
    [failed.map((f) => f.id), failed.map((f) => f.reason.slice(0, 1000)), unclaim ? 1 : 0],
  );
}

/**
 * Claims the deliveries in one transaction and, for each still waiting, either defers it again (and
 * re-enqueues its send for when the hold ends), fails it for good, or takes it for one attempt.
 *
 * One statement locks the waiting ones (in id order: two claims sharing deliveries cannot deadlock),
 * counts the attempt (`queued`, `attempts + 1`) and returns what the send needs, with the push
 * badge (the user's unread inbox count); the few it must not send yet or at all are then put back
 * (deferred, the attempt uncounted) or failed. Sent, failed or gone deliveries are not claimed: a
 * retried or repeated job never sends a delivery twice.
 */
async function claimAll(deps: NotificationJobDeps, deliveryIds: readonly string[], now: Date): Promise<Claimed[]> {
  return deps.db.transaction(async (q) => {
    const { rows: waiting } = await q.query<DeliveryRow & { unread: number | null }>(
      `WITH waiting AS (
         SELECT id, notification_id, user_id, device_id FROM notification_deliveries
          WHERE id = ANY ($1::uuid[]) AND state IN ('queued', 'deferred')
          ORDER BY id
            FOR UPDATE)
       UPDATE notification_deliveries d SET state = 'queued', deferred_until = NULL, attempts = d.attempts + 1
         FROM waiting w
         JOIN notifications n ON n.id = w.notification_id
         JOIN users u ON u.id = w.user_id
         LEFT JOIN notification_devices v ON v.id = w.device_id
        WHERE d.id = w.id
       RETURNING d.id::text AS id, d.tenant_id, d.user_id::text AS user_id, d.notification_id::text AS notification_id,
                 d.channel, d.target_ref, d.state, d.device_id::text AS device_id,
                 v.kind AS device_kind, v.token, v.endpoint, v.p256dh, v.auth, v.disabled_at IS NOT NULL AS device_disabled,
                 n.category, n.title, n.body, n.url, n.urgent, u.locale, u.time_zone,
                 CASE WHEN d.channel = ANY ($2::text[]) THEN
                   (SELECT count(*)::int FROM notifications b WHERE b.user_id = d.user_id AND b.in_app AND b.read_at IS NULL)
                 END AS unread`,
      [[...new Set(deliveryIds)], PUSH_CHANNELS],
    );
    if (waiting.length === 0) return [];
    const users = new Map(waiting.map((d) => [d.user_id, { id: d.user_id, timeZone: d.time_zone }]));
    const settingsOf = await readSettingsOf(q, [...users.values()]);
    const deferred: { id: string; hold: Date }[] = [];
    const failed: { id: string; reason: string }[] = [];
    const taken: { d: DeliveryRow & { unread: number | null }; target: ChannelTarget }[] = [];
    for (const d of waiting) {
      // Settings may have changed since dispatch: the hold is decided again when it is due.
      const hold = holdFor(now, settingsOf.get(d.user_id)!, d.channel, d.urgent);
      if (hold) {
        deferred.push({ id: d.id, hold });
        continue;
      }
      if (PUSH_CHANNELS.includes(d.channel) && (d.device_id === null || d.device_disabled)) {
        failed.push({ id: d.id, reason: 'the device was removed before the message went out' });
        continue;
      }
      const target = targetOf(d);
      if (!target || deps.channels[d.channel] === undefined) {
        failed.push({ id: d.id, reason: `channel ${d.channel} is not configured here` });
        continue;
      }
      taken.push({ d, target });
    }
    if (deferred.length > 0) {
      await q.query(
        `UPDATE notification_deliveries d SET state = 'deferred', deferred_until = x.hold, attempts = d.attempts - 1
           FROM unnest($1::uuid[], $2::timestamptz[]) AS x (id, hold) WHERE d.id = x.id`,
        [deferred.map((x) => x.id), deferred.map((x) => x.hold)],
      );
      await enqueueAll(
        deps.jobs,
        NOTIFICATION_SEND_QUEUE,
        deferred.map((x) => ({ data: { deliveryId: x.id } satisfies SendJobData, startAfter: x.hold })),
        q,
      );
    }
    await failAll(q, failed, true);
    return taken.map(({ d, target }) => ({
      delivery: d,
      target,
      message: {
        notificationId: d.notification_id,
        category: d.category,
        title: d.title,
        body: d.body,
        url: d.url,
        locale: d.locale,
        ...(PUSH_CHANNELS.includes(d.channel) ? { badge: d.unread ?? 0 } : {}),
      },
    }));
  });
}

/** A provider's answer that is worth another attempt (thrown, or a rejection it calls temporary). */
export class TransientSendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransientSendError';
  }
}

/** One attempt at a delivery of a `notification-send` job. */
export interface SendAttempt {
  deliveryId: string;
  /** The queue will not retry: a transient failure ends `failed` instead of being reported. */
  lastAttempt?: boolean;
}

/**
 * One attempt at one delivery (the `notification-send` job). A provider's rejection is `failed`,
 * never `sent`; an invalid token or endpoint also disables the device, so nothing is sent to it
 * again. Throws (for the queue to retry) on a transient failure before the last attempt.
 */
export async function sendDelivery(
  deps: NotificationJobDeps,
  deliveryId: string,
  options: { lastAttempt?: boolean } = {},
): Promise<void> {
  const retry = await sendDeliveries(deps, [{ deliveryId, ...options }]);
  const err = retry.get(deliveryId);
  if (err) throw err;
}

/**
 * One attempt at each of many deliveries: claimed in one transaction, sent to the providers at once,
 * their outcomes recorded in one transaction. Resolves with the deliveries to try again (a transient
 * failure before their last attempt) and why. A claim that fails as a whole (a bad delivery id) is
 * made again one delivery at a time, so one bad delivery fails alone.
 */
export async function sendDeliveries(
  deps: NotificationJobDeps,
  attempts: readonly SendAttempt[],
): Promise<Map<string, Error>> {
  const retry = new Map<string, Error>();
  if (attempts.length === 0) return retry;
  const now = deps.now?.() ?? new Date();
  let claimed: Claimed[];
  try {
    claimed = await claimAll(
      deps,
      attempts.map((a) => a.deliveryId),
      now,
    );
  } catch (err) {
    if (attempts.length === 1) throw err;
    for (const attempt of attempts) {
      try {
        for (const [id, e] of await sendDeliveries(deps, [attempt])) retry.set(id, e);
      } catch (e) {
        retry.set(attempt.deliveryId, e instanceof Error ? e : new Error(String(e)));
      }
    }
    return retry;
  }
  if (claimed.length === 0) return retry;
  const last = new Map(attempts.map((a) => [a.deliveryId, a.lastAttempt === true]));
  // Each channel's sends side by side with the others': a slow provider (SMTP's several round trips
  // per message) does not hold up the batch's pushes, nor their `sent` — each channel's outcomes are
  // recorded as soon as that channel's sends finish.
  const byChannel = new Map<ChannelName, Claimed[]>();
  for (const c of claimed) byChannel.set(c.delivery.channel, [...(byChannel.get(c.delivery.channel) ?? []), c]);
  const recorded = await Promise.allSettled(
    [...byChannel.entries()].map(async ([channel, group]) => {
      const outcomes = await inParallel(
        group,
        deps.channels[channel]?.concurrency ?? SENDS_AT_ONCE,
        async ({ delivery, target, message }) => {
          try {
            return { delivery, result: await deps.channels[delivery.channel]!.send(target, message) };
          } catch (err) {
            return {
              delivery,
              result: { ok: false as const, permanent: false, invalidTarget: false, reason: errorText(err) },
            };
          }
        },
      );
      for (const [id, err] of await recordOutcomes(deps, channel, outcomes, last)) retry.set(id, err);
    }),
  );
  // A channel whose outcomes could not be recorded fails the attempt (the queue tries it again; the
  // deliveries another channel recorded are no longer claimable, so they are not sent twice).
  for (const r of recorded) if (r.status === 'rejected') throw r.reason;
  return retry;
}

/** A provider's answer to one claimed delivery. */
interface Outcome {
  delivery: Claimed['delivery'];
  result: SendResult;
}

/**
 * Records one channel's outcomes in one transaction — `sent`, a transient failure kept for another
 * attempt, or `failed` (disabling an invalid target) — and resolves with the deliveries to retry.
 */
async function recordOutcomes(
  deps: NotificationJobDeps,
  channel: ChannelName,
  outcomes: readonly Outcome[],
  last: ReadonlyMap<string, boolean>,
): Promise<Map<string, Error>> {
  const retry = new Map<string, Error>();
  const sent: { id: string; providerMessageId: string | null; deviceId: string | null }[] = [];
  const again: { id: string; reason: string }[] = [];
  const failed: { id: string; reason: string; deviceId: string | null; invalidTarget: boolean }[] = [];
  for (const { delivery, result } of outcomes) {
    if (result.ok) {
      sent.push({ id: delivery.id, providerMessageId: result.providerMessageId ?? null, deviceId: delivery.device_id });
      continue;
    }
    const transient = !result.permanent && !result.invalidTarget;
    if (transient && !last.get(delivery.id)) again.push({ id: delivery.id, reason: result.reason });
    else
      failed.push({
        id: delivery.id,
        reason: result.reason,
        deviceId: delivery.device_id,
        invalidTarget: result.invalidTarget,
      });
  }
  await deps.db.transaction(async (q) => {
    if (sent.length > 0) {
      await q.query(
        `UPDATE notification_deliveries d SET state = 'sent', provider_message_id = x.pmid, error = NULL
           FROM unnest($1::uuid[], $2::text[]) AS x (id, pmid)
          WHERE d.id = x.id AND d.state IN ('queued', 'deferred')`,
        [sent.map((x) => x.id), sent.map((x) => x.providerMessageId)],
      );
      const devices = sent.flatMap((x) => (x.deviceId === null ? [] : [x.deviceId]));
      if (devices.length > 0)
        await q.query('UPDATE notification_devices SET last_used_at = now() WHERE id = ANY ($1::uuid[])', [devices]);
    }
    if (again.length > 0)
      await q.query(
        `UPDATE notification_deliveries d SET error = x.reason FROM unnest($1::uuid[], $2::text[]) AS x (id, reason)
          WHERE d.id = x.id`,
        [again.map((x) => x.id), again.map((x) => x.reason.slice(0, 1000))],
      );
    await failAll(q, failed);
    const dead = failed.filter((x) => x.invalidTarget && x.deviceId !== null);
    if (dead.length > 0)
      await q.query(
        `UPDATE notification_devices v SET disabled_at = now(), disabled_reason = x.reason
           FROM unnest($1::uuid[], $2::text[]) AS x (id, reason)
          WHERE v.id = x.id AND v.disabled_at IS NULL`,
        [dead.map((x) => x.deviceId), dead.map((x) => x.reason.slice(0, 500))],
      );
  });
  for (const x of again) {
    deps.logger.warn({ deliveryId: x.id, channel, reason: x.reason }, 'notification send will retry');
    retry.set(x.id, new TransientSendError(`${channel}: ${x.reason}`));
  }
  for (const x of failed)
    deps.logger.info({ deliveryId: x.id, channel, reason: x.reason }, 'notification delivery failed');
  return retry;
}

/**
 * Provider calls one batch makes at once per channel when its sender does not say (`concurrency`).
 * Enough to hide a provider's round trip; few enough that the HTTP agents keep reusing a handful of
 * kept-alive connections instead of opening (and TLS-handshaking) one per message of a big batch.
 */
const SENDS_AT_ONCE = 8;

/** `fn` over `items`, at most `limit` at a time; results in item order. */
async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

/**
 * Runs `each` for a batch of jobs at once; when that throws, runs each job alone, so one bad job
 * fails alone (and is retried with its own backoff) while the rest of its batch completes.
 */
async function oneByOneOnFailure<T>(
  batch: readonly JobContext<T>[],
  all: (jobs: readonly JobContext<T>[]) => Promise<void>,
): Promise<JobResult[]> {
  try {
    await all(batch);
    return batch.map((job) => ({ id: job.id, ok: true }));
  } catch (err) {
    if (batch.length === 1) return [{ id: batch[0]!.id, ok: false, error: err }];
    const results: JobResult[] = [];
    for (const job of batch) {
      try {
        await all([job]);
        results.push({ id: job.id, ok: true });
      } catch (e) {
        results.push({ id: job.id, ok: false, error: e });
      }
    }
    return results;
  }
}

/**
 * The notifications in one transaction; when that fails, each in its own, so one bad notification
 * does not hold back the others of its job (a job names up to a batch of them). Throws the first
 * failure then: the job is retried, and finds the others dispatched (a no-op).
 */
async function dispatchAllOrEach(deps: NotificationJobDeps, ids: readonly string[]): Promise<void> {
  try {
    await dispatchNotifications(deps, ids);
  } catch (err) {
    if (ids.length === 1) throw err;
    let first: unknown;
    for (const id of ids) {
      try {
        await dispatchNotifications(deps, [id]);
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  }
}

/**
 * Works the notification queues in this process (platform/src/builders/jobs.ts calls it where job
 * workers run): dispatch and send, in batches, with the settings of queues.ts.
 */
export async function defineNotificationJobs(
  queue: Pick<JobQueue, 'defineBatch' | 'enqueue' | 'enqueueMany'>,
  deps: { db: Pick<Database, 'transaction'>; channels: NotificationChannels; logger: Logger; now?: () => Date },
): Promise<void> {
  const full: NotificationJobDeps = { ...deps, jobs: queue };
  await queue.defineBatch<DispatchJobData>(
    NOTIFICATION_DISPATCH_QUEUE,
    (batch) =>
      oneByOneOnFailure(batch, (jobs) =>
        dispatchAllOrEach(
          full,
          jobs.flatMap((j) => dispatchIdsOf(j.data)),
        ),
      ),
    NOTIFICATION_DISPATCH_SETTINGS,
  );
  await queue.defineBatch<SendJobData>(
    NOTIFICATION_SEND_QUEUE,
    async (batch) => {
      // Two jobs of one delivery in a batch (a deferral re-enqueued beside its due job) share one attempt.
      const retry = await sendDeliveries(
        full,
        batch.flatMap((job) =>
          sendIdsOf(job.data).map((deliveryId) => ({
            deliveryId,
            lastAttempt: job.retryCount >= NOTIFICATION_SEND_SETTINGS.retryLimit,
          })),
        ),
      );
      // A job fails (and is retried) when any of its deliveries is to be tried again; its retry
      // claims only those still waiting, so the ones sent now are not sent twice.
      return batch.map((job): JobResult => {
        const err = sendIdsOf(job.data)
          .map((id) => retry.get(id))
          .find((e) => e !== undefined);
        return err ? { id: job.id, ok: false, error: err } : { id: job.id, ok: true };
      });
    },
    NOTIFICATION_SEND_SETTINGS,
  );
}

/** Declares the queues in a process that only enqueues (the scaled-out API). */
export async function declareNotificationQueues(queue: Pick<JobQueue, 'declare'>): Promise<void> {
  await queue.declare(NOTIFICATION_DISPATCH_QUEUE, NOTIFICATION_DISPATCH_SETTINGS);
  await queue.declare(NOTIFICATION_SEND_QUEUE, NOTIFICATION_SEND_SETTINGS);
}
