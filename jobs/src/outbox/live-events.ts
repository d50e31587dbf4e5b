import type { LiveEvent, LiveEventBus } from '@clutch/contracts';
import type { Queryable } from '@clutch/db';
import { appendEvent, appendEvents } from './append.js';
import type { OutboxEvent, OutboxSink } from './event.js';

/**
 * Live events (contracts' LiveEvent) that travel through the outbox: everything but `readings`.
 * Per-sample traffic stays on the direct bus on purpose: one outbox row per batch would double the
 * write load of ingest and add the relay's delay to every live chart.
 */
export type OutboxLiveEvent = Exclude<LiveEvent, { type: 'readings' }>;

/** The outbox topic of each live event type; the payload is the event without `type` and `tenantId`. */
const TOPIC_OF: Readonly<Record<OutboxLiveEvent['type'], string>> = {
  presence: 'vehicle.presence',
  location: 'vehicle.location',
  dtc: 'vehicle.dtc',
  alert: 'vehicle.alert',
  command: 'vehicle.command',
  'device-revoked': 'device.revoked',
  'api-key-revoked': 'api-key.revoked',
  'session-revoked': 'session.revoked',
  'roles-changed': 'rbac.roles-changed',
  // The marketplace's (docs/marketplace.md): bookings append the first, transitionRepairOrder the second.
  booking_update: 'booking.updated',
  service_status_change: 'repair-order.status-changed',
  // Payments (docs/payments-flows.md): a trigger on payments appends it with every change.
  payment_notification: 'payment.updated',
  // Chat (docs/chat.md): appended by api/src/chat in the message's, read's or deletion's transaction.
  chat_message: 'chat.message',
  chat_read: 'chat.read',
  chat_message_deleted: 'chat.message-deleted',
  // Notifications (docs/notifications.md): appended by the dispatch job with the inbox row.
  notification: 'notification.created',
  // Scoring's save of vehicle normals (ingest/src/normals/repository.ts): API processes drop calibrations.
  normal: 'vehicle.normal-saved',
};

/**
 * Which outbox topics the live-event bus carries, and as which bus event. Topics not listed
 * (invoice.sent, ...) are for notifications and webhooks, the next sinks: on the bus they need a
 * LiveEvent type of their own first.
 */
export const LIVE_TOPICS: Readonly<Record<string, OutboxLiveEvent['type']>> = Object.fromEntries(
  Object.entries(TOPIC_OF).map(([type, topic]) => [topic, type as OutboxLiveEvent['type']]),
);

/**
 * Records a live event in the caller's transaction: the relay puts it on the bus once that
 * transaction committed, and never when it rolled back. Returns the outbox event's id.
 */
export function appendLiveEvent(tx: Queryable, event: OutboxLiveEvent): Promise<string> {
  const { type, tenantId, ...payload } = event;
  return appendEvent(tx, { tenantId, topic: TOPIC_OF[type], payload });
}

/** appendLiveEvent for each event, in order, in one statement (a batch's events, e.g. a dispatch's notifications). */
export async function appendLiveEvents(tx: Queryable, events: readonly OutboxLiveEvent[]): Promise<void> {
  await appendEvents(
    tx,
    events.map(({ type, tenantId, ...payload }) => ({ tenantId, topic: TOPIC_OF[type], payload })),
  );
}

/** The string fields a payload must have to be its type's event; every vehicle event needs `vehicleId`. */
const REQUIRED: Readonly<Partial<Record<OutboxLiveEvent['type'], readonly string[]>>> = {
  'api-key-revoked': ['keyId'],
  'device-revoked': ['vehicleId', 'deviceId'],
  'session-revoked': ['userId', 'sessionId'],
  'roles-changed': [],
  // Without the shop and the customer the gateway would not know whose rooms to tell.
  booking_update: ['bookingId', 'partnerId', 'customerTenantId', 'status'],
  service_status_change: ['repairOrderId', 'partnerId', 'customerTenantId', 'to'],
  payment_notification: ['paymentId', 'customerTenantId', 'status'],
  // The gateway routes chat events by room (chat:<roomId>).
  chat_message: ['roomId'],
  chat_read: ['roomId', 'userId'],
  chat_message_deleted: ['roomId', 'messageId'],
  // To the user's own sockets (user:<userId>).
  notification: ['userId'],
  // The vehicles it names, checked in liveEventOf (a list, not a string).
  normal: [],
};

/**
 * The bus event for an outbox event, or null when its topic is not live or it cannot be one: the
 * payload carries the event's fields, the tenant is the outbox row's own (row-level security wrote
 * it) and wins over one in the payload. A platform event (no tenant) never goes to a tenant's room.
 */
export function liveEventOf(event: OutboxEvent): LiveEvent | null {
  const type = LIVE_TOPICS[event.topic];
  if (!type || event.tenantId === null) return null;
  const payload = event.payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  const fields = payload as Record<string, unknown>;
  if (!(REQUIRED[type] ?? ['vehicleId']).every((key) => typeof fields[key] === 'string')) return null;
  const ids = fields.vehicleIds;
  if (type === 'normal' && !(Array.isArray(ids) && ids.every((id) => typeof id === 'string'))) return null;
  return { ...fields, type, tenantId: event.tenantId } as LiveEvent;
}

/**
 * The sink that puts live topics on the live-event bus: every API process's Socket.io gateway
 * relays them to the vehicle's room (bookings and repair orders: the shop's and the customer's), and every broker and gateway ends the sessions a revocation
 * names (through Redis pub/sub when scaled out). Publishing is fire-and-forget, so this never
 * refuses an event; other topics pass (`onIgnored` hears them).
 */
export function liveBusSink(bus: LiveEventBus, onIgnored?: (event: OutboxEvent) => void): OutboxSink {
  return {
    name: 'live-bus',
    async deliver(event) {
      const live = liveEventOf(event);
      if (live) bus.publish(live);
      else onIgnored?.(event);
    },
  };
}
