// The API under load: p95 of a realistic read mix (latest values, health summaries, raw telemetry,
// the vehicle list, alerts, the catalogue) as a partner key reads it under row-level security, at
// fixed request rates, while a fleet of cars ingests (1 batch/s x 20 signals each), on PostgreSQL
// and on PGlite. The reference in the same run: a bare route (the signal catalogue: no database) at
// the same rate. The platform is the one `npm start` builds, rate limits off (they would answer 429).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { signalCatalogue } from '@clutch/contracts';
import { createApiKey } from '@clutch/identity';
import { ensureDevice, loadConfig, startPlatform, type RunningPlatform } from '@clutch/platform';
import { createTestDatabase, startPostgresServer } from '@clutch/test-support';
import { pino } from 'pino';
import { cpuBetween, cpuSnapshot, type CpuSnapshot } from '../common/cpu.js';
import type { LoadJob, Login } from '../common/device-fleet-worker.js';
import { fmt, percentile } from '../common/stats.js';
import type { HttpLoadJob, HttpLoadReport } from './http-load-worker.js';

const CARS = Number(process.env.BENCH_VEHICLES ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
/** BENCH_RATES=500,1000 replaces each database's default rates (PostgreSQL 250/500/1,000, PGlite 250/500). */
const RATES = process.env.BENCH_RATES?.split(',').map(Number);
const TENANT = 'api-bench';
const SIGNALS: [string, number][] = signalCatalogue
  .filter((s) => s.source === 'obd')
  .slice(0, 20)
  .map((s) => [s.key, (s.min + s.max) / 2]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The routes of the mix with their weights: mostly live values and health, some history. */
const ROUTES: [weight: number, name: string, path: (vehicleId: string) => string][] = [
  [35, 'latest', (v) => `/api/vehicles/${v}/latest`],
  [20, 'health', (v) => `/api/vehicles/${v}/health`],
  [20, 'telemetry', (v) => `/api/vehicles/${v}/telemetry?signal=engine.rpm`],
  [10, 'alerts', (v) => `/api/vehicles/${v}/alerts`],
  [10, 'vehicles', () => '/api/vehicles?limit=50'],
  [5, 'signals', () => '/api/signals'],
];

/** The read mix of an owner's and a partner's apps over 200 of the cars; `only` keeps one route. */
function readMix(vehicleIds: string[], only?: string): [number, string][] {
  const mix: [number, string][] = [];
  for (let i = 0; i < 200; i++) {
    const v = vehicleIds[(i * 7919) % vehicleIds.length]!;
    for (const [weight, name, path] of ROUTES) if (only === undefined || only === name) mix.push([weight, path(v)]);
  }
  return mix;
}

/** GETs every path once, 10 at a time. */
async function warm(url: string, token: string, paths: string[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const res = await fetch(url + paths[next++]!, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
}

async function load(job: HttpLoadJob): Promise<HttpLoadReport> {
  const worker = new Worker(new URL('./http-load-worker.js', import.meta.url), { workerData: job });
  try {
    return await new Promise<HttpLoadReport>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

function line(label: string, r: HttpLoadReport): string {
  const errors = Object.entries(r.statuses)
    .filter(([s]) => !s.startsWith('2'))
    .map(([s, n]) => `${n} x ${s}`)
    .join(', ');
  return `${label}: ${fmt(r.requestsPerSecond)} req/s, p50 ${fmt(percentile(r.latencies, 50), 1)} ms, p95 ${fmt(percentile(r.latencies, 95), 1)} ms, p99 ${fmt(percentile(r.latencies, 99), 1)} ms${errors ? `; non-2xx: ${errors}` : ''}`;
}

/** Settings of the platform a run may override from the environment, to compare (e.g. CLUTCH_LATEST_CACHE_MS=0: no cache). */
const PASSED_THROUGH = ['CLUTCH_LATEST_CACHE_MS', 'CLUTCH_API_DB_POOL', 'DATABASE_POOL_SIZE'] as const;

/**
 * CPU the platform (main thread) and PostgreSQL spent per 1,000 requests between two snapshots,
 * beyond what ingest alone spends in that time (`idle`: parts' cores measured without HTTP load).
 * Latencies depend on what else runs on the machine; CPU per request much less.
 */
function cpuLine(before: CpuSnapshot, after: CpuSnapshot, requests: number, idle: Map<string, number>): string {
  const report = cpuBetween(before, after, 1);
  const parts = report.perThousand
    .filter((p) => p.part === 'main thread' || p.part === 'PostgreSQL')
    .map((p) => {
      const extra = Math.max(0, p.ms / 1000 - (idle.get(p.part) ?? 0) * report.wallSeconds * 1000);
      return `${p.part} ${fmt((extra * 1000) / Math.max(1, requests), 0)} ms`;
    });
  return `CPU per 1,000 requests beyond ingest's own: ${parts.join(', ')}`;
}

async function run(
  label: string,
  env: Record<string, string>,
  rates: number[],
  postgresDataDir?: string,
): Promise<number[]> {
  const passed = Object.fromEntries(
    PASSED_THROUGH.flatMap((name) => (process.env[name] ? [[name, process.env[name]!]] : [])),
  );
  const config = loadConfig(
    ['--vehicles', '0', '--port', '0', '--mqtt-port', '0', '--mqtt-ws-port', '0', '--require-auth', '--no-rate-limit'],
    { CLUTCH_ADMIN_TOKEN: 'bench-admin', ...passed, ...env },
    process.cwd(),
  );
  const platform: RunningPlatform = await startPlatform(config, pino({ level: process.env.LOG_LEVEL ?? 'silent' }));
  const results: number[] = [];
  try {
    const logins: Login[] = [];
    for (let i = 0; i < CARS; i++) {
      const { login, deviceId } = await ensureDevice(platform.db, {
        tenantId: TENANT,
        tenantName: TENANT,
        deviceId: `car-${i}`,
        vehicle: { name: `Car ${i}` },
      });
      logins.push({ tenantId: TENANT, deviceId, ...login });
    }
    const vehicleIds = (
      await platform.db.query<{ id: string }>('SELECT vehicle_id AS id FROM devices WHERE tenant_id = $1', [TENANT])
    ).rows.map((r) => r.id);
    const key = await createApiKey(platform.db, {
      tenantId: TENANT,
      name: 'bench',
      scopes: ['telemetry:read', 'status:read', 'dtc:read', 'location:read'],
    });
    const fleet = new Worker(new URL('../common/device-fleet-worker.js', import.meta.url), {
      workerData: { url: platform.broker.mqttUrl, good: logins, evil: [], signals: SIGNALS } satisfies LoadJob,
    });
    await new Promise<void>((resolve, reject) => {
      fleet.once('message', () => resolve());
      fleet.once('error', reject);
    });
    await sleep(10_000); // every car has stored readings; caches and JIT warm
    // What ingest alone costs per second, to tell the requests' share of the CPU below.
    const idleBefore = cpuSnapshot(postgresDataDir);
    await sleep(5000);
    const idleCores = new Map(
      cpuBetween(idleBefore, cpuSnapshot(postgresDataDir), 1).cores.map((c) => [c.part, c.cores] as const),
    );
    const settings = Object.entries(passed).map(([k, v]) => `${k}=${v}`);
    console.log(
      `${label} (${fmt(CARS)} cars ingesting, ${SECONDS} s per rate, 50 connections${settings.length ? `; ${settings.join(' ')}` : ''})`,
    );
    console.log(
      `  ingest alone: main thread ${(idleCores.get('main thread') ?? 0).toFixed(2)} cores, PostgreSQL ${(idleCores.get('PostgreSQL') ?? 0).toFixed(2)} cores`,
    );
    const mix = readMix(vehicleIds);
    // Each path of the mix read once before measuring, as a running service's clients would have:
    // the API's per-vehicle caches (latest values, partners' own vehicles) fill on a vehicle's first
    // read, and a short run would otherwise time the fills of every vehicle at once.
    await warm(platform.api.url, key.token, [...new Set(mix.map(([, p]) => p))]);
    const indent = (rate: number): string => ' '.repeat(fmt(rate).length + 10);
    for (const rate of rates) {
      const common = { url: platform.api.url, token: key.token, rate, seconds: SECONDS, connections: 50 };
      const bare = await load({ ...common, mix: [[1, '/api/signals']] });
      const before = cpuSnapshot(postgresDataDir);
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const ours = await load({ ...common, mix });
      loop.disable();
      // Each database round trip of a request waits for a turn of the platform's event loop (ingest shares it).
      const lag = `event loop delay p99 ${fmt(loop.percentile(99) / 1e6, 0)} ms`;
      const cpu = `${cpuLine(before, cpuSnapshot(postgresDataDir), ours.latencies.length, idleCores)}; ${lag}`;
      const p95 = percentile(ours.latencies, 95);
      console.log(`  ${fmt(rate)} req/s  ${line('mix', ours)}`);
      console.log(`${indent(rate)}${cpu}`);
      console.log(
        `${indent(rate)}${line('bare route', bare)}; p95 ratio mix/bare ${(p95 / percentile(bare.latencies, 95)).toFixed(2)}`,
      );
      results.push(p95);
    }
    // BENCH_PER_ROUTE=<rate>: each route of the mix alone at that rate, to see which one limits.
    const perRoute = Number(process.env.BENCH_PER_ROUTE ?? 0);
    for (const [, name] of perRoute > 0 ? ROUTES : []) {
      const before = cpuSnapshot(postgresDataDir);
      const alone = await load({
        url: platform.api.url,
        token: key.token,
        rate: perRoute,
        seconds: SECONDS,
        connections: 50,
        mix: readMix(vehicleIds, name),
      });
      const cpu = cpuLine(before, cpuSnapshot(postgresDataDir), alone.latencies.length, idleCores);
      console.log(`  ${line(`${name} alone at ${fmt(perRoute)} req/s`, alone)}; ${cpu}`);
    }
    fleet.postMessage('stop');
    await sleep(200);
    await fleet.terminate();
  } finally {
    await platform.stop();
  }
  return results;
}

async function main(): Promise<void> {
  const only = process.env.BENCH_DB;
  const server = only === 'pglite' || process.env.DATABASE_URL ? undefined : await startPostgresServer();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'clutch-bench-api-'));
  try {
    let pg: number[] = [];
    let lite: number[] = [];
    if (only !== 'pglite') {
      const url = process.env.DATABASE_URL ?? (await createTestDatabase(server!.adminUrl, 'bench_api'));
      pg = await run('PostgreSQL', { DATABASE_URL: url }, RATES ?? [250, 500, 1000], server?.dataDir);
    }
    if (only !== 'postgres') lite = await run('PGlite', { CLUTCH_DATA_DIR: dataDir }, RATES ?? [250, 500]);
    const summary = [
      pg.length ? `PostgreSQL p95 at 1,000 req/s ${fmt(pg.at(-1)!, 1)} ms` : '',
      lite.length ? `PGlite p95 at 500 req/s ${fmt(lite.at(-1)!, 1)} ms` : '',
    ]
      .filter(Boolean)
      .join('; ');
    console.log(`api: ${summary} (target < 200 ms)`);
  } finally {
    server?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
