// Real time at scale (issue 17): the platform's Socket.io gateway as it scales out (docs/scale-out.md,
// docs/realtime.md "Several API processes"): N API processes (`main.js --role api`, N=2 by default) on
// one PostgreSQL and one Redis (live-event bus, Socket.io Redis adapter), with the client sockets spread
// over them round-robin, as a load balancer would, from separate client processes (./client-process.ts).
// One process may open only `nofile` files (20,000 here, hard limit): 20,000 sockets take two. Beside
// it, in the same run, a bare socket.io server in this process broadcasting to the same clients in the
// same rooms (./bare.ts), as the reference.
//
//  1. sockets connected: every socket signs in with a user's access token through the real handshake
//     (token, session check, the policy function's live permissions and marketplace rooms) and the
//     vehicle watchers `subscribe` (row-level security and policy per vehicle). Target 20,000. Per
//     API process: sockets, resident memory per socket, open files against its limit.
//  2. messages delivered per second and publish -> client latency at an offered rate of deliveries
//     (target 5,000/s at p99 < 200 ms), two ways of publishing: once onto the Redis live-event bus
//     (as ingest publishes readings; every API process relays it to its own sockets) and appended to
//     the outbox (as every business change does: committed, then relayed onto Redis by an ingest
//     process). Half the events are `location` to a car watched by its owner's three devices, half
//     `booking_update` to a booking's customer (two devices) and the shop's desk; the devices of one
//     person sit on different API processes, so one publish reaches both.
//  3. the bare socket.io reference at the same rate and, for both, at saturation: server CPU per 1,000
//     deliveries (API processes together vs the bare server) is the figure that holds on a busy machine.
//  4. notification triggers per second through the whole path (./notifications.ts), measured first,
//     on a platform of its own in this process.
//
// Settings: BENCH_SOCKETS (20000), BENCH_API_PROCESSES (2), BENCH_SECONDS per step (10), BENCH_RATE
// deliveries/s (5000), BENCH_MAX_RATE offered for saturation (30000), BENCH_CLIENT_PROCESSES (4),
// BENCH_CONNECT_CONCURRENCY per client process (50), BENCH_NOTIFY triggers (2000), BENCH_DB=pglite for
// the notification part's embedded database (the API processes always share PostgreSQL),
// BENCH_ONLY=bus,outbox,max,bare,notify (a comma-separated subset), BENCH_MIX=vehicles|bookings (one
// kind of event only; default both), BENCH_OUTBOX_MIX=mixed (bookings through the outbox too).
// A full run takes about 10 minutes.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { LiveEvent } from '@clutch/contracts';
import { openPostgres, type Database } from '@clutch/db';
import { newPrivateJwk, signingKeysFrom } from '@clutch/identity';
import { createRedisBus } from '@clutch/platform';
import {
  createTestDatabase,
  startPostgresServer,
  startRedisServer,
  type PostgresServer,
  type RedisServer,
} from '@clutch/test-support';
import { cpuSnapshot } from '../common/cpu.js';
import { fmt, percentile } from '../common/stats.js';
import {
  descriptorsOf,
  processCpuMs,
  redisPid,
  residentBytes,
  startRoleProcess,
  type RoleProcess,
} from './api-processes.js';
import { startBareServer } from './bare.js';
import type { ClientCommand, ClientReply } from './client-process.js';
import { runNotificationBench, type NotificationFigure } from './notifications.js';
import { seedPopulation, type Population } from './population.js';

const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 20_000);
const API_PROCESSES = Math.max(1, Number(process.env.BENCH_API_PROCESSES ?? 2));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATE = Number(process.env.BENCH_RATE ?? 5000);
const MAX_RATE = Number(process.env.BENCH_MAX_RATE ?? 30_000);
const PROCESSES = Number(process.env.BENCH_CLIENT_PROCESSES ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONNECT_CONCURRENCY ?? 50);
const ONLY = process.env.BENCH_ONLY?.split(',');
const part = (name: string): boolean => !ONLY || ONLY.includes(name);
/** Most events one publishing tick hands over when the publisher falls behind (saturation). */
const MAX_BATCH = 500;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- client processes --------------------------------------------------------------------------

