// Real time at scale (issue 17): the platform's Socket.io gateway, started as `npm start` starts it
// (startPlatform: API, outbox relay, job workers; PostgreSQL by default), with its client sockets in
// separate processes (./client-process.ts), and beside it, in the same run, a bare socket.io server
// broadcasting to the same clients in the same rooms (./bare.ts).
//
//  1. sockets connected: every socket signs in with a user's access token through the real handshake
//     (token, session check, the policy function's live permissions and marketplace rooms) and the
//     vehicle watchers `subscribe` (row-level security and policy per vehicle). Target 20,000.
//  2. messages delivered per second and publish -> client latency at an offered rate of deliveries
//     (target 5,000/s at p99 < 200 ms), two ways of publishing: straight onto the live-event bus (as
//     ingest publishes readings) and appended to the outbox (as every business change does: committed,
//     then relayed onto the bus). Half the events are `location` to a car watched by its owner's three
//     devices, half `booking_update` to a booking's customer (two devices) and the shop's desk.
//  3. the bare socket.io reference at the same rate and, for both, at saturation: our rate / bare's is
//     the headline, with the server CPU per 1,000 deliveries (a figure that means the same on a busy machine).
//  4. notification triggers per second through the whole path (./notifications.ts).
//
// Settings: BENCH_SOCKETS (20000), BENCH_SECONDS per step (10), BENCH_RATE deliveries/s (5000),
// BENCH_MAX_RATE offered for saturation (30000), BENCH_CLIENT_PROCESSES (4), BENCH_CONNECT_CONCURRENCY
// per client process (50), BENCH_NOTIFY triggers (300), BENCH_DB=pglite for the embedded database,
// BENCH_ONLY=bus,outbox,max,bare,notify (a comma-separated subset), BENCH_MIX=vehicles|bookings (one
// kind of event only; default both), BENCH_OUTBOX_MIX=mixed (bookings through the outbox too).
// A full run takes about 10 minutes.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { LiveEvent } from '@clutch/contracts';
import { newPrivateJwk, signingKeysFrom } from '@clutch/identity';
import { loadConfig, startPlatform, type RunningPlatform } from '@clutch/platform';
import { createTestDatabase, startPostgresServer, type PostgresServer } from '@clutch/test-support';
import { pino } from 'pino';
import { cpuBetween, cpuSnapshot } from '../common/cpu.js';
import { fmt, percentile } from '../common/stats.js';
import { startBareServer } from './bare.js';
import type { ClientCommand, ClientReply } from './client-process.js';
import { runNotificationBench, type NotificationFigure } from './notifications.js';
import { seedPopulation, type Population } from './population.js';

const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 20_000);
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

// ---- connecting ----------------------------------------------------------------------------------

interface Connected {
  live: Set<number>;
  seconds: number;
  failures: Map<string, number>;
  /** Server CPU per connected socket, ms, by part (this process's threads, PostgreSQL). */
  cpu: { part: string; ms: number }[];
}

async function connect(
  clients: Client[],
  url: string,
  population: Population,
  mode: 'gateway' | 'bare',
  pgDataDir?: string,
): Promise<Connected> {
  const shares = clients.map((_, i) => population.sockets.filter((s) => s.id % clients.length === i));
  const before = cpuSnapshot(pgDataDir);
  const t0 = performance.now();
  const replies = await all(
    clients,
    (i) => ({ kind: 'connect', url, sockets: shares[i]!, concurrency: CONCURRENCY, mode }),
    'connected',
  );
  const seconds = (performance.now() - t0) / 1000;
  const failures = new Map<string, number>();
  for (const r of replies) for (const f of r.failed) failures.set(f.reason, (failures.get(f.reason) ?? 0) + 1);
  const live = new Set(replies.flatMap((r) => r.ok));
  const cpu = cpuBetween(before, cpuSnapshot(pgDataDir), Math.max(1, live.size)).perThousand.map((p) => ({
    part: p.part,
    ms: p.ms / 1000,
  }));
  return { live, seconds, failures, cpu };
}

/** Open descriptors of this process against its limit: where the number of sockets stops. */
function descriptors(): { open: number; soft: number; hard: number } {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const [soft = 'unlimited', hard = 'unlimited'] = line?.split(/\s{2,}/).slice(1, 3) ?? [];
  const limit = (v: string): number => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
  return { open: readdirSync('/proc/self/fd').length, soft: limit(soft), hard: limit(hard) };
}

/**
 * Descriptors the serving process keeps beyond its sockets while they connect: database connections
 * the pool opens on demand, the relay's LISTEN, files. Past the limit `accept` fails with EMFILE and
 * so does everything else that opens a descriptor (a new database connection, a log file).
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
  /** Server CPU per 1,000 deliveries: this process by thread, and PostgreSQL. */
  cpu: { part: string; ms: number }[];
  cpuMs: number;
  /** The same without PostgreSQL: what the gateway (or bare socket.io) process spent. */
  processMs: number;
}

type Publish = (events: LiveEvent[]) => void | Promise<void>;

