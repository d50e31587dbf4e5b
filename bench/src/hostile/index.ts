// Failure isolation under attack: a good tenant's fleet, p99 publish-to-stored, measured alone and
// then while another tenant's devices stream refused payloads (overflowing clock offsets, far-future
// times, oversize and malformed batches) as fast as the broker lets them, in the same run; then the
// platform is stopped under that load, and every batch the broker acknowledged must be stored.
// The platform is the one `npm start` builds (broker with device logins, ingest, API), on PostgreSQL
// (default) or the embedded PGlite (BENCH_DB=pglite).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { signalCatalogue } from '@clutch/contracts';
import { openDatabase, type Database } from '@clutch/db';
import { ensureDevice, loadConfig, startPlatform } from '@clutch/platform';
import { createTestDatabase, startPostgresServer } from '@clutch/test-support';
import { pino } from 'pino';
import { fmt, percentile } from '../common/stats.js';
import type { LoadJob, LoadReport, Login } from '../common/device-fleet-worker.js';

const VEHICLES = Number(process.env.BENCH_VEHICLES ?? 1000);
const EVIL_DEVICES = Number(process.env.BENCH_EVIL_DEVICES ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const GOOD = 'fleet-good';
const EVIL = 'fleet-evil';
/** 20 signals at the middle of their plausible ranges: every good batch must be stored. */
const SIGNALS: [string, number][] = signalCatalogue
  .filter((s) => s.source === 'obd')
  .slice(0, 20)
  .map((s) => [s.key, (s.min + s.max) / 2]);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function provision(db: Database, tenantId: string, count: number): Promise<Login[]> {
  const logins: Login[] = [];
  for (let i = 0; i < count; i++) {
    const { login, deviceId } = await ensureDevice(db, {
      tenantId,
      tenantName: tenantId,
      deviceId: `car-${i}`,
      vehicle: { name: `${tenantId} car ${i}` },
    });
    logins.push({ tenantId, deviceId, ...login });
  }
  return logins;
}

/** Every acknowledged batch of the good fleet, looked up in the database after the stop. */
async function missingAcknowledged(
  db: Database,
  acked: Record<string, number[]>,
): Promise<{ acked: number; missing: number }> {
  const { rows } = await db.query<{ device: string; times: string[] }>(
    `SELECT d.id AS device, array_agg(DISTINCT (extract(epoch FROM s.time) * 1000)::bigint::text) AS times
     FROM devices d JOIN samples s ON s.vehicle_id = d.vehicle_id WHERE d.tenant_id = $1 GROUP BY d.id`,
    [GOOD],
  );
  const stored = new Map(rows.map((r) => [r.device, new Set(r.times)]));
  let total = 0;
  let missing = 0;
  for (const [device, times] of Object.entries(acked)) {
    for (const t0 of times) {
      total++;
      if (!stored.get(device)?.has(String(t0))) missing++;
    }
  }
  return { acked: total, missing };
}

async function main(): Promise<void> {
  const pglite = process.env.BENCH_DB === 'pglite';
  const server = pglite || process.env.DATABASE_URL ? undefined : await startPostgresServer();
  const dataDir = pglite ? mkdtempSync(path.join(tmpdir(), 'clutch-bench-hostile-')) : undefined;
  try {
    const url = pglite
      ? undefined
      : (process.env.DATABASE_URL ?? (await createTestDatabase(server!.adminUrl, 'bench_hostile')));
    const env: Record<string, string> = {
      CLUTCH_ADMIN_TOKEN: 'bench-admin',
      ...(url ? { DATABASE_URL: url } : { CLUTCH_DATA_DIR: dataDir! }),
    };
    const config = loadConfig(
      ['--vehicles', '0', '--port', '0', '--mqtt-port', '0', '--mqtt-ws-port', '0', '--require-auth'],
      env,
      process.cwd(),
    );
    const platform = await startPlatform(config, pino({ level: process.env.LOG_LEVEL ?? 'silent' }));
    console.log(
      `${fmt(VEHICLES)} good vehicles (1 batch/s x 20 signals), ${EVIL_DEVICES} hostile devices of another tenant, ${SECONDS} s per phase, on ${pglite ? 'PGlite' : 'PostgreSQL'}`,
    );
    const good = await provision(platform.db, GOOD, VEHICLES);
    const evil = await provision(platform.db, EVIL, EVIL_DEVICES);
    const goodVehicles = new Set(
      (
        await platform.db.query<{ id: string }>('SELECT vehicle_id AS id FROM devices WHERE tenant_id = $1', [GOOD])
      ).rows.map((r) => r.id),
    );

    let latencies: number[] | undefined;
    platform.bus.subscribe((e) => {
      if (e.type === 'readings' && latencies && goodVehicles.has(e.vehicleId))
        latencies.push(Date.now() - Date.parse(e.readings[0]!.time));
    });

    const worker = new Worker(new URL('../common/device-fleet-worker.js', import.meta.url), {
      workerData: { url: platform.broker.mqttUrl, good, evil, signals: SIGNALS } satisfies LoadJob,
    });
    const reports: LoadReport[] = [];
    const waiters: ((r: LoadReport) => void)[] = [];
    worker.on('message', (r: LoadReport) => (waiters.length > 0 ? waiters.shift()!(r) : reports.push(r)));
    const next = (): Promise<LoadReport> =>
      reports.length > 0 ? Promise.resolve(reports.shift()!) : new Promise((resolve) => waiters.push(resolve));
    worker.once('error', (err) => {
      console.error(err);
      process.exit(1);
    });
    await next(); // connected
    const phase = (what: string): void => void process.stderr.write(`  ... ${what}\n`);
    phase('fleet connected; measuring the good fleet alone');

    await sleep(5000); // warm-up: caches, JIT, first partitions
    latencies = [];
    await sleep(SECONDS * 1000);
    const clean = latencies;
    const deadBefore = platform.ingest.stats().deadLetters;

    phase('hostile devices on');
    worker.postMessage('evil-on');
    await sleep(3000);
    latencies = [];
    await sleep(SECONDS * 1000);
    const attacked = latencies;
    latencies = undefined;
    const deadLetters = platform.ingest.stats().deadLetters - deadBefore;

    // Stop under load, as Ctrl-C would: bounded, and nothing acknowledged may be lost.
    phase('stopping the platform under load');
    const stopStarted = performance.now();
    await platform.stop();
    const stopMs = performance.now() - stopStarted;
    worker.postMessage('stop');
    const report = await next();
    await worker.terminate();
    if (report.type !== 'acked') throw new Error('load generator did not report');

    const db = await openDatabase({ url, dataDir });
    const check = await missingAcknowledged(db, report.perDevice);
    const evilRows = Number(
      (await db.query<{ n: string }>('SELECT count(*) AS n FROM samples WHERE tenant_id = $1', [EVIL])).rows[0]!.n,
    );
    await db.close();

    const p99Clean = percentile(clean, 99);
    const p99Attacked = percentile(attacked, 99);
    console.log(
      `  alone:          p50 ${fmt(percentile(clean, 50))} ms, p99 ${fmt(p99Clean)} ms (${fmt(clean.length)} batches)`,
    );
    console.log(
      `  under attack:   p50 ${fmt(percentile(attacked, 50))} ms, p99 ${fmt(p99Attacked)} ms (${fmt(attacked.length)} batches; ${fmt(report.evilSent)} hostile messages sent, ${fmt(report.evilAcked)} acknowledged, ${fmt(deadLetters)} dead-lettered)`,
    );
    console.log(
      `  stop under load: ${fmt(stopMs)} ms; acknowledged good batches ${fmt(check.acked)}, missing after the stop ${fmt(check.missing)}; hostile samples stored ${fmt(evilRows)}`,
    );
    if (check.missing > 0 || evilRows > 0)
      throw new Error('an acknowledged batch was lost or a hostile sample was stored');
    console.log(`hostile p99 ratio (under attack / alone): ${(p99Attacked / p99Clean).toFixed(3)}`);
  } finally {
    server?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