interface Client {
  child: ChildProcess;
  ask<K extends ClientReply['kind']>(command: ClientCommand, reply: K): Promise<Extract<ClientReply, { kind: K }>>;
}

function startClient(): Client {
  const child = fork(new URL('./client-process.js', import.meta.url), [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    child,
    ask: (command, reply) =>
      new Promise((resolve, reject) => {
        const onMessage = (m: ClientReply): void => {
          if (m.kind !== reply) return;
          child.off('message', onMessage);
          child.off('exit', onExit);
          resolve(m as never);
        };
        const onExit = (code: number | null): void => reject(new Error(`client process exited (${code})`));
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.send(command);
      }),
  };
}

const all = <K extends ClientReply['kind']>(
  clients: Client[],
  command: (i: number) => ClientCommand,
  reply: K,
): Promise<Extract<ClientReply, { kind: K }>[]> => Promise.all(clients.map((c, i) => c.ask(command(i), reply)));

// ---- what the server side spends ----------------------------------------------------------------

/** CPU ms spent so far by each serving part: the API processes (or this process for bare), Redis, PostgreSQL. */
type Meter = () => Map<string, number>;

/** The gateway's side: each API process, the ingest process if any, Redis and PostgreSQL. */
function rolesMeter(roles: RoleProcess[], redis: number | null, pgDataDir: string | undefined): Meter {
  return () => {
    const parts = new Map<string, number>();
    roles.forEach((r, i) => parts.set(r.role === 'api' ? `API ${i + 1}` : r.role, processCpuMs(r.pid)));
    if (redis !== null) parts.set('Redis', processCpuMs(redis));
    const pg = pgDataDir ? cpuSnapshot(pgDataDir).postgresMs : null;
    if (pg !== null) parts.set('PostgreSQL', pg);
    return parts;
  };
}

/** The bare reference: this process (which also runs the bench's bookkeeping, a small share). */
const selfMeter: Meter = () => {
  const u = process.cpuUsage();
  return new Map([['bare socket.io process', (u.user + u.system) / 1000]]);
};

/** The parts that serve sockets: what "process CPU" means for the gateway (all API processes) and bare. */
const isServer = (part: string): boolean => part.startsWith('API ') || part === 'bare socket.io process';

function spent(before: Map<string, number>, after: Map<string, number>, units: number): { part: string; ms: number }[] {
  return [...after]
    .map(([part, ms]) => ({ part, ms: (ms - (before.get(part) ?? 0)) / Math.max(1, units) }))
    .sort((x, y) => y.ms - x.ms);
}

// ---- connecting ----------------------------------------------------------------------------------

interface Connected {
  live: Set<number>;
  seconds: number;
  failures: Map<string, number>;
  /** Server CPU per connected socket, ms, by part. */
  cpu: { part: string; ms: number }[];
}

async function connect(
  clients: Client[],
  urls: string[],
  population: Population,
  mode: 'gateway' | 'bare',
  meter: Meter,
): Promise<Connected> {
  const shares = clients.map((_, i) => population.sockets.filter((s) => s.id % clients.length === i));
  const before = meter();
  const t0 = performance.now();
  const replies = await all(
    clients,
    (i) => ({ kind: 'connect', urls, sockets: shares[i]!, concurrency: CONCURRENCY, mode }),
    'connected',
  );
  const seconds = (performance.now() - t0) / 1000;
  const failures = new Map<string, number>();
  for (const r of replies) for (const f of r.failed) failures.set(f.reason, (failures.get(f.reason) ?? 0) + 1);
  const live = new Set(replies.flatMap((r) => r.ok));
  return { live, seconds, failures, cpu: spent(before, meter(), live.size) };
}

/**
 * Descriptors a serving process keeps beyond its sockets while they connect: database connections
 * the pool opens on demand, Redis, files. Past the limit `accept` fails with EMFILE and so does
 * everything else that opens a descriptor (a new database connection, a log file).
 */
const DESCRIPTOR_RESERVE = 200;

// ---- publishing and measuring ------------------------------------------------------------------------

interface Target {
  kind: 'vehicle' | 'booking';
  sockets: number[];
  event: (at: string) => LiveEvent;
}

function targets(population: Population, live: Set<number>): Target[] {
  const vehicles: Target[] = population.vehicles.map((v, i) => ({
    kind: 'vehicle',
    sockets: v.sockets.filter((s) => live.has(s)),
    event: (at) => ({
      type: 'location',
      tenantId: 'consumers',
      vehicleId: v.vehicleId,
      at,
      lat: 52.5 + (i % 100) / 1000,
      lon: 13.4,
      speedKmh: 42,
    }),
  }));
  const bookings: Target[] = population.bookings.map((b) => ({
    kind: 'booking',
    sockets: b.sockets.filter((s) => live.has(s)),
    event: (at) => ({
      type: 'booking_update',
      tenantId: b.shopTenantId,
      bookingId: b.bookingId,
      partnerId: b.partnerId,
      customerTenantId: 'consumers',
      customerUserId: b.customerUserId,
      vehicleId: b.vehicleId,
      status: 'confirmed',
      startsAt: '2026-12-24T09:00:00.000Z',
      endsAt: '2026-12-24T10:00:00.000Z',
      at,
    }),
  }));
  // Interleaved: a car, a booking, a car... (BENCH_MIX=vehicles or bookings: one kind only).
  const mix = process.env.BENCH_MIX ?? 'mixed';
  const mixed: Target[] = [];
  for (let i = 0; i < Math.max(vehicles.length, bookings.length); i++) {
    if (vehicles[i]?.sockets.length && mix !== 'bookings') mixed.push(vehicles[i]!);
    if (bookings[i]?.sockets.length && mix !== 'vehicles') mixed.push(bookings[i]!);
  }
  return mixed;
}

export interface StepFigure {
  name: string;
  offeredPerSecond: number;
  published: number;
  expected: number;
  delivered: number;
  deliveredPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** Server CPU per 1,000 deliveries: each API process (or the bare server), Redis, PostgreSQL. */
  cpu: { part: string; ms: number }[];
  cpuMs: number;
  /** What the socket servers spent: the API processes together (or the bare socket.io process). */
  processMs: number;
}

type Publish = (events: LiveEvent[]) => void | Promise<void>;

async function step(
  name: string,
  clients: Client[],
  to: Target[],
  offered: number,
  publish: Publish,
  meter: Meter,
  /** After the drain: waits until nothing of this step can still arrive (the outbox caught up). */
  settle?: () => Promise<void>,
): Promise<StepFigure> {
  const fanout = to.reduce((s, t) => s + t.sockets.length, 0) / Math.max(1, to.length);
  const publishesPerSecond = offered / fanout;
  await all(clients, () => ({ kind: 'reset' }), 'reset');
  const before = meter();
  const t0 = performance.now();
  let published = 0;
  let expected = 0;
  let next = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    const due = Math.min(MAX_BATCH, Math.floor(((performance.now() - t0) / 1000) * publishesPerSecond) - published);
    if (due > 0) {
      const at = new Date().toISOString();
      const events: LiveEvent[] = [];
      for (let i = 0; i < due; i++) {
        const target = to[next++ % to.length]!;
        events.push(target.event(at));
        expected += target.sockets.length;
      }
      published += due;
      await publish(events);
    }
    await sleep(2);
  }
  // Drained when every expected delivery arrived, or nothing more came for a second (max 20 s).
  let last = -1;
  let stableSince = performance.now();
  const drainUntil = performance.now() + 20_000;
  for (;;) {
    const counts = await all(clients, () => ({ kind: 'report' }), 'report');
    const got = counts.reduce((s, r) => s + Object.values(r.received).reduce((a, b) => a + b, 0), 0);
    if (got >= expected || performance.now() > drainUntil) break;
    if (got !== last) {
      last = got;
      stableSince = performance.now();
    } else if (performance.now() - stableSince > 1000) break;
    await sleep(250);
  }
  const after = meter();
  const reports = await all(clients, () => ({ kind: 'report' }), 'report');
  await settle?.();
  const latencies = reports.flatMap((r) => r.latencies);
  const delivered = latencies.length;
  const firsts = reports.flatMap((r) => (r.firstAt === null ? [] : [r.firstAt]));
  const lasts = reports.flatMap((r) => (r.lastAt === null ? [] : [r.lastAt]));
  const span = firsts.length ? (Math.max(...lasts) - Math.min(...firsts)) / 1000 : 0;
  const parts = spent(before, after, Math.max(1, delivered) / 1000);
  return {
    name,
    offeredPerSecond: offered,
    published,
    expected,
    delivered,
    deliveredPerSecond: span > 0 ? delivered / Math.max(span, SECONDS) : 0,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.reduce((m, v) => Math.max(m, v), 0),
    cpu: parts,
    cpuMs: parts.reduce((s, p) => s + p.ms, 0),
    processMs: parts.filter((p) => isServer(p.part)).reduce((s, p) => s + p.ms, 0),
  };
}

