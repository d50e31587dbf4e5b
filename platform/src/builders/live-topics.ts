import type { LiveEvent } from '@clutch/contracts';
import type { OutboxEvent } from '@clutch/jobs';

/**
 * Which domain events (outbox topics) the live-event bus carries, and as which bus event. The bus's
 * events are a closed union (contracts' LiveEvent), so each topic maps onto one of its types; the
 * Socket.io gateway then relays it to the vehicle's room like the same event sent directly.
 *
 * Not here on purpose: `readings`. Per-sample traffic stays on the direct bus (one outbox row per
 * batch would double the write load of ingest and add the relay's delay to every live chart).
 * Topics not listed (booking.confirmed, invoice.sent, ...) are for notifications and webhooks, the
 * next sinks: on the bus they need a LiveEvent type of their own first.
 */
export const LIVE_TOPICS: Readonly<Record<string, Exclude<LiveEvent['type'], 'readings'>>> = {
  'vehicle.presence': 'presence',
  'vehicle.location': 'location',
  'vehicle.dtc': 'dtc',
  'vehicle.alert': 'alert',
  'vehicle.command': 'command',
  'device.revoked': 'device-revoked',
  'api-key.revoked': 'api-key-revoked',
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
  const needs =
    type === 'api-key-revoked' ? ['keyId'] : type === 'device-revoked' ? ['vehicleId', 'deviceId'] : ['vehicleId'];
  if (!needs.every((key) => typeof fields[key] === 'string')) return null;
  return { ...fields, type, tenantId: event.tenantId } as LiveEvent;
}
