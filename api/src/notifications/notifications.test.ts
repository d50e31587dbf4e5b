import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import { testDatabaseUrl } from '@clutch/db/testing';
import { generateSigningKeys } from '@clutch/identity';
import { createJobQueue, type JobQueue } from '@clutch/jobs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEnqueuer } from '../ai/retrain-jobs.js';
import { liveSockets } from '../realtime/test-sockets.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import { backends, call, expectProblem, TENANT, type Fixture, type Reply, startFixture } from '../test-fixtures.js';
import { createApiKey } from '@clutch/identity';
import type { ChannelTarget, RenderedNotification } from './channels/channel.js';
import { defineNotificationJobs, sendDeliveries, sendDelivery, type NotificationJobDeps } from './jobs.js';
import { NOTIFICATION_DISPATCH_QUEUE, NOTIFICATION_SEND_QUEUE } from './queues.js';
import { requestNotifications, type NotificationRequest } from './request.js';
import { NotificationsService } from './service.js';
import { recordingChannels, type RecordingChannels, type RecordingSender } from './test-senders.js';

const ADMIN = 'admin-token-for-notification-tests';

interface Delivery {
  id: string;
  channel: string;
  state: string;
  attempts: number;
  deferredUntil: string | null;
  error: string | null;
  deviceId: string | null;
}

interface HistoryItem {
  id: string;
  status: string;
  title: string;
  body: string;
  deliveries: Delivery[];
}

/** A browser's push subscription: an https endpoint and RFC 8291 keys (65-byte P-256 point, 16-byte secret). */
function subscription(): { endpoint: string; keys: { p256dh: string; auth: string } } {
  const ecdh = createECDH('prime256v1');
  return {
    endpoint: `https://push.example.test/send/${randomUUID()}`,
    keys: { p256dh: ecdh.generateKeys().toString('base64url'), auth: randomBytes(16).toString('base64url') },
  };
}

const fcmToken = (): string => `fcm-${randomBytes(24).toString('base64url')}`;
const apnsToken = (): string => randomBytes(32).toString('hex');

/** `HH:MM` of an instant in a time zone. */
function localHhmm(instant: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
    instant,
  );
}