function stepLine(f: StepFigure): string {
  const lost = f.expected - f.delivered;
  return (
    `  ${f.name.padEnd(40)} offered ${fmt(f.offeredPerSecond).padStart(6)}/s  delivered ${fmt(f.deliveredPerSecond).padStart(6)}/s` +
    `  p50 ${fmt(f.p50).padStart(5)} ms  p99 ${fmt(f.p99).padStart(6)} ms  max ${fmt(f.max).padStart(6)} ms` +
    `  (${fmt(f.published)} published, ${fmt(f.delivered)}/${fmt(f.expected)} delivered${lost > 0 ? `, ${fmt(lost)} missing` : ''})` +
    `\n  ${''.padEnd(40)} server CPU per 1,000 deliveries ${fmt(f.cpuMs, 1)} ms: ${f.cpu
      .filter((p) => p.ms >= 0.5)
      .map((p) => `${p.part} ${fmt(p.ms, 1)}`)
      .join(', ')}`
  );
}

/** Once onto the Redis live-event bus, as an ingest process publishes readings: every API process hears it. */
const busPublisher =
  (bus: { publish(event: LiveEvent): void }): Publish =>
  (events) => {
    for (const event of events) bus.publish(event);
  };

/** Waits until the relay delivered every outbox row (at most 5 minutes), then for one quiet second. */
async function outboxCaughtUp(db: Database): Promise<void> {
  const until = Date.now() + 300_000;
  for (;;) {
    const { rows } = await db.query<{ n: string }>(
      'SELECT count(*) AS n FROM outbox_events WHERE delivered_at IS NULL',
    );
    if (Number(rows[0]!.n) === 0 || Date.now() > until) break;
    await sleep(500);
  }
  await sleep(1000);
}

