import type { Database } from '@clutch/db';
import { createPolicyStore } from '@clutch/identity';
import type { JobContext, JobQueue, JobResult } from '@clutch/jobs';
import { ZodError } from 'zod';
import type { ChatKeyRing } from '../../chat/crypto.js';
import { requestNotifications, type NotificationRequest } from '../request.js';
import { loadVehicleAudiences } from './audience.js';
import { requestsFor, vehicleIdsOf } from './mapping.js';
import {
  eventsOf,
  NOTIFICATION_EVENTS_QUEUE,
  NOTIFICATION_EVENTS_SETTINGS,
  type NotificationEventJob,
  type NotificationEventsJobData,
} from './sink.js';

export interface NotificationEventDeps {
  /** The platform's own transactions: recipients are read across tenants (system scope). */
  db: Pick<Database, 'transaction'>;
  /** Where requestNotifications queues each notification's dispatch, in the same transaction. */
  jobs: Pick<JobQueue, 'enqueue'> & Partial<Pick<JobQueue, 'enqueueMany'>>;
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
        const vehicles = await loadVehicleAudiences(q, policy, vehicleIdsOf([event]));
        const requests = await requestsFor({ q, policy, event, chatKeys: deps.chatKeys, vehicles });
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

/**
 * Many events' notifications in one system transaction: each event's recipients are read (a payload
 * its topic does not announce is logged and skipped), then every request goes in one
 * requestNotifications (one INSERT, one enqueue of the dispatch jobs). Throws when any event fails:
 * the caller then runs them one by one (notifyForEvent), so one bad event fails alone.
 * Resolves with the number of notifications requested per event id.
 */
export async function notifyForEvents(
  deps: NotificationEventDeps,
  events: readonly NotificationEventJob[],
): Promise<Map<string, number>> {
  return deps.db.transaction(async (q) => {
    const policy = createPolicyStore({ db: q });
    try {
      await policy.snapshot();
      // The vehicles' audiences of the whole batch in a few statements, not a few per event.
      const vehicles = await loadVehicleAudiences(q, policy, vehicleIdsOf(events));
      const all: NotificationRequest[] = [];
      const counts = new Map<string, number>();
      for (const event of events) {
        let requests: NotificationRequest[];
        try {
          requests = await requestsFor({ q, policy, event, chatKeys: deps.chatKeys, vehicles });
        } catch (err) {
          if (!(err instanceof ZodError)) throw err;
          deps.logger?.warn(
            { event: event.id, topic: event.topic, issues: err.issues.slice(0, 5) },
            'event payload not understood; nobody notified',
          );
          requests = [];
        }
        counts.set(event.id, requests.length);
        all.push(...requests);
      }
      if (all.length > 0) await requestNotifications(q, deps.jobs, all);
      return counts;
    } finally {
      policy.close();
    }
  });
}

/** Works the `notification-events` queue in this process (or only declares it: an enqueue-only process). */
export async function defineNotificationEventJobs(
  queue: Pick<JobQueue, 'defineBatch' | 'declare'>,
  deps: NotificationEventDeps | undefined,
): Promise<void> {
  if (!deps) {
    await queue.declare(NOTIFICATION_EVENTS_QUEUE, NOTIFICATION_EVENTS_SETTINGS);
    return;
  }
  const logRequested = (event: NotificationEventJob, notifications: number): void => {
    if (notifications > 0)
      deps.logger?.info({ event: event.id, topic: event.topic, notifications }, 'notifications requested');
  };
  await queue.defineBatch<NotificationEventsJobData>(
    NOTIFICATION_EVENTS_QUEUE,
    async (batch: JobContext<NotificationEventsJobData>[]): Promise<JobResult[]> => {
      const events = batch.flatMap((job) => eventsOf(job.data));
      try {
        const counts = await notifyForEvents(deps, events);
        for (const event of events) logRequested(event, counts.get(event.id) ?? 0);
        return batch.map((job) => ({ id: job.id, ok: true }));
      } catch (err) {
        if (events.length === 1) return [{ id: batch[0]!.id, ok: false, error: err }];
        // One event spoiled the batch: each alone, so only that one's job fails (and retries on its
        // own; the others of its job find their notifications requested then, and request nothing).
        const results: JobResult[] = [];
        for (const job of batch) {
          let failed: unknown;
          for (const event of eventsOf(job.data)) {
            try {
              logRequested(event, (await notifyForEvent(deps, event)).length);
            } catch (e) {
              failed ??= e;
            }
          }
          results.push(failed === undefined ? { id: job.id, ok: true } : { id: job.id, ok: false, error: failed });
        }
        return results;
      }
    },
    NOTIFICATION_EVENTS_SETTINGS,
  );
}
