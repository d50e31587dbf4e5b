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

export interface EnqueueOptions {
  /**
   * An open transaction (from db.transaction or db.withTenant): the job commits or rolls back with
   * the business write. Without it the job is committed at once.
   */
  tx?: Queryable;
  /** Jobs with the same key are not queued twice while one is waiting (pg-boss singletonKey). */
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
  /** Returns the job id, or null when a job with the same singletonKey is already waiting. */
  enqueue(queue: string, data: object, options?: EnqueueOptions): Promise<string | null>;
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