/** Outbox rows as the domain appends them (appendLiveEvent's shape), one INSERT per publishing tick. */
function outboxPublisher(db: Database): Publish {
  const TOPIC: Partial<Record<LiveEvent['type'], string>> = {
    location: 'vehicle.location',
    booking_update: 'booking.updated',
  };
  return async (events) => {
    const tenants: string[] = [];
    const topics: string[] = [];
    const payloads: string[] = [];
    for (const { type, tenantId, ...payload } of events as (LiveEvent & { tenantId: string })[]) {
      tenants.push(tenantId);
      topics.push(TOPIC[type]!);
      payloads.push(JSON.stringify(payload));
    }
    await db.query(
      `INSERT INTO outbox_events (tenant_id, topic, payload)
       SELECT t, p, d::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS e(t, p, d)`,
      [tenants, topics, payloads],
    );
  };
}

// ---- the run ------------------------------------------------------------------------------------

interface Serving {
  apis: RoleProcess[];
  ingest?: RoleProcess;
  db: Database;
  redis: RedisServer;
  meter: Meter;
}

/** N API processes (the first migrates the database), an ingest process when the outbox is measured. */
async function startServing(
  pg: PostgresServer,
  redis: RedisServer,
  jwkJson: string,
  dataDir: string,
): Promise<Serving> {
  const env: Record<string, string> = {
    DATABASE_URL: await createTestDatabase(pg.adminUrl, 'bench_realtime'),
    REDIS_URL: redis.url,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    // Every process verifies the tokens the bench signs and shares one chat key (docs/scale-out.md).
    CLUTCH_SIGNING_KEYS: jwkJson,
    CLUTCH_CHAT_KEYS: JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } }),
  };
  const perProcess = Math.ceil(SOCKETS / API_PROCESSES);
  const args = (i: number): string[] => [
    ...['--port', '0', '--require-auth', '--no-rate-limit', '--max-connections', String(perProcess + 1000)],
    ...['--data-dir', path.join(dataDir, `api-${i + 1}`)],
  ];
  const first = await startRoleProcess('api', args(0), env);
  const apis = [first];
  try {
    apis.push(
      ...(await Promise.all(
        Array.from({ length: API_PROCESSES - 1 }, (_, i) => startRoleProcess('api', args(i + 1), env)),
      )),
    );
    const ingest = part('outbox')
      ? await startRoleProcess('ingest', ['--data-dir', path.join(dataDir, 'ingest')], env)
      : undefined;
    const db = await openPostgres(env.DATABASE_URL!);
    const roles = ingest ? [...apis, ingest] : apis;
    return {
      apis,
      ...(ingest ? { ingest } : {}),
      db,
      redis,
      meter: rolesMeter(roles, redisPid(redis.port), pg.dataDir),
    };
  } catch (err) {
    for (const a of apis) await a.stop();
    throw err;
  }
}