describe.each(backends('api_notifications'))('notifications on %s', (_name, open) => {
  const keys = generateSigningKeys();
  const channels: RecordingChannels = recordingChannels();
  let fx: Fixture;
  let queue: JobQueue | undefined;
  let alice: TestUser; // a car owner
  let bob: TestUser; // another car owner
  let pam: TestUser; // acme's partner admin
  let tom: TestUser; // an acme technician
  let gina: TestUser; // globex's partner admin
  let staff: TestUser; // platform admin
  let partnerKey: string;
  const sockets = liveSockets(() => fx.api.url);
  const jobs: JobEnqueuer = {
    enqueue: (name, data, options) => {
      if (!queue) throw new Error('job queue not started');
      return queue.enqueue(name, data, options);
    },
  };
  const jobDeps = (now?: Date): NotificationJobDeps => ({
    db: fx.db,
    channels,
    jobs,
    logger: pino({ level: 'silent' }),
    ...(now ? { now: () => now } : {}),
  });

  const api = (method: string, path: string, as: TestUser | string | undefined, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, `/api${path}`, {
      token: typeof as === 'string' ? as : as?.token,
      ...(body !== undefined ? { body } : {}),
    });
  const ok = (res: Reply, status = 200): Record<string, unknown> => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return res.body;
  };
  /** Stores notifications as the event wiring does: in a system transaction. */
  const request = (requests: NotificationRequest[]): Promise<string[]> =>
    fx.db.transaction((q) => requestNotifications(q, jobs, requests));
  const notify = async (who: TestUser, extra: Partial<NotificationRequest> = {}): Promise<string> => {
    const [id] = await request([
      {
        tenantId: who.tenantId,
        userId: who.userId,
        category: 'booking',
        template: 'notify.booking.confirmed',
        params: { shop: 'Acme Motors', service: 'Oil change', when: 'Monday 10:00' },
        url: '/bookings.html',
        dedupeKey: randomUUID(),
        ...extra,
      },
    ]);
    return id!;
  };
  const history = async (who: TestUser): Promise<HistoryItem[]> =>
    ok(await api('GET', '/notifications/history?limit=200', who)).items as HistoryItem[];
  const item = async (who: TestUser, id: string): Promise<HistoryItem | undefined> =>
    (await history(who)).find((n) => n.id === id);
  /** The notification once its dispatch job ran (workers run in this process). */
  const dispatched = async (who: TestUser, id: string): Promise<HistoryItem> => {
    await expect.poll(async () => (await item(who, id))?.status, { timeout: 15_000 }).toBe('dispatched');
    return (await item(who, id))!;
  };
  const deliveryState = async (who: TestUser, id: string, channel: string): Promise<string | undefined> =>
    (await item(who, id))?.deliveries.find((d) => d.channel === channel)?.state;
  const putSettings = (who: TestUser, settings: Record<string, unknown>): Promise<Reply> =>
    api('PUT', '/notifications/settings', who, {
      timeZone: 'Europe/Berlin',
      quietHours: null,
      doNotDisturbUntil: null,
      phone: null,
      channels: { in_app: true, web_push: true, fcm: true, apns: true, email: true, sms: false },
      categories: {},
      ...settings,
    });
  const emailOf = async (who: TestUser): Promise<string> =>
    (await fx.db.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [who.userId])).rows[0]!.email;
  const sendJobs = async (deliveryId: string): Promise<{ startAfter: Date; state: string }[]> => {
    const { rows } = await fx.db.query<{ start_after: Date; state: string }>(
      `SELECT start_after, state::text AS state FROM pgboss.job WHERE name = $1 AND data->>'deliveryId' = $2 ORDER BY created_on`,
      [NOTIFICATION_SEND_QUEUE, deliveryId],
    );
    return rows.map((r) => ({ startAfter: new Date(r.start_after), state: r.state }));
  };

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      adminToken: ADMIN,
      identity: { signingKeys: keys },
      rateLimit: { enabled: false },
      jobs,
      notificationChannels: channels,
      ...(open ? { open } : {}),
    });
    queue = createJobQueue({ db: fx.db, url: testDatabaseUrl(fx.db), pollingIntervalSeconds: 0.5 });
    await queue.start();
    await defineNotificationJobs(queue, { db: fx.db, channels, logger: pino({ level: 'silent' }) });
    alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
    bob = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bob' });
    pam = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['partner-admin'], name: 'Pam' });
    tom = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['technician'], name: 'Tom' });
    gina = await signedInUser(fx.db, keys, { tenantId: 'globex', roles: ['partner-admin'], name: 'Gina' });
    staff = await signedInUser(fx.db, keys, { tenantId: 'platform', roles: ['platform-admin'], name: 'Staff' });
    partnerKey = (await createApiKey(fx.db, { tenantId: TENANT, name: 'k', scopes: ['status:read'] })).token;
  });
  afterAll(async () => {
    sockets.closeAll();
    await queue?.stop({ graceful: false, timeoutMs: 2000 });
    await fx?.close();
  });

  it('delivers to the inbox, live on the user’s socket, and on every channel the defaults allow', async () => {
    const browser = ok(
      await api('POST', '/notifications/devices', alice, { kind: 'web_push', subscription: subscription() }),
      201,
    );
    const aliceSocket = await sockets.live(alice.token);
    const bobSocket = await sockets.live(bob.token);

    const id = await notify(alice);
    const live = await sockets.arrival(
      aliceSocket,
      'notification',
      (p) => (p.notification as { id: string }).id === id,
      10_000,
    );
    expect(live).toEqual({
      userId: alice.userId,
      notification: {
        id,
        category: 'booking',
        title: 'Booking confirmed at Acme Motors',
        body: 'Oil change on Monday 10:00.',
        url: '/bookings.html',
        createdAt: expect.any(String),
        readAt: null,
      },
    });

    const inbox = ok(await api('GET', '/notifications/inbox', alice));
    expect((inbox.items as { id: string }[]).map((n) => n.id)).toContain(id);
    expect(inbox.unread).toBeGreaterThanOrEqual(1);

    // Booking mails by default; a browser subscription gets a Web Push.
    await expect.poll(() => deliveryState(alice, id, 'web_push'), { timeout: 15_000 }).toBe('sent');
    await expect.poll(() => deliveryState(alice, id, 'email'), { timeout: 15_000 }).toBe('sent');
    const done = (await item(alice, id))!;
    expect(Object.fromEntries(done.deliveries.map((d) => [d.channel, d.state]))).toEqual({
      in_app: 'delivered',
      web_push: 'sent',
      email: 'sent',
    });
    const [push] = channels.web_push.callsFor(id);
    expect(push?.target).toMatchObject({ kind: 'web_push', endpoint: expect.stringMatching(/^https:\/\/push\./) });
    expect(push?.message).toMatchObject({
      title: 'Booking confirmed at Acme Motors',
      url: '/bookings.html',
      locale: 'en',
    });
    expect(channels.email.callsFor(id)[0]?.target).toEqual({
      kind: 'email',
      address: expect.stringMatching(/^alice-/),
    });
    expect(done.deliveries.find((d) => d.channel === 'web_push')?.deviceId).toBe(browser.id);

    // Bob's socket heard nothing of Alice's notification.
    expect(sockets.received(bobSocket).filter((r) => r.event === 'notification')).toEqual([]);
  });

  it('honours preferences per channel and per category (chat never mails by default; SMS needs a phone and an opt-in)', async () => {
    ok(await api('POST', '/notifications/devices', bob, { kind: 'fcm', token: fcmToken() }), 201);
    const chat = await notify(bob, {
      category: 'chat',
      template: 'notify.chat.message',
      params: { sender: 'Acme Motors', preview: 'Your car is ready' },
    });
    const first = await dispatched(bob, chat);
    await expect.poll(() => deliveryState(bob, chat, 'fcm'), { timeout: 15_000 }).toBe('sent');
    expect(first.deliveries.map((d) => d.channel).sort()).toEqual(['fcm', 'in_app']);
    expect(channels.email.callsFor(chat)).toEqual([]);
    expect(channels.sms.callsFor(chat)).toEqual([]);

    // Off: push everywhere, and booking mails; on: SMS to his phone.
    ok(
      await putSettings(bob, {
        phone: '+4915112345678',
        channels: { in_app: true, web_push: false, fcm: false, apns: false, email: true, sms: true },
        categories: { booking: { email: false } },
      }),
    );
    const booking = await notify(bob);
    await expect.poll(() => deliveryState(bob, booking, 'sms'), { timeout: 15_000 }).toBe('sent');
    const second = (await item(bob, booking))!;
    expect(second.deliveries.map((d) => d.channel).sort()).toEqual(['in_app', 'sms']);
    expect(channels.sms.callsFor(booking)[0]?.target).toEqual({ kind: 'sms', phone: '+4915112345678' });
    expect(channels.fcm.callsFor(booking)).toEqual([]);

    // The inbox can be switched off too: nothing in it, nothing live.
    ok(
      await putSettings(bob, {
        channels: { in_app: false, web_push: true, fcm: true, apns: true, email: true, sms: false },
      }),
    );
    const quiet = await notify(bob);
    await dispatched(bob, quiet);
    const inbox = ok(await api('GET', '/notifications/inbox?limit=200', bob)).items as { id: string }[];
    expect(inbox.map((n) => n.id)).not.toContain(quiet);
    ok(await putSettings(bob, {}));
  });

  it('defers push and e-mail during quiet hours in the user’s time zone, then sends them at the window’s end', async () => {
    const carol = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Carol' });
    ok(await api('POST', '/notifications/devices', carol, { kind: 'web_push', subscription: subscription() }), 201);
    // A window in Tokyo (no daylight saving) that holds "now": from an hour ago to two hours ahead.
    const now = Date.now();
    const zone = 'Asia/Tokyo';
    const windowEnd = new Date(Math.floor(now / 60_000) * 60_000 + 120 * 60_000);
    ok(
      await putSettings(carol, {
        timeZone: zone,
        quietHours: { start: localHhmm(now - 60 * 60_000, zone), end: localHhmm(windowEnd.getTime(), zone) },
      }),
    );
    const id = await notify(carol);
    const held = await dispatched(carol, id);
    // The inbox is not disturbing: it has the message at once.
    expect(held.deliveries.find((d) => d.channel === 'in_app')?.state).toBe('delivered');
    const push = held.deliveries.find((d) => d.channel === 'web_push')!;
    const mail = held.deliveries.find((d) => d.channel === 'email')!;
    for (const d of [push, mail]) {
      expect(d.state).toBe('deferred');
      expect(d.deferredUntil).toBe(windowEnd.toISOString());
      expect((await sendJobs(d.id)).map((j) => j.startAfter)).toEqual([windowEnd]);
    }
    expect(channels.web_push.callsFor(id)).toEqual([]);
    expect(channels.email.callsFor(id)).toEqual([]);

    // Still inside the window a minute before its end: deferred again, never dropped.
    await sendDelivery(jobDeps(new Date(windowEnd.getTime() - 60_000)), push.id);
    expect(await deliveryState(carol, id, 'web_push')).toBe('deferred');
    expect(channels.web_push.callsFor(id)).toEqual([]);
    // At the window's end the job runs: sent.
    await sendDelivery(jobDeps(windowEnd), push.id);
    await sendDelivery(jobDeps(windowEnd), mail.id);
    expect(await deliveryState(carol, id, 'web_push')).toBe('sent');
    expect(await deliveryState(carol, id, 'email')).toBe('sent');
    expect(channels.web_push.callsFor(id)).toHaveLength(1);
    // A job that runs again (a retry, the job queued at dispatch) sends nothing twice.
    await sendDelivery(jobDeps(windowEnd), push.id);
    expect(channels.web_push.callsFor(id)).toHaveLength(1);
  });

  it('holds non-urgent messages during do-not-disturb; an urgent one goes out on push at once but not by mail', async () => {
    const dan = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Dan' });
    ok(await api('POST', '/notifications/devices', dan, { kind: 'apns', token: apnsToken() }), 201);
    const until = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3600_000);
    ok(await putSettings(dan, { doNotDisturbUntil: until.toISOString() }));

    const calm = await notify(dan);
    const held = await dispatched(dan, calm);
    const outside = held.deliveries.filter((d) => d.channel !== 'in_app');
    expect(outside.map((d) => [d.channel, d.state, d.deferredUntil]).sort()).toEqual([
      ['apns', 'deferred', until.toISOString()],
      ['email', 'deferred', until.toISOString()],
    ]);

    const alarm = await notify(dan, {
      category: 'health_alert',
      template: 'notify.health_alert',
      params: { vehicle: 'Blue hatchback', alert: 'Engine overheating', explanation: 'Coolant above 110 °C' },
      urgent: true,
    });
    await expect.poll(() => deliveryState(dan, alarm, 'apns'), { timeout: 15_000 }).toBe('sent');
    expect(await deliveryState(dan, alarm, 'email')).toBe('deferred');
    expect(channels.apns.callsFor(alarm)[0]?.message.title).toBe('Blue hatchback: Engine overheating');
  });

  it('stores one notification per dedupe key, however often the event is delivered', async () => {
    const key = `event-${randomUUID()}:${alice.userId}`;
    const first = await notify(alice, { dedupeKey: key });
    const again = await notify(alice, { dedupeKey: key });
    expect(again).toBe(first);
    const [both1, both2] = await request([
      {
        tenantId: alice.tenantId,
        userId: alice.userId,
        category: 'payment',
        template: 'notify.payment.captured',
        params: { amountMinor: 8950, currency: 'EUR', shop: 'Acme Motors' },
        dedupeKey: `${key}-pay`,
      },
      {
        tenantId: alice.tenantId,
        userId: alice.userId,
        category: 'payment',
        template: 'notify.payment.captured',
        params: { amountMinor: 8950, currency: 'EUR', shop: 'Acme Motors' },
        dedupeKey: `${key}-pay`,
      },
    ]);
    expect(both2).toBe(both1);
    const { rows } = await fx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM notifications WHERE dedupe_key IN ($1, $2)`,
      [key, `${key}-pay`],
    );
    expect(rows[0]?.n).toBe(2);
    const payment = await dispatched(alice, both1!);
    expect(payment.body).toBe('€89.50 paid to Acme Motors.');
  });

  it('refuses a request that cannot render (unknown template, missing parameter, wrong tenant) and stores nothing', async () => {
    const base: NotificationRequest = {
      tenantId: alice.tenantId,
      userId: alice.userId,
      category: 'chat',
      template: 'notify.chat.message',
      params: { sender: 'x', preview: 'y' },
      dedupeKey: `bad-${randomUUID()}`,
    };
    await expect(request([{ ...base, template: 'notify.nope' }])).rejects.toThrow(/no template/);
    await expect(request([{ ...base, params: { sender: 'x' } }])).rejects.toThrow(/needs \{preview\}/);
    await expect(request([{ ...base, tenantId: TENANT }])).rejects.toThrow(/is not a user of acme/);
    await expect(request([{ ...base, url: '//evil.example/' }])).rejects.toThrow(/url/);
    const { rows } = await fx.db.query(`SELECT 1 FROM notifications WHERE dedupe_key = $1`, [base.dedupeKey]);
    expect(rows).toEqual([]);
  });

  it('dispatches a batch whose one job is bad: the others complete on their first attempt, only that one fails', async () => {
    // Stored without their dispatch jobs, which then go in together, in one statement, beside a bad one.
    const hold: JobEnqueuer = { enqueue: () => Promise.resolve(null) };
    const ids = await fx.db.transaction((q) =>
      requestNotifications(
        q,
        hold,
        [alice, bob].map((who) => ({
          tenantId: who.tenantId,
          userId: who.userId,
          category: 'booking' as const,
          template: 'notify.booking.confirmed',
          params: { shop: 'Acme Motors', service: 'Oil change', when: 'Monday 10:00' },
          dedupeKey: randomUUID(),
        })),
      ),
    );
    const jobIds = await queue!.enqueueMany(NOTIFICATION_DISPATCH_QUEUE, [
      { data: { notificationId: ids[0]! } },
      { data: { notificationId: 'not-a-notification-id' } },
      { data: { notificationId: ids[1]! } },
    ]);
    expect(jobIds).toHaveLength(3);
    await dispatched(alice, ids[0]!);
    await dispatched(bob, ids[1]!);
    const jobs = async (): Promise<{ id: string; state: string; retry_count: number }[]> =>
      (
        await fx.db.query<{ id: string; state: string; retry_count: number; data: { notificationId: string } }>(
          `SELECT data, state::text AS state, retry_count FROM pgboss.job WHERE id = ANY ($1::uuid[])`,
          [jobIds],
        )
      ).rows.map((r) => ({ id: r.data.notificationId, state: r.state, retry_count: r.retry_count }));
    await expect
      .poll(async () => (await jobs()).find((j) => j.id === 'not-a-notification-id')?.state, { timeout: 15_000 })
      .toMatch(/^(retry|failed)$/);
    const byId = new Map((await jobs()).map((j) => [j.id, j]));
    expect(byId.get(ids[0]!)).toMatchObject({ state: 'completed', retry_count: 0 });
    expect(byId.get(ids[1]!)).toMatchObject({ state: 'completed', retry_count: 0 });
  });

  it('dispatches the good notifications of a job that names several beside a bad one; only that job retries', async () => {
    // Requested together, their dispatch is one job naming both (held here, and enqueued with a bad id).
    const hold: JobEnqueuer = { enqueue: () => Promise.resolve(null) };
    const ids = await fx.db.transaction((q) =>
      requestNotifications(
        q,
        hold,
        [alice, bob].map((who) => ({
          tenantId: who.tenantId,
          userId: who.userId,
          category: 'booking' as const,
          template: 'notify.booking.confirmed',
          params: { shop: 'Acme Motors', service: 'Oil change', when: 'Monday 10:00' },
          dedupeKey: randomUUID(),
        })),
      ),
    );
    const [jobId] = await queue!.enqueueMany(NOTIFICATION_DISPATCH_QUEUE, [
      { data: { notificationIds: [ids[0]!, 'not-a-notification-id', ids[1]!] } },
    ]);
    await dispatched(alice, ids[0]!);
    await dispatched(bob, ids[1]!);
    await expect
      .poll(
        async () =>
          (await fx.db.query<{ state: string }>(`SELECT state::text AS state FROM pgboss.job WHERE id = $1`, [jobId]))
            .rows[0]?.state,
        { timeout: 15_000 },
      )
      .toMatch(/^(retry|failed)$/);
  });

  it('ends a rejected message `failed`, never `sent`, and the database refuses to make it sent', async () => {
    const erin = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Erin' });
    const token = fcmToken();
    ok(await api('POST', '/notifications/devices', erin, { kind: 'fcm', token }), 201);
    channels.fcm.script(token, () => ({
      ok: false,
      permanent: true,
      invalidTarget: false,
      reason: 'SENDER_ID_MISMATCH',
    }));
    const id = await notify(erin, {
      category: 'chat',
      template: 'notify.chat.mention',
      params: { sender: 'Pam', preview: 'hi' },
    });
    await expect.poll(() => deliveryState(erin, id, 'fcm'), { timeout: 15_000 }).toBe('failed');
    const fcm = (await item(erin, id))!.deliveries.find((d) => d.channel === 'fcm')!;
    expect(fcm.error).toBe('SENDER_ID_MISMATCH');
    await expect(
      fx.db.query(`UPDATE notification_deliveries SET state = 'sent' WHERE id = $1`, [fcm.id]),
    ).rejects.toThrow(/cannot go from failed to sent/);
    // The device stays: the rejection was about the message, not the token.
    const devices = ok(await api('GET', '/notifications/devices', erin)).devices as { disabledAt: string | null }[];
    expect(devices.map((d) => d.disabledAt)).toEqual([null]);
  });

  it('disables a device whose token the provider calls invalid, with the reason, and sends to it no more', async () => {
    const finn = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Finn' });
    const token = apnsToken();
    const device = ok(await api('POST', '/notifications/devices', finn, { kind: 'apns', token }), 201);
    channels.apns.script(token, () => ({ ok: false, permanent: true, invalidTarget: true, reason: 'Unregistered' }));
    const first = await notify(finn);
    await expect.poll(() => deliveryState(finn, first, 'apns'), { timeout: 15_000 }).toBe('failed');
    const devices = ok(await api('GET', '/notifications/devices', finn)).devices as Record<string, unknown>[];
    expect(devices).toEqual([
      expect.objectContaining({
        id: device.id,
        kind: 'apns',
        disabledAt: expect.any(String),
        disabledReason: 'Unregistered',
      }),
    ]);
    const second = await notify(finn);
    const later = await dispatched(finn, second);
    expect(later.deliveries.map((d) => d.channel).sort()).toEqual(['email', 'in_app']);
    expect(channels.apns.callsFor(second)).toEqual([]);
  });

  it('retries a transient failure with backoff and sends once; the last attempt ends `failed`', async () => {
    const gus = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Gus' });
    channels.email.script(await emailOf(gus), () => {
      throw new Error('421 try again later');
    });
    const id = await notify(gus);
    await expect.poll(() => deliveryState(gus, id, 'email'), { timeout: 30_000, interval: 500 }).toBe('sent');
    const mail = (await item(gus, id))!.deliveries.find((d) => d.channel === 'email')!;
    expect(mail.attempts).toBe(2);
    expect(mail.error).toBeNull();
    expect(channels.email.callsFor(id)).toHaveLength(2);

    // The last attempt: a transient failure is final then (the queue will not retry).
    const hal = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Hal' });
    ok(await putSettings(hal, { doNotDisturbUntil: new Date(Date.now() + 3600_000).toISOString() }));
    const held = await dispatched(hal, await notify(hal));
    const deferred = held.deliveries.find((d) => d.channel === 'email')!;
    channels.email.script(await emailOf(hal), () => {
      throw new Error('connection reset');
    });
    const after = new Date(Date.now() + 2 * 3600_000);
    await expect(sendDelivery(jobDeps(after), deferred.id)).rejects.toThrow(/email: connection reset/);
    expect((await item(hal, held.id))!.deliveries.find((d) => d.id === deferred.id)).toMatchObject({
      state: 'queued',
      error: 'connection reset',
      attempts: 1,
    });
    channels.email.script(await emailOf(hal), () => ({
      ok: false,
      permanent: false,
      invalidTarget: false,
      reason: '452 mailbox full',
    }));
    await sendDelivery(jobDeps(after), deferred.id, { lastAttempt: true });
    expect((await item(hal, held.id))!.deliveries.find((d) => d.id === deferred.id)).toMatchObject({
      state: 'failed',
      error: '452 mailbox full',
      attempts: 2,
    });
  });

  it('sends a notification’s deliveries due now in one job; a transient failure retries only the one that failed', async () => {
    const ivy = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Ivy' });
    ok(await api('POST', '/notifications/devices', ivy, { kind: 'web_push', subscription: subscription() }), 201);
    channels.email.script(await emailOf(ivy), () => {
      throw new Error('421 try again later');
    });
    const id = await notify(ivy);
    await expect.poll(() => deliveryState(ivy, id, 'email'), { timeout: 30_000, interval: 500 }).toBe('sent');
    const { deliveries } = (await item(ivy, id))!;
    const push = deliveries.find((d) => d.channel === 'web_push')!;
    const mail = deliveries.find((d) => d.channel === 'email')!;
    // The push went on the first attempt and was not sent again with the mail's retry.
    expect(push).toMatchObject({ state: 'sent', attempts: 1 });
    expect(channels.web_push.callsFor(id)).toHaveLength(1);
    expect(mail).toMatchObject({ state: 'sent', attempts: 2, error: null });
    expect(channels.email.callsFor(id)).toHaveLength(2);
    const { rows: sendJobsOf } = await fx.db.query<{ state: string; retry_count: number }>(
      `SELECT state::text AS state, retry_count FROM pgboss.job
        WHERE name = $1 AND data->'deliveryIds' ? $2 AND data->'deliveryIds' ? $3`,
      [NOTIFICATION_SEND_QUEUE, push.id, mail.id],
    );
    expect(sendJobsOf).toEqual([{ state: 'completed', retry_count: 1 }]);
  });

  it('schedules a send through the job queue, and withdraws one before it goes', async () => {
    expectProblem(
      await api('POST', '/notifications/schedule', pam, {
        userIds: [tom.userId],
        category: 'announcement',
        title: 'Late',
        body: 'x',
        sendAt: new Date(Date.now() - 1000).toISOString(),
      }),
      422,
      'NOTIFICATION_SCHEDULE_INVALID',
    );
    const sendAt = new Date(Date.now() + 3000);
    const scheduled = ok(
      await api('POST', '/notifications/schedule', pam, {
        userIds: [tom.userId],
        category: 'announcement',
        title: 'Shop closed Friday',
        body: 'We are closed on Friday for a team day.',
        url: '/calendar.html',
        sendAt: sendAt.toISOString(),
      }),
      202,
    ).ids as string[];
    const withdrawn = ok(
      await api('POST', '/notifications/schedule', pam, {
        userIds: [tom.userId],
        category: 'announcement',
        title: 'Never mind',
        body: 'x',
        sendAt: new Date(Date.now() + 3600_000).toISOString(),
      }),
      202,
    ).ids as string[];
    const before = (await item(tom, scheduled[0]!))!;
    expect(before.status).toBe('scheduled');
    expect(ok(await api('GET', '/notifications/inbox', tom)).items).toEqual([]);
    const { rows } = await fx.db.query<{ start_after: Date }>(
      `SELECT start_after FROM pgboss.job WHERE name = 'notification-dispatch' AND data->>'notificationId' = $1`,
      [scheduled[0]],
    );
    expect(rows.map((r) => new Date(r.start_after).getTime())).toEqual([sendAt.getTime()]);

    expect((await api('DELETE', `/notifications/schedule/${withdrawn[0]}`, pam)).status).toBe(204);
    expect((await item(tom, withdrawn[0]!))!.status).toBe('cancelled');

    const sent = await dispatched(tom, scheduled[0]!);
    expect(sent).toMatchObject({ title: 'Shop closed Friday', body: 'We are closed on Friday for a team day.' });
    const inbox = ok(await api('GET', '/notifications/inbox', tom)).items as { id: string }[];
    expect(inbox.map((n) => n.id)).toEqual([scheduled[0]]);
    expectProblem(
      await api('DELETE', `/notifications/schedule/${scheduled[0]}`, pam),
      409,
      'NOTIFICATION_STATE_CONFLICT',
    );
    // Another organisation's administrator cannot see or withdraw it.
    expectProblem(await api('DELETE', `/notifications/schedule/${withdrawn[0]}`, gina), 404, 'NOTIFICATION_NOT_FOUND');
  });

  it('pages the inbox and the history without gaps or repeats; marks read, all read and opened', async () => {
    const ivy = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Ivy' });
    ok(await api('POST', '/notifications/devices', ivy, { kind: 'web_push', subscription: subscription() }), 201);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await notify(ivy));
    for (const id of ids) await dispatched(ivy, id);

    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page = ok(await api('GET', `/notifications/inbox?limit=2${cursor ? `&cursor=${cursor}` : ''}`, ivy)) as {
        items: { id: string }[];
        next: string | null;
        unread: number;
      };
      pages.push(page.items.map((n) => n.id));
      expect(page.unread).toBe(5);
      cursor = page.next;
    } while (cursor);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(new Set(pages.flat())).toEqual(new Set(ids));

    const history = ok(await api('GET', '/notifications/history?limit=3', ivy));
    expect((history.items as unknown[]).length).toBe(3);
    const rest = ok(await api('GET', `/notifications/history?limit=3&cursor=${history.next as string}`, ivy));
    expect(
      [...(history.items as { id: string }[]), ...(rest.items as { id: string }[])].map((n) => n.id).sort(),
    ).toEqual([...ids].sort());
    expectProblem(await api('GET', '/notifications/inbox?cursor=nonsense', ivy), 400, 'VALIDATION_FAILED');

    const read = ok(await api('PUT', `/notifications/${ids[0]}/read`, ivy));
    expect(read.readAt).toEqual(expect.any(String));
    const unread = ok(await api('GET', '/notifications/inbox?unread=true&limit=200', ivy));
    expect((unread.items as { id: string }[]).map((n) => n.id).sort()).toEqual(ids.slice(1).sort());
    expect(unread.unread).toBe(4);

    await expect.poll(() => deliveryState(ivy, ids[1]!, 'web_push'), { timeout: 15_000 }).toBe('sent');
    ok(await api('POST', `/notifications/${ids[1]}/opened`, ivy));
    const opened = (await item(ivy, ids[1]!))!;
    expect(Object.fromEntries(opened.deliveries.map((d) => [d.channel, d.state]))).toMatchObject({
      in_app: 'opened',
      web_push: 'opened',
    });

    expect(ok(await api('POST', '/notifications/read-all', ivy)).updated).toBe(3);
    expect(ok(await api('GET', '/notifications/inbox?unread=true', ivy)).unread).toBe(0);
  });

  it("keeps everyone to their own notifications: another user's are 404, keys and the admin token 403", async () => {
    const id = await notify(alice);
    await dispatched(alice, id);
    expectProblem(await api('PUT', `/notifications/${id}/read`, bob), 404, 'NOTIFICATION_NOT_FOUND');
    expectProblem(await api('POST', `/notifications/${id}/opened`, bob), 404, 'NOTIFICATION_NOT_FOUND');
    expect((await history(bob)).map((n) => n.id)).not.toContain(id);
    // Row-level security, not only the WHERE clause: Bob's own transaction cannot see Alice's rows.
    const leaked = await fx.db.withTenant('consumers', async (q) => {
      await q.query(`SELECT set_config('app.user_id', $1, true)`, [bob.userId]);
      return (await q.query('SELECT id FROM notifications WHERE id = $1', [id])).rows;
    });
    expect(leaked).toEqual([]);

    // History of another user: only their organisation's administrator.
    expectProblem(await api('GET', `/notifications/history?userId=${alice.userId}`, bob), 403, 'FORBIDDEN');
    expectProblem(await api('GET', `/notifications/history?userId=${alice.userId}`, gina), 404, 'USER_NOT_FOUND');
    const tomsId = await notify(tom);
    const ofTom = ok(await api('GET', `/notifications/history?userId=${tom.userId}`, pam)).items as { id: string }[];
    expect(ofTom.map((n) => n.id)).toContain(tomsId);

    for (const token of [partnerKey, ADMIN]) {
      expectProblem(await api('GET', '/notifications/inbox', token), 403, 'FORBIDDEN');
      expectProblem(await api('GET', '/notifications/settings', token), 403, 'FORBIDDEN');
    }
    const bobsDevice = ok(await api('POST', '/notifications/devices', bob, { kind: 'fcm', token: fcmToken() }), 201);
    expectProblem(
      await api('DELETE', `/notifications/devices/${bobsDevice.id}`, alice),
      404,
      'NOTIFICATION_DEVICE_NOT_FOUND',
    );
    expect((await api('DELETE', `/notifications/devices/${bobsDevice.id}`, bob)).status).toBe(204);
  });

  it("sends an administrator's message to their organisation only, audited; platform staff anyone", async () => {
    const sent = ok(
      await api('POST', '/notifications/send', pam, {
        userIds: [tom.userId],
        category: 'announcement',
        title: 'Team meeting',
        body: 'At 9 in the workshop.',
      }),
      202,
    ).ids as string[];
    const got = await dispatched(tom, sent[0]!);
    expect(got).toMatchObject({ title: 'Team meeting', body: 'At 9 in the workshop.' });
    const { rows } = await fx.db.query<{ actor: string; tenant_id: string }>(
      `SELECT actor, tenant_id FROM audit_log WHERE action = 'notification.send' AND actor = $1`,
      [`user:${pam.userId}`],
    );
    expect(rows).toEqual([{ actor: `user:${pam.userId}`, tenant_id: TENANT }]);

    const foreign = await api('POST', '/notifications/send', pam, {
      userIds: [alice.userId],
      category: 'announcement',
      title: 'Hello',
      body: 'x',
    });
    expectProblem(foreign, 404, 'USER_NOT_FOUND');
    expectProblem(
      await api('POST', '/notifications/send', tom, {
        userIds: [tom.userId],
        category: 'announcement',
        title: 'x',
        body: 'y',
      }),
      403,
      'FORBIDDEN',
    );
    const everywhere = ok(
      await api('POST', '/notifications/send', staff, {
        userIds: [alice.userId, tom.userId],
        category: 'announcement',
        title: 'Maintenance tonight',
        body: 'Clutch is down 02:00-02:30 UTC.',
      }),
      202,
    ).ids as string[];
    expect(everywhere).toHaveLength(2);
    await dispatched(alice, everywhere[0]!);
    await dispatched(tom, everywhere[1]!);
  });

  it('keeps no more of a batch’s sends in flight on a channel than its sender takes (`concurrency`), and sends them all', async () => {
    const carol = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Carol' });
    const email = channels.email as RecordingSender & { concurrency?: number };
    const plainSend = email.send;
    // Only this test's mails are counted: an earlier test's sends may still be going out.
    const shop = `Shop ${randomUUID()}`;
    let inFlight = 0;
    let most = 0;
    Object.assign(email, {
      concurrency: 2,
      async send(target: ChannelTarget, message: RenderedNotification) {
        if (!`${message.title} ${message.body}`.includes(shop)) return plainSend(target, message);
        most = Math.max(most, ++inFlight);
        try {
          // A provider's round trip: long enough for a batch's other sends to start if allowed.
          await new Promise((resolve) => setTimeout(resolve, 30));
          return await plainSend(target, message);
        } finally {
          inFlight--;
        }
      },
    });
    try {
      const ids = await request(
        Array.from({ length: 8 }, (_, i) => ({
          tenantId: carol.tenantId,
          userId: carol.userId,
          category: 'booking' as const,
          template: 'notify.booking.confirmed',
          params: { shop, service: `Service ${i}`, when: 'Monday 10:00' },
          url: '/bookings.html',
          dedupeKey: randomUUID(),
        })),
      );
      for (const id of ids)
        await expect.poll(() => deliveryState(carol, id, 'email'), { timeout: 15_000 }).toBe('sent');
      expect(most).toBeGreaterThanOrEqual(1);
      expect(most).toBeLessThanOrEqual(2);
    } finally {
      Object.assign(email, { concurrency: undefined, send: plainSend });
    }
  });

  it('records a channel’s outcomes when its sends finish: a batch’s push is `sent` while its mail is still going', async () => {
    const ida = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Ida' });
    ok(await api('POST', '/notifications/devices', ida, { kind: 'web_push', subscription: subscription() }), 201);
    // Held by do-not-disturb, so the queue leaves both deliveries alone; this test sends them as one batch.
    ok(await putSettings(ida, { doNotDisturbUntil: new Date(Date.now() + 3600_000).toISOString() }));
    const held = await dispatched(ida, await notify(ida));
    const idOf = (channel: string): string => held.deliveries.find((d) => d.channel === channel)!.id;
    const email = channels.email;
    const plainSend = email.send;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let mailStarted = false;
    Object.assign(email, {
      async send(target: ChannelTarget, message: RenderedNotification) {
        mailStarted = true;
        await gate; // an SMTP server slow to answer
        return plainSend(target, message);
      },
    });
    try {
      const after = new Date(Date.now() + 2 * 3600_000);
      const batch = sendDeliveries(jobDeps(after), [{ deliveryId: idOf('web_push') }, { deliveryId: idOf('email') }]);
      await expect.poll(() => deliveryState(ida, held.id, 'web_push'), { timeout: 15_000 }).toBe('sent');
      expect(mailStarted).toBe(true);
      expect(await deliveryState(ida, held.id, 'email')).toBe('queued');
      release();
      expect(await batch).toEqual(new Map());
      expect(await deliveryState(ida, held.id, 'email')).toBe('sent');
    } finally {
      release();
      Object.assign(email, { send: plainSend });
    }
  });

  it('validates settings and devices at the edge', async () => {
    expectProblem(await putSettings(alice, { timeZone: 'Mars/Olympus_Mons' }), 422, 'NOTIFICATION_SETTINGS_INVALID');
    expectProblem(await putSettings(alice, { quietHours: { start: '25:00', end: '07:00' } }), 400, 'VALIDATION_FAILED');
    expectProblem(await putSettings(alice, { phone: '0151 123' }), 400, 'VALIDATION_FAILED');
    expectProblem(await putSettings(alice, { categories: { gossip: { email: true } } }), 400, 'VALIDATION_FAILED');
    const saved = ok(
      await putSettings(alice, { quietHours: { start: '22:00', end: '07:00' }, categories: { chat: { email: true } } }),
    );
    expect(saved).toMatchObject({
      timeZone: 'Europe/Berlin',
      quietHours: { start: '22:00', end: '07:00' },
      channels: { sms: false, email: true },
    });
    expect((saved.categories as Record<string, Record<string, boolean>>).chat?.email).toBe(true);
    expect((saved.categories as Record<string, Record<string, boolean>>).trouble_code?.email).toBe(false);
    expect(ok(await api('GET', '/notifications/settings', alice))).toEqual(saved);
    ok(await putSettings(alice, {}));

    const bad = subscription();
    expectProblem(
      await api('POST', '/notifications/devices', alice, {
        kind: 'web_push',
        subscription: { ...bad, endpoint: 'http://push.example.test/x' },
      }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api('POST', '/notifications/devices', alice, {
        kind: 'web_push',
        subscription: { ...bad, keys: { ...bad.keys, auth: 'short' } },
      }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api('POST', '/notifications/devices', alice, { kind: 'apns', token: 'not-hex' }),
      400,
      'VALIDATION_FAILED',
    );

    // A subscription registered again by another account moves to it.
    const shared = subscription();
    const mine = ok(
      await api('POST', '/notifications/devices', alice, { kind: 'web_push', subscription: shared }),
      201,
    );
    const theirs = ok(
      await api('POST', '/notifications/devices', bob, { kind: 'web_push', subscription: shared }),
      201,
    );
    expect(theirs.id).toBe(mine.id);
    const alices = ok(await api('GET', '/notifications/devices', alice)).devices as { id: string }[];
    expect(alices.map((d) => d.id)).not.toContain(mine.id);
    expect(ok(await api('GET', '/notifications/web-push/key', alice))).toEqual({ publicKey: 'BTestVapidPublicKey' });
    expect(() => new NotificationsService({}).webPushKey()).toThrow(/not configured/);
  });
});