async function step(
  name: string,
  clients: Client[],
  to: Target[],
  offered: number,
  publish: Publish,
  pgDataDir?: string,
  /** After the drain: waits until nothing of this step can still arrive (the outbox caught up). */
  settle?: () => Promise<void>,
): Promise<StepFigure> {
  const fanout = to.reduce((s, t) => s + t.sockets.length, 0) / Math.max(1, to.length);
  const publishesPerSecond = offered / fanout;
  await all(clients, () => ({ kind: 'reset' }), 'reset');
  const before = cpuSnapshot(pgDataDir);
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
  const after = cpuSnapshot(pgDataDir);
  const reports = await all(clients, () => ({ kind: 'report' }), 'report');
  await settle?.();
  const latencies = reports.flatMap((r) => r.latencies);
  const delivered = latencies.length;
  const firsts = reports.flatMap((r) => (r.firstAt === null ? [] : [r.firstAt]));
  const lasts = reports.flatMap((r) => (r.lastAt === null ? [] : [r.lastAt]));
  const span = firsts.length ? (Math.max(...lasts) - Math.min(...firsts)) / 1000 : 0;
  const cpu = cpuBetween(before, after, Math.max(1, delivered) / 1000);
  const parts = cpu.perThousand.map((p) => ({ part: p.part, ms: p.ms / 1000 }));
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
    processMs: parts.filter((p) => p.part !== 'PostgreSQL').reduce((s, p) => s + p.ms, 0),
  };
}

function stepLine(f: StepFigure): string {
  const lost = f.expected - f.delivered;
  return (
    `  ${f.name.padEnd(34)} offered ${fmt(f.offeredPerSecond).padStart(6)}/s  delivered ${fmt(f.deliveredPerSecond).padStart(6)}/s` +
    `  p50 ${fmt(f.p50).padStart(5)} ms  p99 ${fmt(f.p99).padStart(6)} ms  max ${fmt(f.max).padStart(6)} ms` +
    `  (${fmt(f.published)} published, ${fmt(f.delivered)}/${fmt(f.expected)} delivered${lost > 0 ? `, ${fmt(lost)} missing` : ''})` +
    `\n  ${''.padEnd(34)} server CPU per 1,000 deliveries ${fmt(f.cpuMs, 1)} ms: ${f.cpu
      .filter((p) => p.ms >= 0.5)
      .map((p) => `${p.part} ${fmt(p.ms, 1)}`)
      .join(', ')}`
  );
}

/** Straight onto the live-event bus, as ingest publishes readings (in process here, as `npm start` runs). */
const busPublisher =
  (platform: RunningPlatform): Publish =>
  (events) => {
    for (const event of events) platform.bus.publish(event);
  };

/** Waits until the relay delivered every outbox row (at most 5 minutes), then for one quiet second. */
async function outboxCaughtUp(platform: RunningPlatform): Promise<void> {
  const until = Date.now() + 300_000;
  for (;;) {
    const { rows } = await platform.db.query<{ n: string }>(
      'SELECT count(*) AS n FROM outbox_events WHERE delivered_at IS NULL',
    );
    if (Number(rows[0]!.n) === 0 || Date.now() > until) break;
    await sleep(500);
  }
  await sleep(1000);
}

/** Outbox rows as the domain appends them (appendLiveEvent's shape), one INSERT per publishing tick. */
function outboxPublisher(platform: RunningPlatform): Publish {
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
    await platform.db.query(
      `INSERT INTO outbox_events (tenant_id, topic, payload)
       SELECT t, p, d::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS e(t, p, d)`,
      [tenants, topics, payloads],
    );
  };
}