/** Drops sockets an API process could not hold within its open-files limit (and says so). */
function fitDescriptors(population: Population, apis: RoleProcess[]): void {
  const room = apis.map((a) => {
    const d = descriptorsOf(a.pid);
    return Math.max(0, d.soft - d.open - DESCRIPTOR_RESERVE);
  });
  const taken = apis.map(() => 0);
  const kept = population.sockets.filter((s) => {
    const k = s.id % apis.length;
    if (taken[k]! >= room[k]!) return false;
    taken[k]!++;
    return true;
  });
  const dropped = population.sockets.length - kept.length;
  if (dropped > 0) {
    const d = descriptorsOf(apis[0]!.pid);
    console.log(
      `  an API process may open ${fmt(d.soft)} files (hard limit ${fmt(d.hard)}; raising it needs CAP_SYS_RESOURCE ` +
        `or a higher LimitNOFILE), less ${DESCRIPTOR_RESERVE} kept for its database pool, Redis and files: ` +
        `${fmt(dropped)} sockets are not attempted (BENCH_API_PROCESSES=${apis.length + 1} holds them)`,
    );
    population.sockets.splice(0, population.sockets.length, ...kept);
  }
}

/** The bare reference runs in this process: it holds what this process's open-files limit allows. */
function fitSelf(population: Population): Population {
  const d = descriptorsOf('self');
  const room = d.soft - d.open - DESCRIPTOR_RESERVE;
  if (population.sockets.length <= room) return population;
  console.log(
    `  bare socket.io runs in the bench process (open files limit ${fmt(d.soft)}): ${fmt(room)} of its sockets are attempted`,
  );
  return { ...population, sockets: population.sockets.slice(0, room) };
}

