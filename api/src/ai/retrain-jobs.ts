import type { Queryable } from '@clutch/db';
import type { Scope } from '../auth/principal.js';
import { apiError } from '../errors.js';
import { JobTracker, type Job } from './jobs.js';
import { aiJobStore, RETRAIN_KIND } from './retrain-job-store.js';
import type { RetrainOptions, RetrainResult, RunRetrain } from './retrain-worker.js';

/** Where retrains are started and looked up: in this process, or on the durable job queue. */
export interface RetrainJobs {
  /** RETRAIN_RUNNING while another retrain is queued or running. `scope`: the administrator's request. */
  start(scope: Scope, fromId: string, options: RetrainOptions): Promise<Job<RetrainResult>>;
  /** JOB_NOT_FOUND for an unknown id. */
  get(scope: Scope, id: string): Promise<Job<RetrainResult>>;
}

/** The queue retrain jobs go to; its worker is defineAiRetrainWorker. */
export const AI_RETRAIN_QUEUE = 'ai.retrain';

/**
 * Settings of that queue, the same in every process that declares it. A retrain trains for tens of
 * seconds to many minutes: an attempt counts as lost after an hour, and a lost one is retried once.
 * A retrain that fails by itself is not retried (it would fail again): the worker records it.
 */
export const AI_RETRAIN_SETTINGS = { concurrency: 1, retryLimit: 1, retryDelay: 5, expireIn: 3600 } as const;

/** What the API needs of @clutch/jobs' JobQueue (structural, so the API does not depend on it). */
export interface JobEnqueuer {
  enqueue(
    queue: string,
    data: object,
    options?: {
      /** The business transaction the job commits with. */
      tx?: Queryable;
      /** Not queued again while a job with this key waits. */
      singletonKey?: string;
      /** Not before this time; a number is seconds from now. */
      startAfter?: Date | number;
    },
  ): Promise<string | null>;
}

/** The job data on the queue: the row of `ai_jobs` holds everything else. */
export interface RetrainJobData {
  aiJobId: string;
}

/**
 * Without a job queue (an API on its own, tests): the retrain runs on a worker thread of this
 * process and the job lives in memory, lost on restart (the model it registered is not).
 */
export function inProcessRetrains(run: RunRetrain): RetrainJobs {
  const tracker = new JobTracker<RetrainResult>();
  return {
    start: async (_scope, fromId, options) => tracker.start(RETRAIN_KIND, fromId, (log) => run(fromId, options, log)),
    get: async (_scope, id) => tracker.get(id),
  };
}

export interface QueuedRetrainsOptions {
  jobs: JobEnqueuer;
  /** A queued or running job without a worker heartbeat for this long is given up. Default 5 min. */
  staleAfterMs?: number;
}

/**
 * The platform's retrains: a row in `ai_jobs` and a job on AI_RETRAIN_QUEUE, committed together in
 * the request's scope, run by whichever process works that queue. The row is what
 * GET /api/ai/jobs/:id reads, on any API process and after restarts.
 */
export function queuedRetrains(options: QueuedRetrainsOptions): RetrainJobs {
  const { jobs } = options;
  const staleSeconds = (options.staleAfterMs ?? 5 * 60_000) / 1000;
  return {
    start(scope, fromId, request) {
      // Administration with a lasting effect (a new model in the registry): audited like the others.
      return scope
        .audited({
          action: 'ai.retrain',
          target: fromId,
          detail: { seed: request.seed ?? null, epochs: request.epochs ?? null },
        })
        .run(async (tx) => {
          await aiJobStore.giveUpStale(tx, staleSeconds);
          const job = await aiJobStore.insertQueued(tx, fromId, { seed: request.seed, epochs: request.epochs });
          if (!job) {
            const busy = await aiJobStore.active(tx);
            throw apiError('RETRAIN_RUNNING', `Job ${busy} is still running; wait for it to finish`, { jobId: busy });
          }
          const data: RetrainJobData = { aiJobId: job.id };
          // In the same transaction: no job without its row, no row without its job.
          await jobs.enqueue(AI_RETRAIN_QUEUE, data, { tx });
          return job;
        });
    },
    get(scope, id) {
      return scope.run(async (q) => {
        await aiJobStore.giveUpStale(q, staleSeconds);
        const job = await aiJobStore.get(q, id);
        if (!job) throw apiError('JOB_NOT_FOUND', `No job with id ${id}`, { jobId: id });
        return job;
      });
    },
  };
}
