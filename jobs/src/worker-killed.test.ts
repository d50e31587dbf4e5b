import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Database } from '@clutch/db';
import { openTestDatabase, testDatabaseUrl } from '@clutch/db/testing';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createJobQueue, type JobQueue } from './index.js';
import { sleep, waitFor } from './testing/wait-for.js';

// Reliability: a worker process dies with kill -9 in the middle of a job (no handler cleanup, no
// failure recorded). pg-boss must find the job expired and hand it to a live worker, which completes
// it exactly once. PostgreSQL only: a PGlite database lives inside one process.
const DOOMED_WORKER = fileURLToPath(new URL('./fixtures/doomed-worker.mjs', import.meta.url));
const EXPIRE_IN = 2;

let db: Database;
let url: string;
let jobs: JobQueue;
let child: ChildProcess | undefined;

beforeAll(async () => {
  db = await openTestDatabase('postgres', { adminUrl: inject('pgAdminUrl'), name: 'jobs_killed', signals: false });
  url = testDatabaseUrl(db)!;
  await db.exec('CREATE TABLE invoices_sent (job_id uuid NOT NULL, sent_at timestamptz NOT NULL DEFAULT now())');
  jobs = createJobQueue({ db, url, superviseIntervalSeconds: 1, pollingIntervalSeconds: 0.5 });
  await jobs.start();
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await jobs?.stop({ graceful: false, timeoutMs: 1000 });
  await db?.close();
});

function startDoomedWorker(
  queue: string,
  batchSize = 1,
): { process: ChildProcess; took: Promise<string>; batch: Promise<string[]> } {
  const proc = spawn(process.execPath, [DOOMED_WORKER, url, queue, String(batchSize)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let resolveBatch: (ids: string[]) => void = () => {};
  const batch = new Promise<string[]>((resolve) => (resolveBatch = resolve));
  const took = new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`doomed worker exited early (${code})`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as { took?: string; batch?: string[] };
      if (message.took) resolve(message.took);
      if (message.batch) resolveBatch(message.batch);
    });
  });
  return { process: proc, took, batch };
}

it('completes exactly once a job whose worker was killed with SIGKILL mid-job', async () => {
  await jobs.declare('send-invoice', { expireIn: EXPIRE_IN, retryLimit: 3, retryDelay: 1, retryBackoff: false });
  const jobId = await jobs.enqueue('send-invoice', { invoice: 'INV-9' });

  const doomed = startDoomedWorker('send-invoice');
  child = doomed.process;
  expect(await doomed.took).toBe(jobId);
  const exited = new Promise((resolve) => child!.once('exit', (_code, signal) => resolve(signal)));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  const killedAt = Date.now();

  // A live worker in this process: it sees the job only once pg-boss has expired the dead claim.
  const runs: { id: string; retryCount: number; at: number }[] = [];
  await jobs.define<{ invoice: string }>('send-invoice', async (job) => {
    runs.push({ id: job.id, retryCount: job.retryCount, at: Date.now() });
    await db.query('INSERT INTO invoices_sent (job_id) VALUES ($1)', [job.id]);
  });
  await waitFor(() => runs.length === 1, 'the expired job to be retried', 20_000);
  // Nothing else may run it again: wait past another expiry and supervise pass.
  await sleep((EXPIRE_IN + 2) * 1000);

  expect(runs).toHaveLength(1);
  expect(runs[0]).toMatchObject({ id: jobId, retryCount: 1 });
  expect(runs[0]!.at - killedAt).toBeLessThan((EXPIRE_IN + 6) * 1000);
  const sent = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM invoices_sent WHERE job_id = $1', [jobId]);
  expect(sent.rows[0]!.n).toBe(1);
  const state = await db.query<{ state: string }>('SELECT state FROM pgboss.job WHERE id = $1', [jobId]);
  expect(state.rows[0]!.state).toBe('completed');
  expect((await jobs.deadJobs()).jobs).toEqual([]);
});

it('completes exactly once each job of a batch whose worker was killed with SIGKILL mid-batch', async () => {
  await jobs.declare('send-receipts', { expireIn: EXPIRE_IN, retryLimit: 3, retryDelay: 1, retryBackoff: false });
  const ids = await jobs.enqueueMany(
    'send-receipts',
    ['R-1', 'R-2', 'R-3'].map((receipt) => ({ data: { receipt } })),
  );
  expect(ids).toHaveLength(3);

  const doomed = startDoomedWorker('send-receipts', 3);
  child = doomed.process;
  expect((await doomed.batch).sort()).toEqual([...ids].sort());
  const exited = new Promise((resolve) => child!.once('exit', (_code, signal) => resolve(signal)));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  const runs: { id: string; retryCount: number }[] = [];
  await jobs.defineBatch<{ receipt: string }>(
    'send-receipts',
    async (batch) => {
      for (const job of batch) {
        runs.push({ id: job.id, retryCount: job.retryCount });
        await db.query('INSERT INTO invoices_sent (job_id) VALUES ($1)', [job.id]);
      }
      return batch.map((job) => ({ id: job.id, ok: true as const }));
    },
    { batchSize: 10, expireIn: EXPIRE_IN, retryLimit: 3, retryDelay: 1, retryBackoff: false },
  );
  await waitFor(() => runs.length === 3, 'the expired batch to be retried', 20_000);
  await sleep((EXPIRE_IN + 2) * 1000);

  expect(runs.map((r) => r.id).sort()).toEqual([...ids].sort());
  expect(runs.every((r) => r.retryCount === 1)).toBe(true);
  const sent = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM invoices_sent WHERE job_id = ANY ($1::uuid[])',
    [ids],
  );
  expect(sent.rows[0]!.n).toBe(3);
  const states = await db.query<{ state: string }>(
    'SELECT DISTINCT state FROM pgboss.job WHERE id = ANY ($1::uuid[])',
    [ids],
  );
  expect(states.rows).toEqual([{ state: 'completed' }]);
});
