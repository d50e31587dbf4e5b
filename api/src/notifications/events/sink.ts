import type { JobQueue, OutboxEvent, OutboxSink } from '@clutch/jobs';

/**
 * Domain events -> notifications (issue 17 item 3, docs/notifications.md "Wired to the domain
 * events"). The outbox sink only enqueues: a job for the events that may notify someone (one job for
 * up to a batch of a relay round's), so a slow database or a crowd of recipients never holds up the
 * relay (docs/jobs.md, "Adding a sink"); a relay round's jobs go in one statement. The job (./job.ts, worked in batches)
 * decides the recipients and requests their notifications.
 */
export const NOTIFICATION_EVENTS_QUEUE = 'notification-events';

/**
 * Retried with backoff; a job that still fails after these lands in dead jobs for an administrator.
 * Worked in batches: one transaction for up to `batchSize` events, or one per event when that fails.
 */
export const NOTIFICATION_EVENTS_SETTINGS = {
  batchSize: 50,
  retryLimit: 8,
  retryDelay: 2,
  retryBackoff: true,
  expireIn: 120,
  concurrency: 2,
} as const;

/** The outbox topics that may notify someone; every other topic passes the sink. */
export const NOTIFYING_TOPICS: ReadonlySet<string> = new Set([
  'vehicle.alert',
  'vehicle.dtc',
  'booking.updated',
  'repair-order.status-changed',
  'estimate.sent',
  'estimate.decided',
  'payment.updated',
  'chat.message',
]);

/** The job's data: the event as the relay delivered it (the job has no other source of it). */
export interface NotificationEventJob {
  id: string;
  tenantId: string | null;
  topic: string;
  payload: unknown;
  createdAt: string;
}

/**
 * A job's data: one event (`deliver`), or a relay round's events together (`deliverBatch`, up to
 * the queue's batch size: a job per round's worth, not one per event).
 */
export type NotificationEventsJobData = NotificationEventJob | { events: NotificationEventJob[] };

/** The events a job's data names. */
export function eventsOf(data: NotificationEventsJobData): NotificationEventJob[] {
  return 'events' in data ? data.events : [data];
}

export function notificationEventJob(event: OutboxEvent): NotificationEventJob {
  return {
    id: event.id,
    tenantId: event.tenantId,
    topic: event.topic,
    payload: event.payload,
    createdAt: event.createdAt.toISOString(),
  };
}

/**
 * The sink: an event on a notifying topic becomes work on `notification-events`; the relay hands it
 * a round's events at once (deliverBatch) and they go in jobs of up to the queue's batch size each,
 * enqueued in one statement. The relay is at least once: an event delivered again (before or after
 * its job ran) runs a job again, which requests nothing new (every request's dedupeKey is already
 * stored).
 */
export function notificationsSink(queue: Pick<JobQueue, 'enqueue' | 'enqueueMany'>): OutboxSink {
  return {
    name: 'notifications',
    async deliver(event) {
      if (!NOTIFYING_TOPICS.has(event.topic)) return;
      await queue.enqueue(NOTIFICATION_EVENTS_QUEUE, notificationEventJob(event), {
        singletonKey: `notify:${event.id}`,
      });
    },
    async deliverBatch(events) {
      const notifying = events.filter((e) => NOTIFYING_TOPICS.has(e.topic));
      if (notifying.length === 0) return;
      const jobs = [];
      for (let i = 0; i < notifying.length; i += NOTIFICATION_EVENTS_SETTINGS.batchSize) {
        const group = notifying.slice(i, i + NOTIFICATION_EVENTS_SETTINGS.batchSize);
        jobs.push({
          data: group.length === 1 ? notificationEventJob(group[0]!) : { events: group.map(notificationEventJob) },
          singletonKey: `notify:${group[0]!.id}`,
        });
      }
      await queue.enqueueMany(NOTIFICATION_EVENTS_QUEUE, jobs);
    },
  };
}
