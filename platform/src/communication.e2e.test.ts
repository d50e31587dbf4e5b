import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NOTIFICATION_SEND_QUEUE } from '@clutch/api';
import { createTestDatabase } from '@clutch/test-support';
import { pino } from 'pino';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from './config/config.js';
import { CONSUMER_TENANT, DEMO_TENANT } from './fleet/simulated-fleet.js';
import { identityDir, seedDemoAccounts } from './identity/index.js';
import { seedDemoChat, type SeededDemoChat } from './marketplace/demo-chat.js';
import { seedDemoShops } from './marketplace/demo-shops.js';
import { startPlatform, type RunningPlatform } from './platform.js';

const databases: [string, () => Promise<{ env: Record<string, string>; cleanup: () => void }>][] = [
  [
    'PGlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'clutch-comm-'));
      return {
        env: { CLUTCH_DATA_DIR: join(dir, 'pglite') },
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'clutch-comm-'));
      return {
        env: {
          DATABASE_URL: await createTestDatabase(inject('pgAdminUrl'), 'comm'),
          CLUTCH_DATA_DIR: join(dir, 'pglite'),
        },
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  ],
];

const OWNER = 'owner@demo.clutch.test';
const SHOP_ADMIN = 'shop-admin@demo.clutch.test';

/** HH:MM of `at` in `timeZone`. */
const localTime = (at: Date, timeZone: string): string =>
  new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone }).format(at);

