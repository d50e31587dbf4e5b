import type { Database, Queryable } from '@clutch/db';
import type { JobWithMetadata, PgBoss } from 'pg-boss';
import { jobsError } from '../errors.js';
import { openBoss } from './boss.js';
import { grantTenantEnqueue } from './tenant-access.js';

/** Where every job that failed after all its retries is copied, for admins to list and retry. */
export const DEAD_QUEUE = 'dead-jobs';

export interface QueueSettings {
  /** Jobs of this queue one process runs at the same time (each worker takes one job at a time). Default 1. */
  concurrency?: number;
  /** Retries after the first attempt before the job is dead. Default 3. */
  retryLimit?: number;
  /** Seconds before the first retry (whole seconds). Default 1. */
  retryDelay?: number;
  /** Double the delay for each retry, with random jitter up to the same again. Default true. */
  retryBackoff?: boolean;
  /** Upper bound on one retry delay, in seconds. Default none. */
  retryDelayMax?: number;
  /**
   * Seconds a job may run before it counts as lost (its worker died or hung) and is retried.
   * Default 900. Keep it above the longest honest run time.
   */
  expireIn?: number;
}

export interface JobContext<T> {
  id: string;
  queue: string;
  data: T;
  /** 0 on the first attempt. */
  retryCount: number;
  /** Aborted when the job expires or the queue stops without waiting. */
  signal: AbortSignal;
}

export type JobHandler<T> = (job: JobContext<T>) => Promise<void>;

/** What a batch handler says of one job of its batch: done, or failed with this error (retried alone). */
export type JobResult = { id: string; ok: true } | { id: string; ok: false; error: unknown };

/**
 * Runs a batch of up to `batchSize` jobs and resolves with one result per job. A failed job is
 * retried on its own, with its own retry count and backoff, and the rest of its batch is done; a job
 * the handler leaves out counts as failed. Throwing fails (and retries) every job of the batch.
 */
export type BatchJobHandler<T> = (jobs: JobContext<T>[]) => Promise<readonly JobResult[]>;

export interface BatchQueueSettings extends QueueSettings {
  /**
   * Jobs one fetch takes and one handler call gets (1-1000). While fetches come back full the worker
   * fetches again at once; `concurrency` is then the number of batches in flight.
   */
  batchSize: number;
}

/** One job of enqueueMany. */
export interface NewJob {
  data: object;
  singletonKey?: string;
  startAfter?: Date | number;
}

export interface EnqueueOptions {
  /**
   * An open transaction (from db.transaction or db.withTenant): the job commits or rolls back with
   * the business write. Without it the job is committed at once.
   */
  tx?: Queryable;
  /**
   * pg-boss singletonKey. Stored with the job; with the default (standard) queue policy pg-boss does
   * not refuse a second job with the same key, so consumers dedupe themselves (docs/jobs.md).
   */
  singletonKey?: string;
  /** Not before this time; a number is seconds from now. */
  startAfter?: Date | number;
}

export interface DeadJob {
  /** Id of the dead-job record (what retryDead takes). */
  id: string;
  /** The queue the job failed on. */
  queue: string;
  /** Id the job had on its queue. */
  jobId: string | null;
  data: unknown;
  /** What the last attempt threw (message, stack), as pg-boss stored it. */
  error: unknown;
  /** Attempts made: the first plus its retries. */
  attempts: number | null;
  createdAt: Date | null;
  diedAt: Date;
}

