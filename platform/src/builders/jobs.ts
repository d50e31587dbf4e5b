import {
  AI_RETRAIN_QUEUE,
  AI_RETRAIN_SETTINGS,
  BOOKING_CRONS,
  defineAiRetrainWorker,
  expireHolds,
  markNoShows,
  purgeIdempotencyKeys,
  retrainWith,
} from '@clutch/api';
import type { Database } from '@clutch/db';
import { datasetsDir } from '@clutch/firmware-profiles';
import { IDENTITY_RETENTION_SECONDS, pruneIdentityRecords } from '@clutch/identity';
import { createJobQueue, pruneDeliveredEvents, type JobQueue } from '@clutch/jobs';
import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/config.js';

/**
 * The platform's cron jobs. pg-boss keeps schedules in the database, cluster-wide: any number of
 * processes may register them and each occurrence still runs once, on one process working the queue.
 */
export const CRONS = {
  /** Idempotency keys past their 24 h TTL are already ignored; the purge only bounds the table. */
  idempotencyPurge: { queue: 'idempotency.purge', cron: '17 * * * *' },
  /** Delivered outbox events are kept a week for inspection, then deleted. */
  outboxPrune: { queue: 'outbox.prune', cron: '43 3 * * *', keepSeconds: 7 * 24 * 3600 },
  /** Sessions (with their refresh tokens) and account tokens that ended 30 days ago; the audit log keeps the trail. */
  identityPrune: { queue: 'identity.prune', cron: '29 4 * * *', keepSeconds: IDENTITY_RETENTION_SECONDS },
} as const;

export interface RunningJobs {
  /** Enqueue from here (the API's retrains do, in their transaction). */
  queue: JobQueue;
  /** Stops taking jobs; a handler still running after timeoutMs is retried elsewhere once it expires. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface JobsOptions {
  /**
   * True: this process works the queues (AI retrains and the crons). False: it only enqueues (the
   * scaled-out API), declaring the queues it sends to with the same settings as their workers.
   */
  workers: boolean;
  /** Seconds between a worker's polls for retries and deferred jobs (tests shorten it). Default 2. */
  pollingIntervalSeconds?: number;
}

/** The @clutch/jobs queue on the platform's database, with the platform's workers when asked. */
export async function startJobs(
  db: Database,
  config: Pick<PlatformConfig, 'databaseUrl' | 'modelsDir' | 'datasetsDir'>,
  logger: Logger,
  options: JobsOptions,
): Promise<RunningJobs> {
  const log = logger.child({ component: 'jobs' });
  const queue = createJobQueue({
    db,
    url: config.databaseUrl,
    ...(options.pollingIntervalSeconds !== undefined ? { pollingIntervalSeconds: options.pollingIntervalSeconds } : {}),
    onError: (err) => log.warn({ err: err.message }, 'job queue maintenance failed; retrying'),
  });
  await queue.start();
  const stop = (timeoutMs = 5000): Promise<void> => queue.stop({ graceful: true, timeoutMs });
  try {
    if (!options.workers) {
      await queue.declare(AI_RETRAIN_QUEUE, AI_RETRAIN_SETTINGS);
      return { queue, stop };
    }
    await defineAiRetrainWorker(queue, {
      db,
      logger: log,
      run: retrainWith({ modelsDir: config.modelsDir, datasetsDir: config.datasetsDir ?? datasetsDir() }),
    });
    await queue.define(CRONS.idempotencyPurge.queue, async () => {
      const purged = await purgeIdempotencyKeys(db);
      if (purged > 0) log.info({ purged }, 'expired idempotency keys purged');
    });
    await queue.schedule(CRONS.idempotencyPurge.queue, CRONS.idempotencyPurge.cron);
    await queue.define(CRONS.outboxPrune.queue, async () => {
      const pruned = await pruneDeliveredEvents(db, CRONS.outboxPrune.keepSeconds);
      if (pruned > 0) log.info({ pruned }, 'delivered outbox events pruned');
    });
    await queue.schedule(CRONS.outboxPrune.queue, CRONS.outboxPrune.cron);
    await queue.define(CRONS.identityPrune.queue, async () => {
      const pruned = await pruneIdentityRecords(db, CRONS.identityPrune.keepSeconds);
      if (pruned.sessions + pruned.accountTokens > 0) log.info(pruned, 'ended sessions and account tokens pruned');
    });
    await queue.schedule(CRONS.identityPrune.queue, CRONS.identityPrune.cron);
    // Bookings (docs/bookings.md): no-shows after the shop's grace period, and the hold sweeper.
    await queue.define(BOOKING_CRONS.noShow.queue, async () => {
      const marked = await markNoShows(db);
      if (marked > 0) log.info({ marked }, 'bookings marked as no-shows');
    });
    await queue.schedule(BOOKING_CRONS.noShow.queue, BOOKING_CRONS.noShow.cron);
    await queue.define(BOOKING_CRONS.expireHolds.queue, async () => {
      const ended = await expireHolds(db);
      if (ended > 0) log.info({ ended }, 'expired booking holds ended');
    });
    await queue.schedule(BOOKING_CRONS.expireHolds.queue, BOOKING_CRONS.expireHolds.cron);
    return { queue, stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
