// Ingest throughput: end-to-end committed rows/s (MQTT publish -> broker -> ingest -> database)
// over raw COPY rows/s into the same database in the same run, on PostgreSQL and on PGlite; then the
// largest simulated fleet (1 batch/s x 20 signals per vehicle) kept under 1 s p99 publish-to-stored.
import { DEFAULT_LIMITS, developmentPolicy, startBroker, type RunningBroker } from '@clutch/broker';
import { createInProcessBus, signalCatalogue, type LiveEventBus, type TelemetryBatch } from '@clutch/contracts';
import { migrate, openPglite, openPostgres, syncSignals, type Database } from '@clutch/db';
import {
  aedesSource,
  handoffSource,
  SAMPLE_COPY_COLUMNS,
  startIngest,
  startThreadedScoring,
  type RunningIngest,
} from '@clutch/ingest';
import { createTestDatabase, startPostgresServer } from '@clutch/test-support';
import { CAROBD_COLUMNS, carObdDir, createOnlineScorer, listDriveFiles, parseCarObdCsv } from '@clutch/ml';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { cpuBetween, cpuSnapshot, taskIds, type CpuReport } from '../common/cpu.js';
import { fmt, percentile, waitFor } from '../common/stats.js';
import type { FleetReport } from './fleet-worker.js';

const SIGNALS = signalCatalogue.filter((s) => s.source === 'obd').slice(0, 20);
// A million rows: long enough (about 3 s) that start-up and scheduling noise do not decide the ratio.
const TOTAL_ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const SAMPLES_PER_BATCH = 400; // 20 signals x 20 readings: a device's store-and-forward batch
const INGEST_CONCURRENCY = 4; // transactions in flight in ingest's default queue (memory-queue.ts)
/**
 * Real-time scoring (the ML health checks) on, as `npm start` runs it: its own consumer of the
 * committed readings, on a thread of its own in the ingest process (ingest/src/scoring/threaded.ts);
 * BENCH_SCORER=inline scores on ingest's event loop (consumer.ts alone), BENCH_SCORER=0 not at all.
 */
const SCORER = process.env.BENCH_SCORER === '0' ? 'off' : process.env.BENCH_SCORER === 'inline' ? 'inline' : 'thread';
const SCORING_LABEL = {
  thread: 'with real-time scoring',
  inline: "with real-time scoring on ingest's event loop (BENCH_SCORER=inline)",
  off: 'scoring off (BENCH_SCORER=0)',
}[SCORER];

interface Platform {
  db: Database;
  bus: LiveEventBus;
  broker: RunningBroker;
  ingest: RunningIngest;
  /** The platform's own threads besides the main one, by kernel task id (the scoring thread). */
  threads: Map<number, string>;
  close(): Promise<void>;
}

async function prepare(db: Database, vehicles: number): Promise<string[]> {
  await migrate(db);
  await syncSignals(db, signalCatalogue);
  await db.query(`INSERT INTO tenants (id, name) VALUES ('bench', 'Bench') ON CONFLICT DO NOTHING`);
  const devices: string[] = [];
  for (let i = 0; i < vehicles; i++) {
    const id = `car-${i}`;
    const v = await db.query<{ id: string }>(
      `INSERT INTO vehicles (tenant_id, name) VALUES ('bench', $1) RETURNING id`,
      [id],
    );
    devices.push(id);
    await db.query(`INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ('bench', $1, $2) ON CONFLICT DO NOTHING`, [
      id,
      v.rows[0]!.id,
    ]);
  }
  return devices;
}