export interface DeadJobPage {
  jobs: DeadJob[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface ScheduleInfo {
  name: string;
  cron: string;
  tz: string;
  data: unknown;
}

export interface JobQueue {
  /** Installs or migrates pg-boss's schema and starts its maintenance; first call before any other. */
  start(): Promise<void>;
  /** Creates the queue with its retry settings (idempotent: the first settings stored win). */
  declare(queue: string, settings?: QueueSettings): Promise<void>;
  /** Declares the queue and runs handler for its jobs in this process. */
  define<T>(queue: string, handler: JobHandler<T>, settings?: QueueSettings): Promise<void>;
  /**
   * Declares the queue and runs `handler` for batches of its jobs in this process (one fetch, one
   * call, a result per job: see BatchJobHandler). The jobs are enqueued as any others.
   */
  defineBatch<T>(queue: string, handler: BatchJobHandler<T>, settings: BatchQueueSettings): Promise<void>;
  /** Returns the job id, or null when the queue's policy refused the job as a duplicate (the default policy refuses none). */
  enqueue(queue: string, data: object, options?: EnqueueOptions): Promise<string | null>;
  /**
   * Adds many jobs to one queue in one statement (in `tx` when given); returns the ids of the jobs
   * created, in no particular order (a job the queue's policy refuses as a duplicate is skipped; the
   * default policy refuses none, docs/jobs.md "Batch queues").
   */
  enqueueMany(queue: string, jobs: readonly NewJob[], options?: { tx?: Queryable }): Promise<string[]>;
  /** Sends `data` to queue `name` on a cron expression (minute precision) in time zone `tz` (default UTC). */
  schedule(name: string, cron: string, data?: object, options?: { tz?: string }): Promise<void>;
  unschedule(name: string): Promise<void>;
  schedules(): Promise<ScheduleInfo[]>;
  /** Jobs that failed after all retries, oldest first. */
  deadJobs(options?: { limit?: number; cursor?: string }): Promise<DeadJobPage>;
  /** Puts a dead job back on its queue as a new job with fresh retries; false when it is not dead (any more). */
  retryDead(id: string): Promise<boolean>;
  /**
   * Stops taking jobs. Graceful waits up to timeoutMs for running handlers; a handler still running
   * then is abandoned and its job retried after it expires. The database stays open.
   */
  stop(options?: { graceful?: boolean; timeoutMs?: number }): Promise<void>;
}

export interface JobQueueOptions {
  db: Database;
  /** PostgreSQL: the URL db was opened with (pg-boss keeps its own pool). Ignored on PGlite. */
  url?: string | undefined;
  /** pg-boss's schema. Default `pgboss`. */
  schema?: string;
  /** Seconds between passes that retry expired jobs. Default 30. */
  superviseIntervalSeconds?: number;
  /** Seconds between a worker's polls when no notification wakes it. Default 2 (minimum 0.5). */
  pollingIntervalSeconds?: number;
  maxConnections?: number;
  /** pg-boss's background errors (a failed maintenance pass); default logs them. Job failures are not errors here. */
  onError?: (err: Error) => void;
}

/** Largest batch one handler call takes. */
const MAX_BATCH = 1000;

const DEFAULTS = { concurrency: 1, retryLimit: 3, retryDelay: 1, retryBackoff: true, expireIn: 900 } as const;

/** A PostgreSQL-backed job queue (pg-boss) over a Clutch Database of either kind. */
export function createJobQueue(options: JobQueueOptions): JobQueue {
  const schema = options.schema ?? 'pgboss';
  const pollingIntervalSeconds = options.pollingIntervalSeconds ?? 2;
  const boss = openBoss({
    db: options.db,
    url: options.url,
    schema,
    maxConnections: options.maxConnections,
    superviseIntervalSeconds: options.superviseIntervalSeconds ?? 30,
  });
  const onError = options.onError ?? ((err: Error) => console.error('[jobs]', err.message));
  boss.on('error', onError);
  // A queue this process declared is in pg-boss's queue cache, so enqueue never has to read the queue
  // table: on PGlite (one connection) that read would wait behind the very transaction enqueuing.
  const declared = new Set<string>();
  let started = false;

  function running(): PgBoss {
    if (!started) throw jobsError('JOBS_NOT_STARTED');
    return boss;
  }

  async function declare(queue: string, settings: QueueSettings = {}): Promise<void> {
    const s = { ...DEFAULTS, ...settings };
    await running().createQueue(queue, {
      retryLimit: s.retryLimit,
      retryDelay: s.retryDelay,
      retryBackoff: s.retryBackoff,
      ...(s.retryDelayMax !== undefined ? { retryDelayMax: s.retryDelayMax } : {}),
      expireInSeconds: s.expireIn,
      deadLetter: DEAD_QUEUE,
      notify: true,
    });
    declared.add(queue);
  }

  return {
    async start() {
      if (started) return;
      await boss.start();
      started = true;
      // Nobody works the dead queue: its jobs wait there for an admin, for its retention (30 days).
      await boss.createQueue(DEAD_QUEUE, { retentionSeconds: 30 * 24 * 3600 });
      await grantTenantEnqueue(options.db, schema);
    },

    declare,

    async define<T>(queue: string, handler: JobHandler<T>, settings: QueueSettings = {}) {
      await declare(queue, settings);
      await running().work<T>(
        queue,
        {
          batchSize: 1,
          localConcurrency: settings.concurrency ?? DEFAULTS.concurrency,
          pollingIntervalSeconds,
          // A notification wakes workers for new jobs only: retries and deferred jobs coming due are
          // found by polling, so the poll must not relax to pg-boss's 30 s while NOTIFY is on.
          notifyPollingIntervalSeconds: pollingIntervalSeconds,
        },
        async ([job]) => {
          if (!job) return;
          await handler({ id: job.id, queue, data: job.data, retryCount: job.retryCount, signal: job.signal });
        },
      );
    },

    async defineBatch<T>(queue: string, handler: BatchJobHandler<T>, settings: BatchQueueSettings) {
      if (!Number.isInteger(settings.batchSize) || settings.batchSize < 1 || settings.batchSize > MAX_BATCH)
        throw new RangeError(`batchSize of ${queue} must be an integer from 1 to ${MAX_BATCH}`);
      await declare(queue, settings);
      await running().work<T>(
        queue,
        {
          batchSize: settings.batchSize,
          localConcurrency: settings.concurrency ?? DEFAULTS.concurrency,
          pollingIntervalSeconds,
          notifyPollingIntervalSeconds: pollingIntervalSeconds,
          // A full batch means more are waiting: fetch again at once instead of after the poll
          // interval (a NOTIFY only wakes a worker for jobs inserted while it works).
          burstWhenBatchFull: true,
          perJobResults: true,
        },
        async (batch) => {
          const results = await handler(
            batch.map((job) => ({ id: job.id, queue, data: job.data, retryCount: job.retryCount, signal: job.signal })),
          );
          return results.map((r) =>
            r.ok
              ? { id: r.id, status: 'completed' as const }
              : { id: r.id, status: 'failed' as const, output: failure(r.error) },
          );
        },
      );
    },

    async enqueueMany(queue, newJobs, manyOptions = {}) {
      if (!declared.has(queue)) throw jobsError('QUEUE_NOT_DECLARED', { queue });
      if (newJobs.length === 0) return [];
      const { tx } = manyOptions;
      const ids = await running().insert(
        queue,
        newJobs.map((j) => ({
          data: j.data,
          ...(j.singletonKey !== undefined ? { singletonKey: j.singletonKey } : {}),
          // insert() takes seconds as a number, like send(); a Date goes in as an ISO instant.
          ...(j.startAfter !== undefined ? { startAfter: j.startAfter } : {}),
        })),
        {
          returnId: true,
          ...(tx ? { db: { executeSql: (text: string, values?: unknown[]) => tx.query(text, values ?? []) } } : {}),
        },
      );
      return ids ?? [];
    },

    async enqueue(queue, data, enqueueOptions = {}) {
      if (!declared.has(queue)) throw jobsError('QUEUE_NOT_DECLARED', { queue });
      const { tx, singletonKey, startAfter } = enqueueOptions;
      return running().send(queue, data, {
        ...(tx ? { db: { executeSql: (text: string, values?: unknown[]) => tx.query(text, values ?? []) } } : {}),
        ...(singletonKey !== undefined ? { singletonKey } : {}),
        ...(startAfter !== undefined ? { startAfter } : {}),
      });
    },

    async schedule(name, cron, data = {}, scheduleOptions = {}) {
      if (!declared.has(name)) throw jobsError('QUEUE_NOT_DECLARED', { queue: name });
      await running().schedule(name, cron, data, { tz: scheduleOptions.tz ?? 'UTC' });
    },

    async unschedule(name) {
      await running().unschedule(name);
    },

    async schedules() {
      const rows = await running().getSchedules();
      return rows.map((s) => ({ name: s.name, cron: s.cron, tz: s.timezone, data: s.data ?? null }));
    },

    async deadJobs({ limit = 50, cursor } = {}) {
      const rows = (await running().findJobs(DEAD_QUEUE, {
        limit: limit + 1,
        ...(cursor ? { after: cursor } : {}),
      })) as JobWithMetadata[];
      const page = rows.slice(0, limit).map(toDeadJob);
      return { jobs: page, nextCursor: rows.length > limit ? page[page.length - 1]!.id : null };
    },

    async retryDead(id) {
      return (await running().redrive(DEAD_QUEUE, { ids: [id] })) === 1;
    },

    async stop({ graceful = true, timeoutMs = 10_000 } = {}) {
      if (!started) return;
      started = false;
      declared.clear();
      // close: pg-boss ends the pool it opened on PostgreSQL; a PGlite instance stays its owner's.
      await boss.stop({ graceful, timeout: timeoutMs, close: true });
    },
  };
}

/** What pg-boss stores as a failed job's output (what deadJobs shows as `error`). */
function failure(error: unknown): object {
  return error instanceof Error
    ? { name: error.name, message: error.message, stack: error.stack }
    : { message: String(error) };
}

function toDeadJob(job: JobWithMetadata): DeadJob {
  return {
    id: job.id,
    queue: job.sourceName ?? DEAD_QUEUE,
    jobId: job.sourceId,
    data: job.data,
    error: job.sourceOutput ?? null,
    attempts: job.sourceRetryCount === null ? null : job.sourceRetryCount + 1,
    createdAt: job.sourceCreatedOn,
    diedAt: new Date(job.createdOn),
  };
}
