/** One domain event as the relay hands it to every sink. */
export interface OutboxEvent {
  /** Stable across redeliveries: consumers dedupe on it. */
  id: string;
  /** Commit-visible order (a bigint as a decimal string). */
  seq: string;
  /** Null for platform events. */
  tenantId: string | null;
  /** e.g. `vehicle.created`, `booking.confirmed`. */
  topic: string;
  payload: unknown;
  createdAt: Date;
}

/**
 * A consumer of domain events (the Socket.io gateway, notifications, webhooks). deliver resolves once
 * the event is safely handed over; throwing makes the relay deliver the event again later (to every
 * sink: each dedupes by event id). A slow or unreliable target should enqueue a job here rather than
 * call out, so one bad webhook cannot hold up every other event.
 */
export interface OutboxSink {
  name: string;
  deliver(event: OutboxEvent): Promise<void>;
  /**
   * Optional: takes a relay round's events at once (in `seq` order, only those every earlier sink
   * accepted) instead of one `deliver` per event, so the sink can hand them over in one statement.
   * Resolving accepts them all; throwing refuses them all (the round is delivered again).
   */
  deliverBatch?(events: readonly OutboxEvent[]): Promise<void>;
}

export interface OutboxRow {
  id: string;
  seq: string | number;
  tenant_id: string | null;
  topic: string;
  payload: unknown;
  created_at: Date | string;
}

export function toEvent(row: OutboxRow): OutboxEvent {
  return {
    id: row.id,
    seq: String(row.seq),
    tenantId: row.tenant_id,
    topic: row.topic,
    payload: row.payload,
    createdAt: new Date(row.created_at),
  };
}