async function startPlatform(db: Database): Promise<Platform> {
  const bus = createInProcessBus();
  // As the platform wires it: the broker acknowledges a batch only once ingest committed it.
  // BENCH_ACK=subscription measures the old wiring (PUBACK first, ingest subscribed), to price the hand-off.
  const handoff = process.env.BENCH_ACK === 'subscription' ? undefined : handoffSource();
  const broker = await startBroker({
    mqttPort: 0,
    ...(handoff ? { durableHandoff: handoff } : {}),
    policy: developmentPolicy({ ...DEFAULT_LIMITS, publishRatePerSecond: 1e6, publishBurst: 1e6 }),
  });
  // As npm start runs it: scoring on a thread of its own (BENCH_SCORER=inline: on ingest's event loop).
  const tasks = taskIds();
  const scoring = SCORER === 'thread' ? await startThreadedScoring({ db }) : undefined;
  const threads = new Map([...taskIds()].filter((t) => !tasks.has(t)).map((t) => [t, 'scoring thread'] as const));
  const ingest = await startIngest({
    db,
    bus,
    source: handoff ?? aedesSource(broker.aedes),
    ...(scoring ? { scoring } : {}),
    ...(SCORER === 'inline' ? { scorer: { scorer: createOnlineScorer(), modelVersion: 'health-checks' } } : {}),
  });
  return {
    db,
    bus,
    broker,
    ingest,
    threads,
    async close() {
      await ingest.stop();
      await scoring?.close();
      await broker.close();
    },
  };
}

async function countSamples(db: Database): Promise<number> {
  const { rows } = await db.query<{ n: string | number }>('SELECT count(*) AS n FROM samples');
  return Number(rows[0]!.n);
}

function batch(seq: number, t0: number, samplesPerBatch: number): TelemetryBatch {
  const samples: TelemetryBatch['samples'] = [];
  const perSignal = samplesPerBatch / SIGNALS.length;
  for (let k = 0; k < perSignal; k++) {
    for (const s of SIGNALS) samples.push([k * 50, s.key, s.min + ((seq + k) % 100) * ((s.max - s.min) / 1000)]);
  }
  return { v: 1, seq, t0, samples };
}

/** Our path: publishers (another thread, like devices on other machines) -> broker -> ingest -> committed rows. */
async function endToEnd(db: Database, devices: string[], totalRows: number, postgresDataDir?: string): Promise<number> {
  const platform = await startPlatform(db);
  const batchesPerDevice = Math.ceil(totalRows / SAMPLES_PER_BATCH / devices.length);
  const base = Date.now() - 3_600_000;
  // Payloads are built before the clock starts: we measure the platform, not the generator.
  const payloads = devices.map((_, d) =>
    Array.from({ length: batchesPerDevice }, (_, i) =>
      JSON.stringify(batch(i, base + i * 1000 + d, SAMPLES_PER_BATCH)),
    ),
  );
  const total = batchesPerDevice * devices.length * SAMPLES_PER_BATCH;
  const expected = (await countSamples(db)) + total;
  const worker = new Worker(new URL('./fleet-worker.js', import.meta.url), {
    workerData: { mode: 'batches', url: platform.broker.mqttUrl, devices, payloads },
  });
  const message = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  const { tid } = (await message()) as { tid: number | null }; // connected
  const cpuBefore = cpuSnapshot(postgresDataDir);
  const started = performance.now();
  worker.postMessage('go');
  await waitFor(async () => platform.ingest.stats().samplesStored >= total, 600_000, 10);
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuBetween(
    cpuBefore,
    cpuSnapshot(postgresDataDir),
    total / 1000,
    new Map([...platform.threads, ...(tid ? [[tid, 'publishers (device thread)'] as const] : [])]),
  );
  await worker.terminate();
  printCpu(cpu, 'end-to-end ingest, CPU per million rows');
  if ((await countSamples(db)) !== expected) throw new Error('row count does not match what was published');
  await platform.close();
  return total / elapsed;
}

/**
 * Reference: the same rows straight into a same-shape table with the database's bulk path, on as many
 * connections at once as ingest uses (four transactions in flight; PGlite has one connection).
 */
