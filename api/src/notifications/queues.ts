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
  /** Deliveries one worker claims together (one transaction), then sends at once, then records together. */
  batchSize: 50,
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

export interface SendJobData {
  deliveryId: string;
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
