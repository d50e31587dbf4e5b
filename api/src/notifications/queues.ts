import type { Queryable } from '@clutch/db';
import type { JobQueue, NewJob } from '@clutch/jobs';
import type { JobEnqueuer } from '../ai/retrain-jobs.js';

/**
 * The notification queues (docs/notifications.md, "Jobs"). Every process that enqueues on them
 * declares them with these settings; defineNotificationJobs (jobs.ts) works them.
 */

/** Per notification: decides channels and targets, writes the inbox row, fans out one send per delivery. */
export const NOTIFICATION_DISPATCH_QUEUE = 'notification-dispatch';
/** Per delivery: one channel, one target. */
export const NOTIFICATION_SEND_QUEUE = 'notification-send';

/**
 * Dispatch only touches the database: quick retries. Worked in batches (one transaction for up to
 * `batchSize` notifications; a batch that fails is dispatched again one notification at a time, so
 * one bad notification fails alone).
 */
export const NOTIFICATION_DISPATCH_SETTINGS = {
  batchSize: 100,
  concurrency: 2,
  retryLimit: 5,
  retryDelay: 1,
  retryBackoff: true,
  // A batch's whole call: generous, because a batch that overruns it is failed and run again.
  expireIn: 120,
} as const;

/**
 * A provider that is down or throttling gets retries with backoff (2-4 s, 4-8 s, ... about 17
 * minutes over all eight); after the last the delivery is `failed` with the last error.
 */
export const NOTIFICATION_SEND_SETTINGS = {
  /**
   * Jobs one worker takes together: their deliveries (up to SEND_JOB_DELIVERIES each, so at most
   * 250) are claimed in one transaction, sent at once, and recorded together per channel.
   */
  batchSize: 10,
  concurrency: 4,
  retryLimit: 8,
  retryDelay: 2,
  retryBackoff: true,
  retryDelayMax: 600,
  // One batch's claim, sends and record: a batch that overruns it is retried while its sends may
  // still land (a duplicate message), so it is well above a slow provider's batch (SMTP goes
  // through a pool of a few connections).
  expireIn: 300,
} as const;

/**
 * One notification (a scheduled one: its job starts at its send time), or several requested
 * together for now, dispatched in one transaction (one job per request batch, not one each).
 */
export interface DispatchJobData {
  notificationId?: string;
  notificationIds?: string[];
}

/** The notifications a dispatch job names. */
export function dispatchIdsOf(data: DispatchJobData): string[] {
  return [...(data.notificationIds ?? []), ...(data.notificationId !== undefined ? [data.notificationId] : [])];
}

/**
 * A send job names one delivery (one held until quiet hours or do-not-disturb end, as its own job due
 * then) or up to SEND_JOB_DELIVERIES of a dispatch's deliveries due now (`deliveryIds`): a job is an
 * insert, a fetch and a completion in pg-boss's table, which per delivery cost more of the database
 * than the delivery's own rows. The job's attempts are its deliveries' attempts: a delivery whose
 * provider failed transiently fails the job, whose retry sends only its deliveries still waiting.
 */
export type SendJobData = { deliveryId: string } | { deliveryIds: string[] };

/** Deliveries due now per `notification-send` job. */
export const SEND_JOB_DELIVERIES = 25;

/** The deliveries a send job names. */
export function sendIdsOf(data: SendJobData): string[] {
  return 'deliveryIds' in data ? data.deliveryIds : [data.deliveryId];
}

/** Send jobs for deliveries due now: SEND_JOB_DELIVERIES a job, a lone one as `{ deliveryId }`. */
export function sendJobsFor(deliveryIds: readonly string[]): NewJob[] {
  const jobs: NewJob[] = [];
  for (let i = 0; i < deliveryIds.length; i += SEND_JOB_DELIVERIES) {
    const group = deliveryIds.slice(i, i + SEND_JOB_DELIVERIES);
    jobs.push({
      data: (group.length === 1 ? { deliveryId: group[0]! } : { deliveryIds: group }) satisfies SendJobData,
      singletonKey: group[0]!,
    });
  }
  return jobs;
}

/** What the notification code enqueues with: a JobEnqueuer, and the job queue's enqueueMany when there is one. */
export type NotificationEnqueuer = JobEnqueuer & Partial<Pick<JobQueue, 'enqueueMany'>>;

/** Jobs per INSERT statement (pg-boss passes them as one JSON parameter). */
const ENQUEUE_CHUNK = 500;

/** Enqueues every job in `tx`: a statement per chunk with enqueueMany, else one enqueue each. */
export async function enqueueAll(
  jobs: NotificationEnqueuer,
  queue: string,
  items: readonly NewJob[],
  tx: Queryable,
): Promise<void> {
  if (jobs.enqueueMany) {
    for (let i = 0; i < items.length; i += ENQUEUE_CHUNK)
      await jobs.enqueueMany(queue, items.slice(i, i + ENQUEUE_CHUNK), { tx });
    return;
  }
  for (const item of items)
    await jobs.enqueue(queue, item.data, {
      tx,
      ...(item.singletonKey !== undefined ? { singletonKey: item.singletonKey } : {}),
      ...(item.startAfter !== undefined ? { startAfter: item.startAfter } : {}),
    });
}