// ---- the run ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const onPglite = process.env.BENCH_DB === 'pglite';
  const fds = descriptors();
  console.log(
    `realtime bench: ${fmt(SOCKETS)} sockets in ${PROCESSES} client processes, ${SECONDS} s per step, ` +
      `${onPglite ? 'PGlite' : 'PostgreSQL'}; ${cpus().length} cores, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; open files limit ${fds.soft} (hard ${fds.hard})`,
  );
  let pg: PostgresServer | undefined;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'clutch-realtime-bench-'));
  let platform: RunningPlatform | undefined;
  const clients: Client[] = [];
  const figures: StepFigure[] = [];
  let notifications: NotificationFigure | undefined;
  const connected: { gateway?: Connected; bare?: Connected } = {};
  try {
    const env: Record<string, string> = { CLUTCH_DATA_DIR: dataDir };
    if (!onPglite) {
      pg = await startPostgresServer();
      env.DATABASE_URL = await createTestDatabase(pg.adminUrl, 'bench_realtime');
    }
    // The platform reads its signing keys from the environment; the bench signs the sockets' tokens with them.
    const jwk = newPrivateJwk();
    process.env.CLUTCH_SIGNING_KEYS = JSON.stringify({ keys: [jwk] });
    const keys = signingKeysFrom([jwk]);
    const config = loadConfig(
      [
        ...['--vehicles', '0', '--port', '0', '--mqtt-port', '0', '--mqtt-ws-port', '0'],
        ...['--require-auth', '--no-rate-limit', '--max-connections', String(SOCKETS + 1000)],
      ],
      env,
      process.cwd(),
    );
    platform = await startPlatform(config, pino({ level: process.env.LOG_LEVEL ?? 'silent' }));
    const pgDataDir = pg?.dataDir;

    const population = await seedPopulation(platform.db, keys, SOCKETS);
    // One process holds every server-side socket: it stops at its open-files limit.
    const fd = descriptors();
    const room = fd.soft - fd.open - DESCRIPTOR_RESERVE;
    if (population.sockets.length > room) {
      console.log(
        `  the serving process may open ${fmt(fd.soft)} files (hard limit ${fmt(fd.hard)}; raising it needs CAP_SYS_RESOURCE ` +
          `or a higher LimitNOFILE) and has ${fmt(fd.open)} open: ${fmt(room)} sockets leave ${DESCRIPTOR_RESERVE} for the ` +
          `database pool and files; the other ${fmt(population.sockets.length - room)} are not attempted`,
      );
      population.sockets.splice(room);
    }
    for (let i = 0; i < PROCESSES; i++) clients.push(startClient());

    if (part('bus') || part('outbox') || part('max')) {
      const gateway = await connect(clients, platform.api.url, population, 'gateway', pgDataDir);
      const after = descriptors();
      console.log(
        `  sockets connected to the gateway: ${fmt(gateway.live.size)} of ${fmt(population.sockets.length)} in ${fmt(gateway.seconds, 1)} s ` +
          `(${fmt(gateway.live.size / gateway.seconds)}/s; server CPU per socket ${cpuText(gateway.cpu)}); ` +
          `server process: ${fmt(after.open)} open files (limit ${after.soft}), ${fmt(process.memoryUsage().rss / 2 ** 20)} MiB resident`,
      );
      connected.gateway = gateway;
      for (const [reason, n] of gateway.failures) console.log(`    ${fmt(n)} failed: ${reason}`);
      const to = targets(population, gateway.live);
      if (part('bus')) {
        figures.push(await step('gateway, bus -> client', clients, to, RATE, busPublisher(platform), pgDataDir));
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
            outboxPublisher(platform),
            pgDataDir,
            () => outboxCaughtUp(platform!),
          ),
        );
        console.log(stepLine(figures.at(-1)!));
      }
      if (part('max')) {
        figures.push(
          await step('gateway, bus -> client, saturated', clients, to, MAX_RATE, busPublisher(platform), pgDataDir),
        );
        console.log(stepLine(figures.at(-1)!));
      }
      await all(clients, () => ({ kind: 'disconnect' }), 'disconnected');
      // The server's descriptors must be free again before the reference takes as many.
      const io = platform.api.io;
      const until = Date.now() + 30_000;
      while (io.engine.clientsCount > 0 && Date.now() < until) await sleep(100);
    }

    if (part('bare')) {
      const bare = await startBareServer();
      try {
        const ref = await connect(clients, bare.url, population, 'bare', pgDataDir);
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
        figures.push(await step('bare socket.io (reference)', clients, to, RATE, emit, pgDataDir));
        console.log(stepLine(figures.at(-1)!));
        if (part('max')) {
          figures.push(await step('bare socket.io, saturated', clients, to, MAX_RATE, emit, pgDataDir));
          console.log(stepLine(figures.at(-1)!));
        }
        await all(clients, () => ({ kind: 'disconnect' }), 'disconnected');
      } finally {
        await bare.close();
      }
    }

    if (part('notify')) {
      // A platform of its own (development mode: its local providers), on a fresh database.
      await platform.stop();
      platform = undefined;
      notifications = await runNotificationBench(
        pg ? await createTestDatabase(pg.adminUrl, 'bench_notify') : undefined,
        dataDir,
        pgDataDir,
      );
    }

    summary(figures, connected, notifications);
  } finally {
    for (const c of clients) c.child.kill();
    await platform?.stop().catch((err: Error) => console.error('platform stop:', err.message));
    pg?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
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
      )} ms per socket`,
    );
  console.log('  step                                delivered/s    p99 ms   CPU ms per 1,000: process  +PostgreSQL');
  for (const f of figures)
    console.log(
      `  ${f.name.padEnd(34)} ${fmt(f.deliveredPerSecond).padStart(12)} ${fmt(f.p99).padStart(9)} ${fmt(f.processMs, 1).padStart(26)} ${fmt(f.cpuMs, 1).padStart(12)}`,
    );
  const bus = find('gateway, bus -> client');
  const bare = find('bare socket.io (reference)');
  const busMax = find('gateway, bus -> client, saturated');
  const bareMax = find('bare socket.io, saturated');
  // The headline: deliveries per CPU-second of the serving process, saturated (fixed costs amortised):
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
      `  target ${fmt(RATE)} deliveries/s at p99 < 200 ms, bus -> client: ${bus.p99 < 200 && bus.delivered === bus.expected ? 'met' : 'NOT met'} (p99 ${fmt(bus.p99)} ms, ${fmt(bus.expected - bus.delivered)} missing)`,
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