// Issue 17's "Done when", on `npm start`'s platform (embedded defaults: no push or mail provider
// configured, so the local Web Push service and the dev mailbox run in-process): in the demo, a shop's
// message reaches the owner's open booking page live; with the page closed, it arrives as a Web Push
// (decrypted by the push service, as the browser would) and as a mail in the dev mailbox; with quiet
// hours set in the owner's time zone, push and mail wait (`deferred`, their job due at the window's
// end) and go out when the window ends.
describe.each(databases)('the demo chat, live and as push and mail, on %s', (_name, prepare) => {
  let platform: RunningPlatform;
  let cleanup: () => void;
  let chat: SeededDemoChat;
  const tokens: Record<string, string> = {};
  const sockets: Socket[] = [];

  const call = async <T = Record<string, unknown>>(
    token: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${platform.api.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  };
  const post = async (text: string): Promise<string> => {
    const res = await call<{ id: string }>(tokens[SHOP_ADMIN]!, 'POST', `/api/chat/rooms/${chat.roomId}/messages`, {
      clientMessageId: randomUUID(),
      body: text,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id;
  };

  beforeAll(async () => {
    const prepared = await prepare();
    cleanup = prepared.cleanup;
    const config = loadConfig(
      ['--vehicles', '0', '--port', '0', '--mqtt-port', '0', '--mqtt-ws-port', '0'],
      prepared.env,
      process.cwd(),
    );
    platform = await startPlatform(config, pino({ level: 'silent' }));
    // What `npm start` seeds in open demo mode (main.ts), in the same order.
    const accounts = await seedDemoAccounts(platform.db, {
      dir: identityDir(config.dataDir),
      ownedVehicleTenant: CONSUMER_TENANT,
    });
    const shops = await seedDemoShops(platform.db, { vehicleTenants: [CONSUMER_TENANT, DEMO_TENANT] });
    chat = await seedDemoChat(platform.db, shops);
    expect(chat.seeded).toBe(true);
    for (const email of [OWNER, SHOP_ADMIN]) {
      const password = accounts.find((a) => a.email === email)!.password;
      const res = await fetch(`${platform.api.url}/api/auth/login`, {
        method: 'POST',
        // As the phone app signs in: the access token in the body, not a cookie.
        headers: { 'content-type': 'application/json', 'x-client': 'mobile' },
        body: JSON.stringify({ email, password, deviceName: 'e2e' }),
      });
      const body = (await res.json()) as { accessToken: string };
      expect(res.status, JSON.stringify(body)).toBe(200);
      tokens[email] = body.accessToken;
    }
  }, 120_000);

  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await platform?.stop();
    cleanup?.();
  });

  it('prints where the dev mailbox is, and keeps what the dev channels received', () => {
    expect(platform.communication.mailboxUrl).toMatch(/^http:\/\/localhost:\d+\/$/);
    expect(platform.communication.mailbox).toBeDefined();
    expect(platform.communication.pushService).toBeDefined();
  });

  it("shows the shop's message live on the owner's open room", async () => {
    const socket = connectSocket(platform.api.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token: tokens[OWNER] },
    });
    sockets.push(socket);
    const live: { roomId: string; message: { id: string; body: string } }[] = [];
    socket.on('chat_message', (p: (typeof live)[number]) => live.push(p));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const ack = (await socket.timeout(10_000).emitWithAck('chat_subscribe', { roomId: chat.roomId, afterSeq: 0 })) as {
      ok: boolean;
    };
    expect(ack.ok).toBe(true);
    const id = await post('Your car is on the lift now.');
    await expect
      .poll(() => live.find((p) => p.message.id === id)?.message.body, { timeout: 15_000 })
      .toBe('Your car is on the lift now.');
    socket.disconnect();
  });

  it('with the page closed, sends it as a Web Push the push service decrypts and as a mail in the dev mailbox', async () => {
    const { pushService, mailbox, mailboxUrl } = platform.communication;
    // The owner's browser subscribes (here: the dev mailbox hands out a subscription of the local
    // push service for this platform's VAPID key) and registers it.
    const subscription = (await (await fetch(`${mailboxUrl}push/subscribe`, { method: 'POST' })).json()) as {
      endpoint: string;
      keys: { p256dh: string; auth: string };
    };
    const key = await call<{ publicKey: string }>(tokens[OWNER]!, 'GET', '/api/notifications/web-push/key');
    expect(key.status).toBe(200);
    const device = await call(tokens[OWNER]!, 'POST', '/api/notifications/devices', { kind: 'web_push', subscription });
    expect(device.status, JSON.stringify(device.body)).toBe(201);

    const text = 'The brake pads arrived; done by five.';
    await post(text);
    const push = await pushService!.waitFor(
      (p) => p.endpoint === subscription.endpoint && p.payload.includes(text),
      30_000,
    );
    expect(push.data).toMatchObject({ body: text });
    expect(JSON.stringify(push.data)).toContain('Sam Shop');
    const mail = await mailbox!.waitFor((m) => m.to.includes(OWNER) && m.text.includes(text), 30_000);
    expect(mail.subject).toContain('Sam Shop');
    // The dev mailbox lists both.
    const listed = (await (await fetch(mailboxUrl!)).json()) as { mail: { text: string }[]; push: unknown[] };
    expect(listed.mail.some((m) => m.text.includes(text))).toBe(true);
    expect(JSON.stringify(listed.push)).toContain(text);
  }, 60_000);

  it("defers push and mail during the owner's quiet hours (in their time zone) and sends them when the window ends", async () => {
    const zone = 'Europe/Berlin';
    const now = new Date();
    // A window that started an hour ago and ends in an hour, on the owner's clock; the owner ends it
    // early below (waiting for a real window's end took minutes of every run).
    const end = new Date(Math.ceil((now.getTime() + 3_600_000) / 60_000) * 60_000);
    const quietHours = async (start: Date, until: Date): Promise<void> => {
      const settings = await call(tokens[OWNER]!, 'PUT', '/api/notifications/settings', {
        timeZone: zone,
        quietHours: { start: localTime(start, zone), end: localTime(until, zone) },
        doNotDisturbUntil: null,
        phone: null,
        channels: { in_app: true, web_push: true, fcm: true, apns: true, email: true, sms: false },
        categories: { chat: { email: true } },
      });
      expect(settings.status, JSON.stringify(settings.body)).toBe(200);
    };
    await quietHours(new Date(now.getTime() - 3_600_000), end);
    const text = `Quiet-hours test ${randomUUID().slice(0, 8)}`;
    const pushesBefore = platform.communication.pushService!.received.length;
    const mailsBefore = platform.communication.mailbox!.messages.length;
    const sentYet = (): boolean =>
      platform.communication.pushService!.received.slice(pushesBefore).some((p) => p.payload.includes(text)) ||
      platform.communication.mailbox!.messages.slice(mailsBefore).some((m) => m.text.includes(text));

    const eventId = await outboxIdOf(await post(text));
    // The inbox gets it at once; push and mail wait for the window's end, with their job due then.
    const deferred = async () =>
      (
        await platform.db.query<{
          id: string;
          channel: string;
          state: string;
          deferred_until: Date | string | null;
          start_after: Date | string | null;
        }>(
          `SELECT d.id::text AS id, d.channel, d.state, d.deferred_until,
                  (SELECT max(j.start_after) FROM pgboss.job j
                    WHERE j.name = 'notification-send' AND j.data->>'deliveryId' = d.id::text) AS start_after
             FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id
            WHERE n.dedupe_key LIKE $1 || ':%' AND n.user_id = (SELECT id FROM users WHERE email = $2)
            ORDER BY d.channel`,
          [eventId, OWNER],
        )
      ).rows;
    await expect
      .poll(async () => (await deferred()).map((d) => [d.channel, d.state]), { timeout: 30_000 })
      .toEqual([
        ['email', 'deferred'],
        ['in_app', 'delivered'],
        ['web_push', 'deferred'],
      ]);
    const held = (await deferred()).filter((r) => r.channel !== 'in_app');
    for (const d of held) {
      expect(new Date(d.deferred_until!).toISOString()).toBe(end.toISOString());
      expect(new Date(d.start_after!).getTime()).toBe(end.getTime());
    }
    expect(sentYet()).toBe(false);

    // The send job run early, inside the window (as a retry or a second worker might), holds them
    // again, due at the same end.
    const sendNow = async (): Promise<string[]> =>
      Promise.all(
        held.map(async (d) => (await platform.jobs.queue.enqueue(NOTIFICATION_SEND_QUEUE, { deliveryId: d.id }))!),
      );
    const early = await sendNow();
    await expect
      .poll(
        async () =>
          (
            await platform.db.query<{ state: string }>(`SELECT state FROM pgboss.job WHERE id = ANY($1::uuid[])`, [
              early,
            ])
          ).rows.map((r) => r.state),
        { timeout: 30_000 },
      )
      .toEqual(['completed', 'completed']);
    for (const d of await deferred())
      if (d.channel !== 'in_app') {
        expect(d.state).toBe('deferred');
        expect(new Date(d.deferred_until!).toISOString()).toBe(end.toISOString());
      }
    expect(sentYet()).toBe(false);

    // Not lost: the owner ends the window (it now ended at the start of this minute), and the send
    // job due at its end, run now through the queue, sends both.
    await quietHours(new Date(now.getTime() - 3_600_000), new Date());
    const ended = new Date();
    await sendNow();
    const push = await platform.communication.pushService!.waitFor((p) => p.payload.includes(text), 30_000);
    expect(push.receivedAt.getTime()).toBeGreaterThanOrEqual(ended.getTime());
    await platform.communication.mailbox!.waitFor((m) => m.text.includes(text), 30_000);
  }, 120_000);

  /** The outbox event that announced a chat message (its id keys the notifications it made). */
  async function outboxIdOf(messageId: string): Promise<string> {
    let id: string | undefined;
    await expect
      .poll(
        async () => {
          const { rows } = await platform.db.query<{ id: string }>(
            `SELECT id::text FROM outbox_events WHERE topic = 'chat.message' AND payload->'message'->>'id' = $1`,
            [messageId],
          );
          id = rows[0]?.id;
          return id;
        },
        { timeout: 10_000 },
      )
      .toBeDefined();
    return id!;
  }
});
