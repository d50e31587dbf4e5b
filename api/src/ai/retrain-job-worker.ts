import type { Queryable } from '@clutch/db';
import type { Logger } from 'pino';
import { aiJobStore, PROGRESS_LINES } from './retrain-job-store.js';
import { AI_RETRAIN_QUEUE, AI_RETRAIN_SETTINGS, type RetrainJobData } from './retrain-jobs.js';
import type { RetrainResult, RunRetrain } from './retrain-worker.js';

/** What the worker needs of @clutch/jobs' JobQueue (structural, so the API does not depend on it). */
export interface JobDefiner {
  define<T>(
    queue: string,
    handler: (job: { id: string; data: T; retryCount: number; signal: AbortSignal }) => Promise<void>,
    settings?: { concurrency?: number; retryLimit?: number; retryDelay?: number; expireIn?: number },
  ): Promise<void>;
}

export interface RetrainWorkerDeps {
  /** The platform's database (owner): `ai_jobs` is platform data, written outside any request. */
  db: Queryable;
  /** The retrain itself (retrainWith(folders): a worker thread over this process's folders). */
  run: RunRetrain;
  logger?: Logger | undefined;
  /** How often a running job proves it is alive (below queuedRetrains' staleAfterMs). Default 30 s. */
  heartbeatMs?: number;
}

/** Coalesces bursts of progress lines into one write (training logs every epoch). */
const PROGRESS_FLUSH_MS = 200;

/**
 * Works AI_RETRAIN_QUEUE in this process: claims the job's `ai_jobs` row, runs the retrain, writes
 * progress and the outcome there. At least once: a retry after a lost worker trains again (a second
 * model may then be registered; neither is deployed).
 */
export async function defineAiRetrainWorker(queue: JobDefiner, deps: RetrainWorkerDeps): Promise<void> {
  const { db, run, logger } = deps;
  const heartbeatMs = deps.heartbeatMs ?? 30_000;
  await queue.define<RetrainJobData>(
    AI_RETRAIN_QUEUE,
    async (job) => {
      const id = job.data.aiJobId;
      const claimed = await aiJobStore.claim(db, id);
      if (!claimed) return; // finished, or given up as stale while it waited: nothing left to do
      const lines = [...claimed.progress];
      let writing: Promise<void> = Promise.resolve();
      let pending: NodeJS.Timeout | undefined;
      const flush = (): Promise<void> => {
        if (pending) clearTimeout(pending);
        pending = undefined;
        const snapshot = [...lines];
        writing = writing
          .then(() => aiJobStore.progress(db, id, snapshot))
          .catch((err: Error) => logger?.warn({ err: err.message, jobId: id }, 'retrain progress not stored'));
        return writing;
      };
      const log = (line: string): void => {
        lines.push(line);
        if (lines.length > PROGRESS_LINES) lines.splice(0, lines.length - PROGRESS_LINES);
        pending ??= setTimeout(() => void flush(), PROGRESS_FLUSH_MS);
      };
      if (claimed.resumed) log('started again: the worker running it was lost');
      const heartbeat = setInterval(() => void aiJobStore.heartbeat(db, id).catch(() => {}), heartbeatMs);
      heartbeat.unref();
      let outcome: { result: RetrainResult } | { error: string };
      try {
        outcome = { result: await run(claimed.subject, claimed.request, log, job.signal) };
      } catch (err) {
        // The retrain failed by itself (or was aborted): recorded below, not retried.
        outcome = { error: err instanceof Error ? err.message : String(err) };
      } finally {
        clearInterval(heartbeat);
      }
      // A database error from here on throws, and the queue retries the job.
      await flush();
      await aiJobStore.finish(db, id, outcome);
      if ('result' in outcome)
        logger?.info({ jobId: id, modelId: outcome.result.modelId }, 'retrain registered a new model');
      else logger?.warn({ jobId: id, err: outcome.error }, 'retrain failed');
    },
    AI_RETRAIN_SETTINGS,
  );
}