async function main(): Promise<void> {
  const onPglite = process.env.BENCH_DB === 'pglite';
  const fds = descriptorsOf('self');
  console.log(
    `realtime bench: ${fmt(SOCKETS)} sockets on ${API_PROCESSES} API process(es) from ${PROCESSES} client processes, ` +
      `${SECONDS} s per step, PostgreSQL and Redis; ${cpus().length} cores, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; open files limit per process ${fds.soft} (hard ${fds.hard})`,
  );
  let pg: PostgresServer | undefined;
  let redis: RedisServer | undefined;
  const benchDataDir = mkdtempSync(path.join(tmpdir(), 'clutch-realtime-bench-'));
  let serving: Serving | undefined;
  let bus: Awaited<ReturnType<typeof createRedisBus>> | undefined;
  const clients: Client[] = [];
  const figures: StepFigure[] = [];
  let notifications: NotificationFigure | undefined;
  const connected: { gateway?: Connected; bare?: Connected } = {};
  let memory: { sockets: number; bytes: number } | undefined;
  try {
    const sockets = part('bus') || part('outbox') || part('max') || part('bare');
    if (sockets || !onPglite) pg = await startPostgresServer();
    if (part('notify')) {
      // First: a platform of its own (development mode: its local providers) on a fresh database, run
      // in this process before it holds the bare reference's 20,000 sockets and before the socket
      // clients' and API processes load the machine (run last, it measured their teardown too).
      notifications = await runNotificationBench(
        pg && !onPglite ? await createTestDatabase(pg.adminUrl, 'bench_notify') : undefined,
        benchDataDir,
        onPglite ? undefined : pg?.dataDir,
      );
    }
    const jwk = newPrivateJwk();
    const keys = signingKeysFrom([jwk]);
    let population: Population | undefined;
    if (sockets) {
      redis = await startRedisServer();
      serving = await startServing(pg!, redis, JSON.stringify({ keys: [jwk] }), benchDataDir);
      population = await seedPopulation(serving.db, keys, SOCKETS);
      fitDescriptors(population, serving.apis);
      bus = await createRedisBus(redis.url);
      for (let i = 0; i < PROCESSES; i++) clients.push(startClient());
    }

    if (serving && population && (part('bus') || part('outbox') || part('max'))) {
      const { apis, meter, db } = serving;
      const rssBefore = apis.map((a) => residentBytes(a.pid));
      const gateway = await connect(
        clients,
        apis.map((a) => a.url),
        population,
        'gateway',
        meter,
      );
      const rssAfter = apis.map((a) => residentBytes(a.pid));
      connected.gateway = gateway;
      const perApi = apis.map((_, k) => [...gateway.live].filter((id) => id % apis.length === k).length);
      const grown = rssAfter.reduce((s, v, k) => s + v - rssBefore[k]!, 0);
      memory = { sockets: gateway.live.size, bytes: grown };
      console.log(
        `  sockets connected to the gateway: ${fmt(gateway.live.size)} of ${fmt(population.sockets.length)} in ${fmt(gateway.seconds, 1)} s ` +
          `(${fmt(gateway.live.size / gateway.seconds)} handshakes/s; server CPU per socket ${cpuText(gateway.cpu)}); ` +
          `resident memory per socket ${fmt(grown / Math.max(1, gateway.live.size) / 1024, 1)} KiB`,
      );
      apis.forEach((a, k) => {
        const d = descriptorsOf(a.pid);
        console.log(
          `    API ${k + 1} (pid ${a.pid}): ${fmt(perApi[k]!)} sockets, ${fmt(d.open)} open files (limit ${fmt(d.soft)}), ` +
            `${fmt(rssAfter[k]! / 2 ** 20)} MiB resident (+${fmt((rssAfter[k]! - rssBefore[k]!) / 2 ** 20)} MiB)`,
        );
      });
      for (const [reason, n] of gateway.failures) console.log(`    ${fmt(n)} failed: ${reason}`);
      const to = targets(population, gateway.live);
      const spread = to.filter((t) => new Set(t.sockets.map((s) => s % apis.length)).size > 1).length;
      console.log(
        `  ${fmt(spread)} of ${fmt(to.length)} events' audiences have sockets on more than one API process (published once, on Redis)`,
      );
      if (part('bus')) {
        figures.push(await step('gateway, Redis bus -> client', clients, to, RATE, busPublisher(bus!), meter));
        console.log(stepLine(figures.at(-1)!));
      }
      if (part('outbox')) {
        // Car events by default: `booking.updated` is also a notifying topic, whose sink enqueues a
        // job per event in the relay's round (docs/realtime.md, "Measured"); BENCH_OUTBOX_MIX=mixed
        // sends the bookings' events through the outbox too.
        const mixed = process.env.BENCH_OUTBOX_MIX === 'mixed';
        const viaOutbox = mixed ? to : to.filter((t) => t.kind === 'vehicle');
        figures.push(
          await step(
            `gateway, commit -> client (outbox${mixed ? '' : ', cars'})`,
            clients,
            viaOutbox,
            RATE,
            outboxPublisher(db),
            meter,
            () => outboxCaughtUp(db),
          ),
        );
        console.log(stepLine(figures.at(-1)!));
      }
      if (part('max')) {
        figures.push(
          await step('gateway, Redis bus -> client, saturated', clients, to, MAX_RATE, busPublisher(bus!), meter),
        );
        console.log(stepLine(figures.at(-1)!));
      }
      await all(clients, () => ({ kind: 'disconnect' }), 'disconnected');
    }

    if (population && part('bare')) {
      const bare = await startBareServer();
      try {
        const ref = await connect(clients, [bare.url], fitSelf(population), 'bare', selfMeter);
        console.log(
          `  sockets connected to bare socket.io: ${fmt(ref.live.size)} in ${fmt(ref.seconds, 1)} s ` +
            `(${fmt(ref.live.size / ref.seconds)}/s; server CPU per socket ${cpuText(ref.cpu)})`,
        );
        connected.bare = ref;
        for (const [reason, n] of ref.failures) console.log(`    ${fmt(n)} failed: ${reason}`);
        const to = targets(population, ref.live);
        const emit: Publish = (events) => {
          for (const e of events) {
            const { type, tenantId: _t, ...payload } = e as LiveEvent & { tenantId: string };
            const rooms =
              type === 'location'
                ? [`vehicle:${(payload as { vehicleId: string }).vehicleId}:location:read`]
                : bareBookingRooms(e as Extract<LiveEvent, { type: 'booking_update' }>);
            bare.io.to(rooms).emit(type, payload);
          }
        };
        figures.push(await step('bare socket.io (reference)', clients, to, RATE, emit, selfMeter));
        console.log(stepLine(figures.at(-1)!));
        if (part('max')) {
          figures.push(await step('bare socket.io, saturated', clients, to, MAX_RATE, emit, selfMeter));
          console.log(stepLine(figures.at(-1)!));
        }
        await all(clients, () => ({ kind: 'disconnect' }), 'disconnected');
      } finally {
        await bare.close();
      }
    }

    summary(figures, connected, notifications, memory);
  } finally {
    for (const c of clients) c.child.kill();
    await bus?.close().catch(() => {});
    await stopServing(serving).catch((err: Error) => console.error('stop:', err.message));
    await redis?.stop();
    pg?.destroy();
    rmSync(benchDataDir, { recursive: true, force: true });
  }
}

