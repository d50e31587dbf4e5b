import type { Database } from '@clutch/db';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createJobQueue, type JobQueue, type JobResult } from './index.js';
import { implementations } from './testing/databases.js';
import { sleep, waitFor } from './testing/wait-for.js';

// One contract, both databases: pg-boss over the embedded PGlite and over a real PostgreSQL.
// One queue per database for the whole file: pg-boss's first start installs its schema (~8 s on PGlite).
describe.each(implementations(inject('pgAdminUrl'), 'jobs_queue'))('job queue contract: %s', (_name, open) => {
  let db: Database;
  let jobs: JobQueue;

  beforeAll(async () => {
    const t = await open();
    db = t.db;
    jobs = createJobQueue({ db, url: t.url, superviseIntervalSeconds: 1, pollingIntervalSeconds: 0.5 });
    await jobs.start();
  });
  afterAll(async () => {
    await jobs?.stop({ graceful: false, timeoutMs: 1000 });
    await db?.close();
  });

  it('runs a job enqueued in a committed transaction and never one whose transaction rolled back', async () => {
    const ran: string[] = [];
    await jobs.define<{ note: string }>('welcome-email', async (job) => {
      ran.push(job.data.note);
    });

    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'refused car')`);
        await jobs.enqueue('welcome-email', { note: 'rolled back' }, { tx });
        throw new Error('business rule refused the change');
      }),
    ).rejects.toThrow('business rule refused the change');
    await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'kept car')`);
      await jobs.enqueue('welcome-email', { note: 'committed' }, { tx });
    });
    // A tenant-scoped transaction runs as clutch_app under row-level security: it can enqueue too.
    await db.withTenant('globex', async (tx) => {
      await tx.query(`INSERT INTO vehicles (tenant_id, name) VALUES ('globex', 'tenant car')`);
      await jobs.enqueue('welcome-email', { note: 'tenant committed' }, { tx });
    });

    await waitFor(() => ran.length >= 2, 'both committed jobs');
    await sleep(1000);
    expect(ran.sort()).toEqual(['committed', 'tenant committed']);
    const cars = await db.query<{ name: string }>(`SELECT name FROM vehicles WHERE name LIKE '%car' ORDER BY name`);
    expect(cars.rows.map((r) => r.name)).toEqual(['kept car', 'tenant car']);
  });

  it('refuses to enqueue to a queue it has not declared', async () => {
    await expect(jobs.enqueue('never-declared', {})).rejects.toMatchObject({ code: 'QUEUE_NOT_DECLARED' });
  });

  it('retries a failing job with growing delays, lists it as dead after the last retry, and retries it on request', async () => {
    const attempts: { at: number; retryCount: number }[] = [];
    let gatewayUp = false;
    await jobs.define<{ invoice: string }>(
      'send-invoice',
      async (job) => {
        attempts.push({ at: Date.now(), retryCount: job.retryCount });
        if (!gatewayUp) throw new Error('payment gateway unreachable');
      },
      { retryLimit: 2, retryDelay: 1, retryBackoff: true },
    );
    const jobId = await jobs.enqueue('send-invoice', { invoice: 'INV-7' });

    await waitFor(
      async () => (await jobs.deadJobs()).jobs.some((d) => d.jobId === jobId),
      'the job to be dead',
      20_000,
    );
    expect(attempts.map((a) => a.retryCount)).toEqual([0, 1, 2]);
    // Backoff with jitter: the first retry waits 1-2 s, the second 2-4 s (retryDelay 1 s).
    const gaps = [attempts[1]!.at - attempts[0]!.at, attempts[2]!.at - attempts[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(950);
    expect(gaps[1]).toBeGreaterThanOrEqual(1950);

    const dead = (await jobs.deadJobs()).jobs.find((d) => d.jobId === jobId)!;
    expect(dead).toMatchObject({ queue: 'send-invoice', data: { invoice: 'INV-7' }, attempts: 3 });
    expect(JSON.stringify(dead.error)).toContain('payment gateway unreachable');

    gatewayUp = true;
    expect(await jobs.retryDead(dead.id)).toBe(true);
    await waitFor(() => attempts.length === 4, 'the retried dead job to run');
    expect((await jobs.deadJobs()).jobs.some((d) => d.jobId === jobId)).toBe(false);
    expect(await jobs.retryDead(dead.id)).toBe(false);
  });

  it('pages through dead jobs with a cursor', async () => {
    await jobs.define(
      'always-fails',
      async () => {
        throw new Error('no');
      },
      { retryLimit: 0 },
    );
    for (let i = 0; i < 3; i++) await jobs.enqueue('always-fails', { i });
    await waitFor(
      async () => (await jobs.deadJobs({ limit: 10 })).jobs.filter((d) => d.queue === 'always-fails').length === 3,
      'three dead jobs',
    );
    const seen: unknown[] = [];
    let cursor: string | undefined;
    do {
      const page = await jobs.deadJobs({ limit: 1, ...(cursor ? { cursor } : {}) });
      seen.push(...page.jobs.filter((d) => d.queue === 'always-fails').map((d) => d.data));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
  });

  it('runs no more jobs of a queue at once than its concurrency', async () => {
    let running = 0;
    let most = 0;
    let done = 0;
    await jobs.define(
      'render-report',
      async () => {
        running++;
        most = Math.max(most, running);
        await sleep(300);
        running--;
        done++;
      },
      { concurrency: 2 },
    );
    for (let i = 0; i < 6; i++) await jobs.enqueue('render-report', { i });
    await waitFor(() => done === 6, 'six reports');
    expect(most).toBe(2);
  });

  it('registers a cron schedule in its time zone and removes it', async () => {
    await jobs.declare('nightly-rollup');
    await jobs.schedule('nightly-rollup', '0 3 * * *', { scope: 'all' }, { tz: 'Africa/Cairo' });
    expect(await jobs.schedules()).toContainEqual({
      name: 'nightly-rollup',
      cron: '0 3 * * *',
      tz: 'Africa/Cairo',
      data: { scope: 'all' },
    });
    await jobs.unschedule('nightly-rollup');
    expect((await jobs.schedules()).some((s) => s.name === 'nightly-rollup')).toBe(false);
  });

  it('runs a job deferred with startAfter only once it is due', async () => {
    const ranAt: number[] = [];
    await jobs.define('reminder', async () => {
      ranAt.push(Date.now());
    });
    const sentAt = Date.now();
    await jobs.enqueue('reminder', {}, { startAfter: 2 });
    await waitFor(() => ranAt.length === 1, 'the deferred reminder');
    expect(ranAt[0]! - sentAt).toBeGreaterThanOrEqual(1500);
  });

  it('runs a batch queue: a handler call per batch, a failed job retried alone with its own backoff', async () => {
    const calls: { i: number; retryCount: number }[][] = [];
    const seen = new Map<number, number[]>();
    await jobs.defineBatch<{ i: number }>(
      'push-batch',
      async (batch) => {
        calls.push(batch.map((j) => ({ i: j.data.i, retryCount: j.retryCount })));
        const results: JobResult[] = [];
        for (const job of batch) {
          seen.set(job.data.i, [...(seen.get(job.data.i) ?? []), job.retryCount]);
          // Job 3's provider is down on its first attempt; job 5 gets no result at all the first time.
          if (job.data.i === 3 && job.retryCount === 0)
            results.push({ id: job.id, ok: false, error: new Error('provider down') });
          else if (!(job.data.i === 5 && job.retryCount === 0)) results.push({ id: job.id, ok: true });
        }
        return results;
      },
      { batchSize: 4, retryLimit: 2, retryDelay: 1, retryBackoff: false },
    );
    await expect(
      db.transaction(async (tx) => {
        await jobs.enqueueMany('push-batch', [{ data: { i: 100 } }], { tx });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    const ids = await db.transaction((tx) =>
      jobs.enqueueMany(
        'push-batch',
        Array.from({ length: 10 }, (_, i) => ({ data: { i } })),
        { tx },
      ),
    );
    expect(ids).toHaveLength(10);

    await waitFor(
      () => seen.size === 10 && seen.get(3)?.length === 2 && seen.get(5)?.length === 2,
      'every job, and job 3 retried',
    );
    await sleep(1500);
    // Never more than batchSize per call, and batches of more than one.
    expect(Math.max(...calls.map((c) => c.length))).toBeLessThanOrEqual(4);
    expect(Math.max(...calls.map((c) => c.length))).toBeGreaterThan(1);
    expect(seen.has(100)).toBe(false);
    expect(seen.get(3)).toEqual([0, 1]);
    // A job left out of the results counts as failed and is retried too.
    expect(seen.get(5)).toEqual([0, 1]);
    for (const i of [0, 1, 2, 4, 6, 7, 8, 9]) expect(seen.get(i)).toEqual([0]);
    // The retry of job 3 came alone or with other retries, never with a completed job again.
    const retried = calls.filter((c) => c.some((j) => j.retryCount > 0)).flat();
    expect(retried.every((j) => j.retryCount === 1 && (j.i === 3 || j.i === 5))).toBe(true);
    expect((await jobs.deadJobs()).jobs.some((d) => d.queue === 'push-batch')).toBe(false);
  });

  it('enqueues many jobs in one call, each with its own startAfter and singletonKey', async () => {
    await jobs.declare('many-jobs');
    const ids = await jobs.enqueueMany('many-jobs', [
      { data: { n: 1 }, singletonKey: 'k1' },
      { data: { n: 2 }, singletonKey: 'k2', startAfter: 60 },
      { data: { n: 3 }, startAfter: new Date(Date.now() + 3_600_000) },
    ]);
    expect(ids).toHaveLength(3);
    const { rows } = await db.query<{ n: number; key: string | null; later: boolean }>(
      `SELECT (data->>'n')::int AS n, singleton_key AS key, start_after > now() + interval '30 seconds' AS later
         FROM pgboss.job WHERE id = ANY ($1::uuid[]) ORDER BY 1`,
      [ids],
    );
    expect(rows).toEqual([
      { n: 1, key: 'k1', later: false },
      { n: 2, key: 'k2', later: true },
      { n: 3, key: null, later: true },
    ]);
    // The default (standard) queue policy does not refuse a second job with a waiting job's key.
    expect(await jobs.enqueueMany('many-jobs', [{ data: { n: 4 }, singletonKey: 'k1' }])).toHaveLength(1);
    expect(await jobs.enqueueMany('many-jobs', [])).toEqual([]);
    await expect(jobs.enqueueMany('never-declared', [{ data: {} }])).rejects.toMatchObject({
      code: 'QUEUE_NOT_DECLARED',
    });
  });

  // Last: it stops the shared queue.
  it('stops within its timeout even when a handler never returns', async () => {
    let running = false;
    await jobs.define('hangs', async () => {
      running = true;
      await new Promise(() => {});
    });
    await jobs.enqueue('hangs', {});
    await waitFor(() => running, 'the hanging job to start');
    const started = Date.now();
    await jobs.stop({ graceful: true, timeoutMs: 1500 });
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(jobs.enqueue('hangs', {})).rejects.toMatchObject({ code: 'QUEUE_NOT_DECLARED' });
  });
});