async function rawCopy(
  db: Database,
  vehicleIds: string[],
  totalRows: number,
  postgresDataDir?: string,
): Promise<number> {
  await db.exec(`DROP TABLE IF EXISTS copy_reference; CREATE TABLE copy_reference (LIKE samples INCLUDING ALL)`);
  const base = Date.now() - 7_200_000;
  const rows: unknown[][] = [];
  for (let i = 0; i < totalRows; i++) {
    const s = SIGNALS[i % SIGNALS.length]!;
    rows.push([
      new Date(base + Math.floor(i / SIGNALS.length) * 50),
      'bench',
      vehicleIds[i % vehicleIds.length],
      s.id,
      s.min + (i % 100),
    ]);
  }
  const cpuBefore = cpuSnapshot(postgresDataDir);
  const started = performance.now();
  // COPY FROM STDIN on PostgreSQL; COPY FROM '/dev/blob' on PGlite.
  const streams = db.kind === 'postgres' ? INGEST_CONCURRENCY : 1;
  const share = Math.ceil(rows.length / streams);
  await Promise.all(
    Array.from({ length: streams }, (_, i) =>
      db.copyRows!('copy_reference', SAMPLE_COPY_COLUMNS, rows.slice(i * share, (i + 1) * share)),
    ),
  );
  const elapsed = (performance.now() - started) / 1000;
  printCpu(cpuBetween(cpuBefore, cpuSnapshot(postgresDataDir), totalRows / 1000), 'raw COPY, CPU per million rows');
  const n = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM copy_reference')).rows[0]!.n);
  if (n !== totalRows) throw new Error(`reference COPY stored ${n} of ${totalRows} rows`);
  return totalRows / elapsed;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * What the simulated cars send: the 20 signals' readings from the real carOBD drives (read in place
 * from ../shared/datasets, never copied), one reading cycle per second (the files hold about two
 * rows a second), as rows of SIGNALS.length values, NaN where the drive had no value. Values the
 * catalogue would refuse are left out, so every batch is stored.
 */
async function realReadings(): Promise<Float64Array> {
  const dir = carObdDir(repoRoot);
  const columns = SIGNALS.map((s) => CAROBD_COLUMNS.indexOf(s.key as (typeof CAROBD_COLUMNS)[number]));
  if (columns.some((c) => c < 0)) throw new Error('a fleet signal is not a carOBD column');
  const cycles: number[] = [];
  for (const file of await listDriveFiles(dir)) {
    const { rows } = parseCarObdCsv(await readFile(path.join(dir, file), 'utf8'));
    for (let i = 0; i < rows.length; i += 2) {
      const cycle = columns.map((c, k) => {
        const value = rows[i]![c] ?? Number.NaN;
        return Number.isFinite(value) && value >= SIGNALS[k]!.min && value <= SIGNALS[k]!.max ? value : Number.NaN;
      });
      if (cycle.some((v) => !Number.isNaN(v))) cycles.push(...cycle); // a batch needs one sample at least
    }
  }
  if (cycles.length === 0) throw new Error(`no carOBD drives in ${dir}`);
  return Float64Array.from(cycles);
}

/** Fleet sizes tried, smallest first (BENCH_FLEET): the target is 10,000; 12,000 shows the margin. */
const fleetSizes = (): number[] =>
  (process.env.BENCH_FLEET ?? '2000,5000,8000,10000,12000')
    .split(',')
    .map(Number)
    .sort((a, b) => a - b);

/**
 * Where the database's time goes, when the server preloads pg_stat_statements (the bench's own
 * server does not; a server given by DATABASE_URL may): the statements that took most, per 1,000
 * units of work. Returns a reset function to call before the measured window.
 */
