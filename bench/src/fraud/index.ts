// Fraud scoring evaluation (issue 16 item 7, docs/fraud.md "Evaluation"): a labelled population
// (thousands of users with weeks of ordinary bookings, payments and transfers, several devices and
// home countries) with injected fraud (card testing, account takeover, one card across many
// accounts, amount spikes, velocity abuse), scored attempt by attempt through the real inline check
// (assess: features in one query, insert, automatic blocks) in time order, twice on fresh databases:
// the full scorer and the rules-only baseline (same rules and thresholds, no anomaly score).
// Prints precision, recall and F1 per scenario and overall for both, and the inline latency of
// assessRisk (one tenant transaction per attempt, as payments call it) on PostgreSQL and PGlite.
//
// `npm run bench -- fraud`; BENCH_FRAUD_USERS (default 3000), BENCH_FRAUD_DAYS (42), BENCH_FRAUD_SEED
// (the generator's seed; the weights were tuned on other seeds), BENCH_DB=pglite|postgres for one
// engine (the precision/recall run uses PostgreSQL when present, else PGlite), BENCH_FRAUD_LATENCY
// (attempts timed on the second engine, default 3000).
import {
  assess,
  DEFAULT_FRAUD_CONFIG,
  evaluateFraud,
  FRAUD_SCENARIOS,
  generateFraudPopulation,
  RULES_ONLY_CONFIG,
  type FraudConfig,
  type FraudMetrics,
  type LabelledAttempt,
} from '@clutch/api';
import { migrate, openPglite, openPostgres, type Database } from '@clutch/db';
import { createTestDatabase, startPostgresServer } from '@clutch/test-support';
import { fmt, percentile } from '../common/stats.js';

const USERS = Number(process.env.BENCH_FRAUD_USERS ?? 3000);
const DAYS = Number(process.env.BENCH_FRAUD_DAYS ?? 42);
const SEED = Number(process.env.BENCH_FRAUD_SEED ?? 16_007);
const LATENCY_ATTEMPTS = Number(process.env.BENCH_FRAUD_LATENCY ?? 3000);

interface RunResult {
  metrics: FraudMetrics[];
  falsePositiveRate: number;
  latencies: number[];
  empty: number[];
}

/** Every attempt in time order through the inline check, each in its own tenant transaction. */
async function score(db: Database, attempts: readonly LabelledAttempt[], config: FraudConfig): Promise<RunResult> {
  const outcomes = [];
  const latencies: number[] = [];
  for (const attempt of attempts) {
    const started = performance.now();
    const r = await db.withTenant(attempt.input.tenantId, (q) => assess(q, attempt.input, { config }));
    latencies.push(performance.now() - started);
    outcomes.push({ attempt, decision: r.decision });
  }
  return { ...evaluateFraud(outcomes), latencies, empty: await emptyTransactions(db, Math.min(attempts.length, 2000)) };
}

const pct = (x: number): string => `${fmt(100 * x, 1)}%`;

function printMetrics(name: string, result: RunResult): void {
  console.log(`\n  ${name}: false-positive rate on ordinary attempts ${pct(result.falsePositiveRate)}`);
  console.log('  scenario           attempts  flagged  blocked  precision  recall     F1  incidents caught');
  for (const m of result.metrics)
    console.log(
      `  ${m.scenario.padEnd(18)} ${fmt(m.attempts).padStart(8)} ${fmt(m.flagged).padStart(8)} ${fmt(m.blocked).padStart(8)}` +
        ` ${fmt(m.precision, 3).padStart(10)} ${fmt(m.recall, 3).padStart(7)} ${fmt(m.f1, 3).padStart(6)}` +
        `  ${m.incidentsCaught}/${m.incidents}`,
    );
}

/** The same number of empty tenant transactions: what the machine costs before the check does anything. */
async function emptyTransactions(db: Database, n: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await db.withTenant('consumers', (q) => q.query('SELECT 1'));
    latencies.push(performance.now() - started);
  }
  return latencies;
}

function printLatency(engine: string, latencies: readonly number[], empty?: readonly number[]): void {
  if (empty)
    console.log(
      `  ${engine}: reference, an empty tenant transaction (SELECT 1), ${fmt(empty.length)} times: ` +
        `p50 ${fmt(percentile(empty, 50), 2)} ms, p99 ${fmt(percentile(empty, 99), 2)} ms`,
    );
  console.log(
    `  ${engine}: assessRisk inline (tenant transaction + features query + insert) over ${fmt(latencies.length)} attempts: ` +
      `p50 ${fmt(percentile(latencies, 50), 2)} ms, p99 ${fmt(percentile(latencies, 99), 2)} ms, ` +
      `max ${fmt(Math.max(...latencies), 1)} ms (target p99 < 10 ms)`,
  );
}

async function withEngine<T>(
  engine: 'PGlite' | 'PostgreSQL',
  name: string,
  fn: (db: Database) => Promise<T>,
): Promise<T> {
  if (engine === 'PGlite') {
    const db = await openPglite();
    try {
      await migrate(db);
      return await fn(db);
    } finally {
      await db.close();
    }
  }
  const server = await startPostgresServer();
  try {
    const db = await openPostgres(await createTestDatabase(server.adminUrl, name));
    try {
      await migrate(db);
      return await fn(db);
    } finally {
      await db.close();
    }
  } finally {
    server.destroy();
  }
}

export async function run(): Promise<void> {
  const only = process.env.BENCH_DB;
  const attempts = generateFraudPopulation({ seed: SEED, users: USERS, days: DAYS });
  const fraud = attempts.filter((a) => a.scenario !== null);
  console.log(
    `fraud: ${fmt(USERS)} users over ${DAYS} days (seed ${SEED}): ${fmt(attempts.length)} attempts, ` +
      `${fmt(fraud.length)} injected fraud (${FRAUD_SCENARIOS.map((s) => `${s} ${fraud.filter((a) => a.scenario === s).length}`).join(', ')})`,
  );
  const main: 'PGlite' | 'PostgreSQL' = only === 'pglite' ? 'PGlite' : 'PostgreSQL';
  const full = await withEngine(main, 'bench_fraud_full', (db) => score(db, attempts, DEFAULT_FRAUD_CONFIG));
  const rules = await withEngine(main, 'bench_fraud_rules', (db) => score(db, attempts, RULES_ONLY_CONFIG));
  console.log(
    `\nPrecision and recall (${main}); flagged = review or block; per scenario, precision is one-against-ordinary`,
  );
  printMetrics('full scorer (rules + anomaly)', full);
  printMetrics('rules-only baseline', rules);
  console.log('\nInline latency');
  printLatency(main, full.latencies, full.empty);
  if (only === undefined) {
    // The second engine times the first attempts of the same population (its history builds up as it goes).
    const other = main === 'PostgreSQL' ? 'PGlite' : 'PostgreSQL';
    const sample = attempts.slice(0, LATENCY_ATTEMPTS);
    const timed = await withEngine(other, 'bench_fraud_latency', (db) => score(db, sample, DEFAULT_FRAUD_CONFIG));
    printLatency(other, timed.latencies, timed.empty);
  }
}

await run();
