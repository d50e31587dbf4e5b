/**
 * The notification queues (docs/notifications.md, "Jobs"). Every process that enqueues on them
 * declares them with these settings; defineNotificationJobs (jobs.ts) works them.
 */

/** Per notification: decides channels and targets, writes the inbox row, fans out one send per delivery. */
export const NOTIFICATION_DISPATCH_QUEUE = 'notification-dispatch';
/** Per delivery: one channel, one target. */
export const NOTIFICATION_SEND_QUEUE = 'notification-send';

/** Dispatch only touches the database: quick retries. */
export const NOTIFICATION_DISPATCH_SETTINGS = {
  concurrency: 4,
  retryLimit: 5,
  retryDelay: 1,
  retryBackoff: true,
  expireIn: 60,
} as const;

/**
 * A provider that is down or throttling gets retries with backoff (2-4 s, 4-8 s, ... about 17
 * minutes over all eight); after the last the delivery is `failed` with the last error.
 */
export const NOTIFICATION_SEND_SETTINGS = {
  concurrency: 8,
  retryLimit: 8,
  retryDelay: 2,
  retryBackoff: true,
  retryDelayMax: 600,
  expireIn: 60,
} as const;

export interface DispatchJobData {
  notificationId: string;
}

export interface SendJobData {
  deliveryId: string;
}
