import type { Queryable } from '@clutch/db';
import { jobsError } from '../errors.js';

export interface NewOutboxEvent {
  /** Null for a platform event; inside db.withTenant it must be that tenant (row-level security). */
  tenantId: string | null;
  topic: string;
  payload: unknown;
}

const TOPIC = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/**
 * Records a domain event in the caller's transaction, so it exists exactly when the change it
 * announces commits. Returns the event's id, which every delivery of it carries.
 */
export async function appendEvent(tx: Queryable, event: NewOutboxEvent): Promise<string> {
  if (!TOPIC.test(event.topic)) throw jobsError('OUTBOX_TOPIC_INVALID', { topic: event.topic });
  const { rows } = await tx.query<{ id: string }>(
    'INSERT INTO outbox_events (tenant_id, topic, payload) VALUES ($1, $2, $3::jsonb) RETURNING id',
    [event.tenantId, event.topic, JSON.stringify(event.payload ?? {})],
  );
  return rows[0]!.id;
}

/**
 * appendEvent for many events in one statement, in order (their `seq` follows the list, so the relay
 * delivers them in it): a batch's events cost one round trip, not one each. Returns their ids.
 */
export async function appendEvents(tx: Queryable, events: readonly NewOutboxEvent[]): Promise<string[]> {
  if (events.length === 0) return [];
  if (events.length === 1) return [await appendEvent(tx, events[0]!)];
  for (const event of events)
    if (!TOPIC.test(event.topic)) throw jobsError('OUTBOX_TOPIC_INVALID', { topic: event.topic });
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO outbox_events (tenant_id, topic, payload)
     SELECT t, topic, p::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS x (t, topic, p, o)
      ORDER BY o
     RETURNING id`,
    [events.map((e) => e.tenantId), events.map((e) => e.topic), events.map((e) => JSON.stringify(e.payload ?? {}))],
  );
  return rows.map((r) => r.id);
}
