import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LiveEvent } from '@clutch/contracts';
import { appendEvent } from '@clutch/jobs';
import { createSession, newPrivateJwk, signAccessToken, signingKeysFrom, type SigningKeys } from '@clutch/identity';
import { createTestDatabase, startRedisServer, type RedisServer } from '@clutch/test-support';
import { pino } from 'pino';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { createRedisBus } from './redis-bus.js';
import { startRole, type RunningRole } from './roles.js';

/**
 * Issue 17, real time at scale: two API processes' worth of roles on one Redis and one PostgreSQL,
 * and an ingest role relaying the outbox. A car owner's socket on API A hears what is published
 * elsewhere (committed to the outbox and relayed by ingest, published on the Redis bus, emitted to
 * a room on API B through the Socket.io Redis adapter); and when its socket is killed mid-stream it
 * reconnects to API B and catches up (alerts from REST by id, chat by seq), so nothing is lost and
 * nothing shown twice (docs/realtime.md, "Reconnecting").
 */
describe('real time across API processes', () => {
  let redis: RedisServer;
  const roles: RunningRole[] = [];
  let ingest: RunningRole;
  let apiA: RunningRole;
  let apiB: RunningRole;
  let keys: SigningKeys;
  let bus: Awaited<ReturnType<typeof createRedisBus>>;
  const opened: Socket[] = [];
  const saved = { signing: process.env.CLUTCH_SIGNING_KEYS, chat: process.env.CLUTCH_CHAT_KEYS };
  const dataDir = mkdtempSync(path.join(tmpdir(), 'clutch-realtime-scale-'));

  beforeAll(async () => {
    redis = await startRedisServer();
    // Every API process verifies the tokens any of them signed and opens the chat bodies any of them
    // sealed: one key set each, as docs/scale-out.md asks.
    const jwk = newPrivateJwk();
    process.env.CLUTCH_SIGNING_KEYS = JSON.stringify({ keys: [jwk] });
    keys = signingKeysFrom([jwk]);
    process.env.CLUTCH_CHAT_KEYS = JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } });
    const env = {
      DATABASE_URL: await createTestDatabase(inject('pgAdminUrl'), 'realtime_scale'),
      REDIS_URL: redis.url,
      CLUTCH_DATA_DIR: path.join(dataDir, 'pglite'),
    };
    const config = loadConfig(['--port', '0', '--require-auth'], env, process.cwd());
    const logger = pino({ level: 'silent' });
    ingest = await startRole('ingest', config, logger);
    roles.push(ingest);
    apiA = await startRole('api', config, logger);
    roles.push(apiA);
    apiB = await startRole('api', config, logger);
    roles.push(apiB);
    // What ingest processes publish straight onto the bus (readings, and every relayed outbox event).
    bus = await createRedisBus(redis.url);
  }, 90_000);

  afterAll(async () => {
    for (const s of opened) s.close();
    await bus?.close();
    for (const role of roles.reverse()) await role.stop().catch(() => {});
    await redis?.stop();
    for (const [name, value] of [
      ['CLUTCH_SIGNING_KEYS', saved.signing],
      ['CLUTCH_CHAT_KEYS', saved.chat],
    ] as const)
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A signed-in user of `tenantId` holding one built-in role: a session and an access token. */
  async function signedIn(tenantId: string, role: string, name: string): Promise<{ userId: string; token: string }> {
    const db = ingest.db;
    const userId = randomUUID();
    await db.query(`INSERT INTO users (id, tenant_id, email, display_name, status) VALUES ($1, $2, $3, $4, 'active')`, [
      userId,
      tenantId,
      `${name.toLowerCase()}-${userId.slice(0, 8)}@example.com`,
      name,
    ]);
    await db.query(
      `INSERT INTO role_grants (tenant_id, user_id, role_id, valid_from, granted_by)
       SELECT $1, $2, id, now() - interval '1 minute', 'test' FROM roles WHERE tenant_id = 'platform' AND key = $3`,
      [tenantId, userId, role],
    );
    const started = await db.transaction((q) =>
      createSession(q, {
        userId,
        tenantId,
        mfaAt: null,
        device: { client: 'mobile', fingerprint: null, ip: '127.0.0.1', userAgent: 'scale-test' },
      }),
    );
    const { token } = await signAccessToken(keys, { userId, tenantId, sessionId: started.session.id, mfaAt: null });
    return { userId, token };
  }

  /** A car owner (consumer tenant, built-in `owner` role) with a car, signed in. */
  async function owner(): Promise<{ userId: string; vehicleId: string; token: string }> {
    const who = await signedIn('consumers', 'owner', 'Olive');
    const vehicleId = randomUUID();
    await ingest.db.query(
      `INSERT INTO vehicles (id, tenant_id, name, owner_user_id) VALUES ($1, 'consumers', 'Hatchback', $2)`,
      [vehicleId, who.userId],
    );
    return { ...who, vehicleId };
  }

  /** A socket of `token` on `role`, subscribed to the car, recording every event it receives. */
  async function live(
    role: RunningRole,
    token: string,
    vehicleId: string,
  ): Promise<{ socket: Socket; got: { event: string; payload: Record<string, unknown> }[] }> {
    const socket = connectSocket(role.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token },
    });
    opened.push(socket);
    const got: { event: string; payload: Record<string, unknown> }[] = [];
    socket.onAny((event: string, payload: Record<string, unknown>) => got.push({ event, payload }));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    expect(await socket.timeout(5000).emitWithAck('subscribe', { vehicleId })).toEqual({ ok: true });
    return { socket, got };
  }

  /** An alert stored and announced in one transaction, as ingest's scoring does (topic `vehicle.alert`). */
  async function raiseAlert(vehicleId: string, n: number): Promise<string> {
    return ingest.db.transaction(async (q) => {
      const at = new Date().toISOString();
      const { rows } = await q.query<{ id: string }>(
        `INSERT INTO alerts (time, tenant_id, vehicle_id, kind, severity, title, explanation)
         VALUES ($1, 'consumers', $2, 'health', 'warning', $3, 'Coolant temperature trend') RETURNING id::text AS id`,
        [at, vehicleId, `Alert ${n}`],
      );
      const id = rows[0]!.id;
      await appendEvent(q, {
        tenantId: 'consumers',
        topic: 'vehicle.alert',
        payload: {
          vehicleId,
          alert: { id, kind: 'health', severity: 'warning', title: `Alert ${n}`, explanation: '', signals: [], at },
        },
      });
      return id;
    });
  }

  it('delivers vehicle, booking and user-room events published elsewhere to a socket on API A', async () => {
    const olive = await owner();
    const { got } = await live(apiA, olive.token, olive.vehicleId);
    const arrived = (event: string, match: (p: Record<string, unknown>) => boolean): Promise<void> =>
      expect.poll(() => got.some((r) => r.event === event && match(r.payload)), { timeout: 10_000 }).toBe(true);

    // Vehicle room: a reading's `location` published on the Redis bus by another process (ingest's way).
    const location: LiveEvent = {
      type: 'location',
      tenantId: 'consumers',
      vehicleId: olive.vehicleId,
      at: new Date().toISOString(),
      lat: 52.52,
      lon: 13.4,
    };
    bus.publish(location);
    await arrived('location', (p) => p.vehicleId === olive.vehicleId && p.at === location.at);

    // Booking rooms: a booking change committed to the outbox, relayed by the ingest role.
    const bookingId = randomUUID();
    await appendEvent(ingest.db, {
      tenantId: 'rt-shop',
      topic: 'booking.updated',
      payload: {
        bookingId,
        partnerId: randomUUID(),
        customerTenantId: 'consumers',
        customerUserId: olive.userId,
        vehicleId: olive.vehicleId,
        status: 'confirmed',
        startsAt: '2026-12-24T09:00:00.000Z',
        endsAt: '2026-12-24T10:00:00.000Z',
        at: new Date().toISOString(),
      },
    });
    await arrived('booking_update', (p) => p.bookingId === bookingId && p.status === 'confirmed');

    // User room: a notification for Olive's inbox, committed to the outbox, relayed.
    const notificationId = randomUUID();
    await appendEvent(ingest.db, {
      tenantId: 'consumers',
      topic: 'notification.created',
      payload: {
        userId: olive.userId,
        notification: {
          id: notificationId,
          category: 'booking',
          title: 'Booking confirmed',
          body: 'See you on the 24th',
          url: null,
          createdAt: new Date().toISOString(),
          readAt: null,
        },
      },
    });
    await arrived('notification', (p) => (p.notification as { id?: string } | undefined)?.id === notificationId);

    // The Socket.io Redis adapter: an emit to Olive's user room made on API B reaches her socket on A.
    apiB.api!.io.to(`user:${olive.userId}`).emit('adapter_check', { from: 'B' });
    await arrived('adapter_check', (p) => p.from === 'B');
    // Each live event once, although both API processes heard it (each tells its own sockets only).
    expect(got.filter((r) => r.event === 'booking_update' && r.payload.bookingId === bookingId)).toHaveLength(1);
    expect(got.filter((r) => r.event === 'location' && r.payload.at === location.at)).toHaveLength(1);
  });

  it('loses nothing and shows nothing twice when the socket is killed mid-stream and reconnects to the other API', async () => {
    const olive = await owner();
    const TOTAL = 40;
    /** What the client shows, by the alert's stable id, and where each first came from. */
    const shown = new Map<string, 'live-A' | 'live-B' | 'catch-up'>();
    const show = (id: string, via: 'live-A' | 'live-B' | 'catch-up'): void => {
      if (!shown.has(id)) shown.set(id, via);
    };
    /** Every live copy each socket received: a process relaying another's events would double them. */
    const copies = { A: [] as string[], B: [] as string[] };

    const first = await live(apiA, olive.token, olive.vehicleId);
    first.socket.on('alert', (p: { alert: { id: string } }) => {
      copies.A.push(p.alert.id);
      show(p.alert.id, 'live-A');
    });

    // The stream: alerts committed one after another by another process, whatever the client does,
    // until TOTAL and a few more heard live on the second connection.
    const published: string[] = [];
    /** The alert being committed now: those after it are committed after anything that happens now. */
    let current = 0;
    const stream = (async () => {
      for (let n = 0; n < 1000 && (n < TOTAL || copies.B.length < 5); n++) {
        current = n;
        published.push(await raiseAlert(olive.vehicleId, n));
        await new Promise((r) => setTimeout(r, 15));
      }
    })();

    // Mid-stream: API A kills the socket (as a crash of A or a dropped connection would).
    await expect.poll(() => shown.size, { timeout: 15_000 }).toBeGreaterThanOrEqual(10);
    const closed = new Promise<void>((resolve) => first.socket.once('disconnect', () => resolve()));
    apiA.api!.io.local.in(`user:${olive.userId}`).disconnectSockets(true);
    await closed;
    // Alerts committed after the kill and before the reconnect: no socket of Olive's could hear them.
    const killedAt = current + 1;
    await expect.poll(() => published.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(killedAt + 5);
    const gap = published.slice(killedAt, killedAt + 5);

    // Reconnect to the other process: subscribe first (live from here on), then catch up over REST
    // (newest first, a page of up to 1,000), merging by the alerts' stable ids.
    const second = await live(apiB, olive.token, olive.vehicleId);
    second.socket.on('alert', (p: { alert: { id: string } }) => {
      copies.B.push(p.alert.id);
      show(p.alert.id, 'live-B');
    });
    const res = await fetch(`${apiB.url}/api/vehicles/${olive.vehicleId}/alerts?limit=1000`, {
      headers: { authorization: `Bearer ${olive.token}` },
    });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { alerts: { id: string }[] };
    for (const alert of page.alerts) show(alert.id, 'catch-up');

    await stream;
    await expect.poll(() => shown.size, { timeout: 15_000 }).toBe(published.length);
    // Nothing lost: exactly the alerts committed are shown, each once.
    expect([...shown.keys()].sort()).toEqual([...published].sort());
    for (const id of gap) expect(shown.get(id)).toBe('catch-up');
    // Nothing doubled on the wire either: each socket got each alert at most once, although both
    // API processes heard every one of them (Redis pub/sub), and the stream went on after the catch-up.
    for (const got of [copies.A, copies.B]) expect(new Set(got).size).toBe(got.length);
    expect(page.alerts.length).toBeGreaterThanOrEqual(killedAt + 5);
  });

  it('chat: a reader killed mid-conversation on API A catches up by seq on API B, every message once', async () => {
    await ingest.db.query(`INSERT INTO tenants (id, name, kind) VALUES ('rt-fleet', 'Night fleet', 'partner')`);
    const pam = await signedIn('rt-fleet', 'partner-admin', 'Pam');
    const sam = await signedIn('rt-fleet', 'partner-admin', 'Sam');
    const api = async (
      method: string,
      url: string,
      body: unknown,
    ): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${pam.token}`,
          'content-type': 'application/json',
          'x-requested-with': 'test',
        },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const created = await api('POST', `${apiB.url}/api/chat/rooms`, {
      kind: 'group',
      title: 'Night shift',
      participantIds: [sam.userId],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const roomId = created.body.id as string;

    type Message = { seq: number; body: string };
    /** What Sam's screen shows, by seq, and where each message first came from. */
    const shown = new Map<number, { body: string; via: 'live-A' | 'live-B' | 'catch-up' }>();
    const show = (m: Message, via: 'live-A' | 'live-B' | 'catch-up'): void => {
      if (!shown.has(m.seq)) shown.set(m.seq, { body: m.body, via });
    };
    const copies = { A: [] as number[], B: [] as number[] };
    const highest = (): number => Math.max(0, ...shown.keys());

    /** Sam's socket on `role`: subscribe from the highest seq shown, keep the missed ones (and the rest while `more`). */
    const follow = async (role: RunningRole, side: 'A' | 'B'): Promise<Socket> => {
      const socket = connectSocket(role.url, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        auth: { token: sam.token },
      });
      opened.push(socket);
      socket.on('chat_message', (p: { roomId: string; message: Message }) => {
        if (p.roomId !== roomId) return;
        copies[side].push(p.message.seq);
        show(p.message, `live-${side}`);
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      for (;;) {
        const ack = (await socket.timeout(5000).emitWithAck('chat_subscribe', { roomId, afterSeq: highest() })) as {
          ok: boolean;
          missed: Message[];
          more: boolean;
        };
        expect(ack.ok, JSON.stringify(ack)).toBe(true);
        for (const m of ack.missed) show(m, 'catch-up');
        if (!ack.more) return socket;
      }
    };

    const first = await follow(apiA, 'A');
    // Pam writes on API B, one message after another, whatever happens to Sam's connection.
    const posted: string[] = [];
    let current = 0;
    const conversation = (async () => {
      for (let n = 0; n < 1000 && (n < 30 || copies.B.length < 3); n++) {
        current = n;
        const body = `message ${n}`;
        const res = await api('POST', `${apiB.url}/api/chat/rooms/${roomId}/messages`, {
          clientMessageId: randomUUID(),
          body,
        });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        posted.push(body);
      }
    })();

    await expect.poll(() => shown.size, { timeout: 15_000 }).toBeGreaterThanOrEqual(5);
    const closed = new Promise<void>((resolve) => first.once('disconnect', () => resolve()));
    apiA.api!.io.local.in(`user:${sam.userId}`).disconnectSockets(true);
    await closed;
    // Messages posted after the kill and before the reconnect (seq = index + 1).
    const killedAt = current + 1;
    await expect.poll(() => posted.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(killedAt + 3);
    await follow(apiB, 'B');
    await conversation;

    await expect.poll(() => shown.size, { timeout: 15_000 }).toBe(posted.length);
    // Nothing lost, nothing twice: seqs 1..n, each once, in Pam's order.
    expect([...shown.keys()].sort((a, b) => a - b)).toEqual(posted.map((_, i) => i + 1));
    expect([...shown.entries()].sort(([a], [b]) => a - b).map(([, m]) => m.body)).toEqual(posted);
    // Written while Sam had no socket: came from the catch-up.
    for (let seq = killedAt + 1; seq <= killedAt + 3; seq++) expect(shown.get(seq)?.via).toBe('catch-up');
    for (const got of [copies.A, copies.B]) expect(new Set(got).size).toBe(got.length);
  });
});