async function statementReport(db: Database): Promise<{ reset(): Promise<void>; print(units: number): Promise<void> }> {
  const preloaded = await db
    .query<{ v: string }>(`SELECT current_setting('shared_preload_libraries') AS v`)
    .then((r) => r.rows[0]!.v.includes('pg_stat_statements'))
    .catch(() => false);
  if (!preloaded || db.kind !== 'postgres') return { reset: async () => {}, print: async () => {} };
  await db.exec('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  return {
    reset: async () => void (await db.query('SELECT pg_stat_statements_reset()')),
    async print(units) {
      const { rows } = await db.query<{ ms: number; calls: string; query: string }>(
        `SELECT total_exec_time AS ms, calls, regexp_replace(query, '[[:space:]]+', ' ', 'g') AS query
           FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          ORDER BY total_exec_time DESC LIMIT 8`,
      );
      console.log('    database time by statement (pg_stat_statements), per 1,000 batches:');
      for (const r of rows)
        console.log(
          `      ${fmt((r.ms * 1000) / units, 1)} ms, ${fmt((Number(r.calls) * 1000) / units, 1)} calls: ${r.query.slice(0, 110)}`,
        );
    },
  };
}

/** Transactions committed in this database so far (the statistics collector's count). */
async function commits(db: Database): Promise<number> {
  await db.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await db.query<{ n: string }>(
    'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(rows[0]!.n);
}

/**
 * Runs of each fleet size (BENCH_FLEET_RUNS, default 3): a size is held only when every run's p99
 * stays under 1 s, so one lucky run does not make the figure.
 */
const fleetRuns = (): number => Math.max(1, Number(process.env.BENCH_FLEET_RUNS ?? 3));

/** MQTT connections the fleet shares (BENCH_FLEET_CONNECTIONS); default one per 25 cars. */
const fleetConnections = (): number | undefined =>
  process.env.BENCH_FLEET_CONNECTIONS ? Number(process.env.BENCH_FLEET_CONNECTIONS) : undefined;

function printCpu(report: CpuReport, title = 'CPU per 1,000 batches'): void {
  const total = report.perThousand.reduce((sum, p) => sum + p.ms, 0);
  const totalCores = report.cores.reduce((sum, p) => sum + p.cores, 0);
  const digits = total < 100 ? 2 : 0;
  console.log(
    `    ${title}: ${fmt(total, digits)} ms in all (${fmt(totalCores, 2)} cores over ${fmt(report.wallSeconds, 1)} s)`,
  );
  for (const [i, p] of report.perThousand.entries())
    if (p.ms >= total / 100)
      console.log(`      ${p.part}: ${fmt(p.ms, digits)} ms (${fmt(report.cores[i]!.cores, 2)} cores)`);
}

/**
 * Largest fleet at 1 batch/s x 20 signals whose p99 publish-to-stored stays under 1 s. With the
 * PostgreSQL server's data directory, its CPU per batch is reported beside the process's.
 */
async function fleetCapacity(
  db: Database,
  devices: string[],
  postgresDataDir?: string,
): Promise<{ vehicles: number; p99s: number[] }[]> {
  const readings = await realReadings();
  const platform = await startPlatform(db);
  const results: { vehicles: number; p99s: number[] }[] = [];
  const latencies: number[] = [];
  // By the second the batch was stored: shows whether a p99 comes from start-up or from the steady state.
  const perSecond = new Map<number, number[]>();
  platform.bus.subscribe((e) => {
    if (e.type !== 'readings') return;
    const latency = Date.now() - new Date(e.readings[0]!.time).getTime();
    latencies.push(latency);
    const second = Math.floor(Date.now() / 1000);
    const bucket = perSecond.get(second);
    if (bucket) bucket.push(latency);
    else perSecond.set(second, [latency]);
  });
  let seq = 1_000_000;
  const sizes = fleetSizes();
  const statements = await statementReport(db);
  const runs = fleetRuns();
  for (const vehicles of sizes.filter((v) => v <= devices.length)) {
    const p99s: number[] = [];
    for (let run = 1; run <= runs; run++) {
      latencies.length = 0;
      const deadBefore = platform.ingest.stats().deadLetters;
      // Long enough for the rollup refresh (minutes older than 70 s) to run inside the measured window.
      const rounds = Number(process.env.BENCH_FLEET_SECONDS ?? 90);
      // The fleet runs on its own thread: a few connections carry many vehicles each (one MQTT client
      // per car would measure the load generator on these 2 cores, not the platform). Vehicles publish
      // at evenly spread phases of each second (fleet-worker.ts).
      const worker = new Worker(new URL('./fleet-worker.js', import.meta.url), {
        workerData: {
          mode: 'fleet',
          url: platform.broker.mqttUrl,
          devices: devices.slice(0, vehicles),
          signals: SIGNALS.map((s) => s.key),
          readings,
          rounds,
          seqStart: seq,
          connections: fleetConnections(),
        },
      });
      // Where a backlog forms tells which stage limits: the ingest queue (database side) or before it.
      let deepest = 0;
      // How far scoring (its own consumer, after the acknowledgement) trails the commits.
      let scoringLag = 0;
      const scoringBefore = platform.ingest.stats().scoring;
      const sampler = setInterval(() => {
        const stats = platform.ingest.stats();
        deepest = Math.max(deepest, stats.queueDepth);
        scoringLag = Math.max(scoringLag, stats.scoring?.lagMs ?? 0);
      }, 50);
      // CPU is counted from the first publish until the last batch is stored: per batch, it holds on a
      // machine shared with other work, where the latencies do not.
      await statements.reset();
      let cpuBefore = cpuSnapshot(postgresDataDir);
      let commitsBefore = await commits(db);
      const threadNames = new Map<number, string>(platform.threads);
      await new Promise<void>((resolve, reject) => {
        worker.on('message', (m: FleetReport) => {
          if (m.type === 'done') return resolve();
          if (m.tid !== null) threadNames.set(m.tid, 'load generator (fleet thread)');
          cpuBefore = cpuSnapshot(postgresDataDir);
          void commits(db).then((n) => (commitsBefore = n));
        });
        worker.once('error', reject);
      });
      clearInterval(sampler);
      seq += rounds;
      await waitFor(async () => platform.ingest.stats().queueDepth === 0, 60_000);
      // Scoring's CPU counts too: until it has caught up with the last commit.
      await waitFor(async () => (platform.ingest.stats().scoring?.pendingRows ?? 0) === 0, 60_000);
      const cpu = cpuBetween(cpuBefore, cpuSnapshot(postgresDataDir), latencies.length, threadNames);
      await worker.terminate();
      // A generator that sends implausible values measures the dead-letter path, not ingest.
      const dead = platform.ingest.stats().deadLetters - deadBefore;
      if (dead > 0) throw new Error(`the fleet's batches were dead-lettered (${dead}): fix the generator`);
      const p99 = percentile(latencies, 99);
      const secondP99s = [...perSecond.values()].map((l) => percentile(l, 99));
      perSecond.clear();
      p99s.push(p99);
      console.log(
        `  fleet ${fmt(vehicles)} vehicles x 20 signals/s${runs > 1 ? ` (run ${run} of ${runs})` : ''}: p50 ${fmt(percentile(latencies, 50))} ms, p99 publish-to-stored ${fmt(p99)} ms (${latencies.length} batches; worst second's p99 ${fmt(Math.max(...secondP99s))} ms, in the first 10 s ${fmt(Math.max(...secondP99s.slice(0, 10)))} ms; deepest ingest queue ${fmt(deepest)} messages)`,
      );
      printCpu(cpu);
      // Few messages per transaction cost more per message, in the process and in the database.
      const transactions = (await commits(db)) - commitsBefore;
      console.log(
        `    database transactions: ${fmt(transactions)} (${fmt(latencies.length / Math.max(1, transactions), 1)} batches each)`,
      );
      await statements.print(latencies.length);
      const scoring = platform.ingest.stats().scoring;
      if (scoring) {
        const after = scoring;
        console.log(
          `    scoring (own consumer): ${fmt(after.scoredRows - (scoringBefore?.scoredRows ?? 0))} readings scored, worst lag behind the commits ${fmt(scoringLag)} ms, ${fmt(after.alerts - (scoringBefore?.alerts ?? 0))} alerts stored, ${fmt(after.droppedRows - (scoringBefore?.droppedRows ?? 0))} readings not scored`,
        );
      }
      if (p99 > 1000) break;
    }
    results.push({ vehicles, p99s });
    if (p99s.length > 1)
      console.log(
        `  fleet ${fmt(vehicles)}: p99 min ${fmt(Math.min(...p99s))} ms, max ${fmt(Math.max(...p99s))} ms over ${p99s.length} runs`,
      );
    if (p99s.length < runs || Math.max(...p99s) > 1000) break;
  }
  await platform.close();
  return results;
}

async function main(): Promise<void> {
  const server = process.env.DATABASE_URL ? undefined : await startPostgresServer();
  try {
    const url = process.env.DATABASE_URL ?? (await createTestDatabase(server!.adminUrl, 'bench_ingest'));
    const pgDb = await openPostgres(url);
    const devices = await prepare(pgDb, Math.max(...fleetSizes()));
    const vehicleIds = (await pgDb.query<{ id: string }>('SELECT vehicle_id AS id FROM devices LIMIT 100')).rows.map(
      (r) => r.id,
    );

    // BENCH_ONLY=fleet skips the throughput runs (the fleet search alone takes several minutes);
    // BENCH_ONLY=throughput skips the fleet search.
    const fleetOnly = process.env.BENCH_ONLY === 'fleet';
    const throughputOnly = process.env.BENCH_ONLY === 'throughput';
    let ratio = Number.NaN;
    if (!fleetOnly) {
      console.log(
        `PostgreSQL (${fmt(TOTAL_ROWS)} rows, ${SAMPLES_PER_BATCH}-sample batches from 50 devices; ${SCORING_LABEL})`,
      );
      const copyPg = await rawCopy(pgDb, vehicleIds, TOTAL_ROWS, server?.dataDir);
      const oursPg = await endToEnd(pgDb, devices.slice(0, 50), TOTAL_ROWS, server?.dataDir);
      ratio = oursPg / copyPg;
      console.log(
        `  raw COPY: ${fmt(copyPg)} rows/s; end-to-end ingest: ${fmt(oursPg)} rows/s; ratio ${fmt(ratio, 3)}`,
      );
    }

    if (!throughputOnly) {
      const fleet = await fleetCapacity(pgDb, devices, server?.dataDir);
      const runs = fleetRuns();
      const held = fleet.filter((f) => f.p99s.length === runs && Math.max(...f.p99s) < 1000).at(-1);
      console.log(
        `  largest fleet with p99 < 1 s in all ${runs} run(s): ${fmt(held?.vehicles ?? 0)} vehicles${held ? ` (p99 ${held.p99s.map((p) => fmt(p)).join(' / ')} ms)` : ''} (${SCORING_LABEL})`,
      );
    }
    await pgDb.close();
    if (fleetOnly) return;

    const lite = await openPglite();
    const liteDevices = await prepare(lite, 50);
    const liteIds = (await lite.query<{ id: string }>('SELECT vehicle_id AS id FROM devices')).rows.map((r) => r.id);
    const liteRows = Math.min(TOTAL_ROWS, 100_000);
    console.log(`PGlite (${fmt(liteRows)} rows)`);
    const copyLite = await rawCopy(lite, liteIds, liteRows);
    const oursLite = await endToEnd(lite, liteDevices, liteRows);
    console.log(
      `  raw bulk load: ${fmt(copyLite)} rows/s; end-to-end ingest: ${fmt(oursLite)} rows/s; ratio ${fmt(oursLite / copyLite, 3)}`,
    );
    await lite.close();

    console.log(`ingest ratio: ${ratio.toFixed(3)}`);
  } finally {
    server?.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
