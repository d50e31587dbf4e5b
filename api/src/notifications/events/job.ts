import type { Database } from '@clutch/db';
import { createPolicyStore } from '@clutch/identity';
import type { JobQueue } from '@clutch/jobs';
import { ZodError } from 'zod';
import type { ChatKeyRing } from '../../chat/crypto.js';
import { requestNotifications } from '../request.js';
import { requestsFor } from './mapping.js';
import { NOTIFICATION_EVENTS_QUEUE, NOTIFICATION_EVENTS_SETTINGS, type NotificationEventJob } from './sink.js';

export interface NotificationEventDeps {
  /** The platform's own transactions: recipients are read across tenants (system scope). */
  db: Pick<Database, 'transaction'>;
  /** Where requestNotifications queues each notification's dispatch, in the same transaction. */
  jobs: Pick<JobQueue, 'enqueue'>;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void } | undefined;
  /** The chat key ring (CLUTCH_CHAT_KEYS): chat messages arrive sealed and their preview is opened here. */
  chatKeys?: ChatKeyRing | undefined;
}

/**
 * One event's notifications: reads who is to hear of it and requests their notifications in one
 * system transaction, so they are stored (with their dispatch jobs) together or not at all. A
 * retried job, or the same event delivered again, requests nothing twice (dedupe keys). A payload
 * that does not have the shape its topic announces is logged and dropped: retrying cannot fix it.
 * Returns the ids of the notifications requested (an earlier one's id where it was requested before).
 */
export async function notifyForEvent(deps: NotificationEventDeps, event: NotificationEventJob): Promise<string[]> {
  try {
    return await deps.db.transaction(async (q) => {
      // Per transaction: the policy reads roles and grants through it, as the platform.
      const policy = createPolicyStore({ db: q });
      try {
        // Loaded first, so each decision after it reads only the person's grants: one query at a time
        // on the transaction's connection.
        await policy.snapshot();
        const requests = await requestsFor({ q, policy, event, chatKeys: deps.chatKeys });
        if (requests.length === 0) return [];
        return await requestNotifications(q, deps.jobs, requests);
      } finally {
        policy.close();
      }
    });
  } catch (err) {
    if (!(err instanceof ZodError)) throw err;
    deps.logger?.warn(
      { event: event.id, topic: event.topic, issues: err.issues.slice(0, 5) },
      'event payload not understood; nobody notified',
    );
    return [];
  }
}

/** Works the `notification-events` queue in this process (or only declares it: an enqueue-only process). */
export async function defineNotificationEventJobs(
  queue: Pick<JobQueue, 'define' | 'declare'>,
  deps: NotificationEventDeps | undefined,
): Promise<void> {
  if (!deps) {
    await queue.declare(NOTIFICATION_EVENTS_QUEUE, NOTIFICATION_EVENTS_SETTINGS);
    return;
  }
  await queue.define<NotificationEventJob>(
    NOTIFICATION_EVENTS_QUEUE,
    async (job) => {
      const ids = await notifyForEvent(deps, job.data);
      if (ids.length > 0)
        deps.logger?.info(
          { event: job.data.id, topic: job.data.topic, notifications: ids.length },
          'notifications requested',
        );
    },
    NOTIFICATION_EVENTS_SETTINGS,
  );
}