async function stopServing(serving: Serving | undefined): Promise<void> {
  if (!serving) return;
  await serving.db.close();
  await Promise.all([...serving.apis, ...(serving.ingest ? [serving.ingest] : [])].map((r) => r.stop()));
}

/** The rooms the gateway emits a booking_update to (roomsOfMarketplaceEvent), by name. */
function bareBookingRooms(e: Extract<LiveEvent, { type: 'booking_update' }>): string[] {
  return [
    `shop:${e.tenantId}:${e.partnerId}:bookings:read`,
    `customer:${e.customerTenantId}:bookings:read`,
    `customer:${e.customerTenantId}:user:${e.customerUserId}:bookings:read`,
    'marketplace:bookings:read',
  ];
}

const cpuText = (cpu: { part: string; ms: number }[]): string =>
  `${fmt(
    cpu.reduce((s, p) => s + p.ms, 0),
    2,
  )} ms: ${cpu
    .filter((p) => p.ms >= 0.01)
    .map((p) => `${p.part} ${fmt(p.ms, 2)}`)
    .join(', ')}`;

function summary(
  figures: StepFigure[],
  connected: { gateway?: Connected; bare?: Connected },
  notifications: NotificationFigure | undefined,
  memory: { sockets: number; bytes: number } | undefined,
): void {
  const find = (name: string): StepFigure | undefined => figures.find((f) => f.name === name);
  console.log(
    `\nsummary (load average now ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  for (const [name, c] of Object.entries(connected))
    console.log(
      `  sockets connected, ${name.padEnd(8)} ${fmt(c.live.size).padStart(7)} of ${fmt(SOCKETS)}  ${fmt(c.live.size / c.seconds).padStart(5)}/s  server CPU ${fmt(
        c.cpu.reduce((s, p) => s + p.ms, 0),
        2,
      )} ms per socket${name === 'gateway' ? ` (${API_PROCESSES} API processes)` : ''}`,
    );
  if (connected.gateway)
    console.log(
      `  target ${fmt(SOCKETS)} sockets: ${connected.gateway.live.size >= SOCKETS ? 'met' : 'NOT met'} (${fmt(connected.gateway.live.size)} connected on ${API_PROCESSES} API process(es))`,
    );
  if (memory)
    console.log(
      `  resident memory per gateway socket: ${fmt(memory.bytes / Math.max(1, memory.sockets) / 1024, 1)} KiB (growth of the API processes while connecting)`,
    );
  console.log('  step                                delivered/s    p99 ms   CPU ms per 1,000: server   +Redis, DB');
  for (const f of figures)
    console.log(
      `  ${f.name.padEnd(40)} ${fmt(f.deliveredPerSecond).padStart(12)} ${fmt(f.p99).padStart(9)} ${fmt(f.processMs, 1).padStart(26)} ${fmt(f.cpuMs, 1).padStart(12)}`,
    );
  const bus = find('gateway, Redis bus -> client');
  const bare = find('bare socket.io (reference)');
  const busMax = find('gateway, Redis bus -> client, saturated');
  const bareMax = find('bare socket.io, saturated');
  // The headline: deliveries per CPU-second of the serving processes, saturated (fixed costs amortised):
  // a figure that holds on a busy machine, unlike the wall-clock rates beside it.
  if (busMax && bareMax)
    console.log(
      `  gateway / bare socket.io, deliveries per process CPU-second, saturated: ${fmt(1e6 / busMax.processMs)} / ${fmt(1e6 / bareMax.processMs)} = ${(bareMax.processMs / busMax.processMs).toFixed(2)}` +
        `\n  gateway / bare socket.io, wall-clock delivery rate, saturated: ${fmt(busMax.deliveredPerSecond)} / ${fmt(bareMax.deliveredPerSecond)} = ${(busMax.deliveredPerSecond / bareMax.deliveredPerSecond).toFixed(2)} (depends on the machine's other load)`,
    );
  if (bus && bare)
    console.log(
      `  gateway / bare socket.io, deliveries per process CPU-second at ${fmt(RATE)}/s: ${(bare.processMs / bus.processMs).toFixed(2)}`,
    );
  if (bus)
    console.log(
      `  target ${fmt(RATE)} deliveries/s at p99 < 200 ms, Redis bus -> client (${API_PROCESSES} API processes): ${bus.p99 < 200 && bus.delivered === bus.expected ? 'met' : 'NOT met'} (p99 ${fmt(bus.p99)} ms, ${fmt(bus.expected - bus.delivered)} missing)`,
    );
  const outbox = figures.find((f) => f.name.startsWith('gateway, commit -> client'));
  if (outbox)
    console.log(
      `  target ${fmt(RATE)} deliveries/s at p99 < 200 ms, commit -> client: ${outbox.p99 < 200 && outbox.delivered === outbox.expected ? 'met' : 'NOT met'} (p99 ${fmt(outbox.p99)} ms, ${fmt(outbox.expected - outbox.delivered)} missing)`,
    );
  if (notifications)
    console.log(
      `  notification triggers: ${fmt(notifications.perSecond, 1)}/s ${notifications.path} (target >= 600/s: ${notifications.perSecond >= 600 ? 'met' : 'NOT met'})`,
    );
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
