import type { Queryable } from '@clutch/db';
import type { PolicyStore } from '@clutch/identity';
import { dtcDescription } from '@clutch/firmware-profiles';
import { z } from 'zod';
import { devKeyRing, openBody, sealedFromWire, type ChatKeyRing } from '../../chat/crypto.js';
import type { NotificationRequest } from '../request.js';
import {
  customerOf,
  loadRecipients,
  loadVehicle,
  loadVehicleAudiences,
  shopStaff,
  type Recipient,
  type VehicleAudiences,
} from './audience.js';
import type { NotificationEventJob } from './sink.js';

/**
 * Which domain event notifies whom, with which template (i18n `notify.*`, docs/notifications.md
 * "Wired to the domain events"). Each mapper reads what it needs as the platform and returns the
 * requests; the job stores them in one transaction. A request's dedupeKey ends in the recipient, so
 * running a mapper twice for one event (a redelivery, a retried job) notifies nobody twice:
 *
 * - events that are each one change (an alert, a trouble-code report, a repair-order move, an
 *   estimate sent or decided, a chat message) key on the outbox event's id;
 * - topics announced on every update of their row (`booking.updated`, `payment.updated`) key on the
 *   state they announce, so editing a booking's notes does not say "confirmed" again.
 */

export interface MapperContext {
  q: Queryable;
  policy: PolicyStore;
  event: NotificationEventJob;
  /** Opens the sealed chat bodies `chat.message` carries (absent: the development ring, as chat's own default). */
  chatKeys?: ChatKeyRing | undefined;
  /** The audiences of a batch's vehicles, read together (vehicleIdsOf); a vehicle not covered is read alone. */
  vehicles?: VehicleAudiences | undefined;
}

type Mapper = (ctx: MapperContext) => Promise<NotificationRequest[]>;

type Params = Record<string, string | number>;

function requestFor(
  who: Recipient,
  r: Omit<NotificationRequest, 'tenantId' | 'userId' | 'dedupeKey'> & { key: string },
): NotificationRequest {
  const { key, ...rest } = r;
  return { ...rest, tenantId: who.tenantId, userId: who.userId, dedupeKey: `${key}:${who.userId}` };
}

// Any 8-4-4-4-12 id (seeded demo ids are not all RFC 4122 versions).
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);

async function shopName(q: Queryable, partnerId: string | null | undefined): Promise<string> {
  if (!partnerId) return '';
  const { rows } = await q.query<{ name: string }>('SELECT name FROM partners WHERE id = $1', [partnerId]);
  return rows[0]?.name ?? '';
}

async function userName(q: Queryable, userId: string | null | undefined): Promise<string> {
  if (!userId) return '';
  const { rows } = await q.query<{ display_name: string }>('SELECT display_name FROM users WHERE id = $1', [userId]);
  return rows[0]?.display_name ?? '';
}

async function repairOrderOfBooking(q: Queryable, bookingId: string): Promise<string | null> {
  const { rows } = await q.query<{ id: string }>(
    'SELECT id::text FROM repair_orders WHERE booking_id = $1 ORDER BY created_at LIMIT 1',
    [bookingId],
  );
  return rows[0]?.id ?? null;
}

const repairOrderUrl = (id: string | null): string | undefined => (id ? `/repair-order.html?id=${id}` : undefined);

// --- Vehicles: health alerts and new trouble codes ---------------------------------------------

const alertPayload = z.object({
  vehicleId: uuid,
  alert: z.object({
    id: z.string().min(1),
    kind: z.string(),
    severity: z.enum(['info', 'warning', 'critical']),
    title: z.string(),
    explanation: z.string(),
  }),
});

/** The vehicle's facts and audience, from the batch's when it covers the vehicle. */
async function audiencesFor(ctx: MapperContext, vehicleId: string): Promise<VehicleAudiences> {
  return ctx.vehicles?.covers(vehicleId) ? ctx.vehicles : loadVehicleAudiences(ctx.q, ctx.policy, [vehicleId]);
}

/**
 * The vehicles whose audience a batch of events needs (health alerts, trouble codes), for
 * loadVehicleAudiences; an event whose payload does not parse names none (its mapper drops it).
 */
export function vehicleIdsOf(events: readonly NotificationEventJob[]): string[] {
  return events.flatMap((event) => {
    const parsed =
      event.topic === 'vehicle.alert'
        ? alertPayload.safeParse(event.payload)
        : event.topic === 'vehicle.dtc'
          ? dtcPayload.safeParse(event.payload)
          : undefined;
    return parsed?.success ? [parsed.data.vehicleId] : [];
  });
}

/** A stored health alert: everyone who looks after the car; critical ones are urgent (push through quiet hours). */
const healthAlert: Mapper = async (ctx) => {
  const { event } = ctx;
  const p = alertPayload.parse(event.payload);
  const vehicles = await audiencesFor(ctx, p.vehicleId);
  const vehicle = vehicles.vehicle(p.vehicleId);
  if (!vehicle) return [];
  const audience = vehicles.audience(p.vehicleId, 'telemetry:read');
  return audience.map((who) =>
    requestFor(who, {
      key: event.id,
      category: 'health_alert',
      template: 'notify.health_alert',
      params: {
        vehicle: vehicle.name,
        alert: p.alert.title,
        explanation: p.alert.explanation,
        severity: p.alert.severity,
      },
      url: `/dashboard.html?vehicle=${vehicle.id}`,
      urgent: p.alert.severity === 'critical',
    }),
  );
};

const dtcPayload = z.object({
  vehicleId: uuid,
  at: z.string().datetime({ offset: true }),
  codes: z.array(z.object({ code: z.string(), kind: z.string() })),
});

/**
 * The codes of this report that the vehicle's previous report did not have. The agent reports every
 * code it reads every few minutes: only a code that appears (first seen, or back after it was gone)
 * is news.
 */
export async function newTroubleCodes(
  q: Queryable,
  vehicleId: string,
  at: string,
  codes: readonly string[],
): Promise<string[]> {
  const { rows } = await q.query<{ code: string }>(
    `SELECT DISTINCT e.code FROM dtc_events e
      WHERE e.vehicle_id = $1
        AND e.time = (SELECT max(r.time) FROM dtc_reports r WHERE r.vehicle_id = $1 AND r.time < $2::timestamptz)`,
    [vehicleId, at],
  );
  const before = new Set(rows.map((r) => r.code));
  return [...new Set(codes)].filter((code) => !before.has(code));
}

/** New trouble codes: one notification per code that appeared, to everyone who looks after the car. */
const troubleCodes: Mapper = async (ctx) => {
  const { q, event } = ctx;
  const p = dtcPayload.parse(event.payload);
  const fresh = await newTroubleCodes(
    q,
    p.vehicleId,
    p.at,
    p.codes.map((c) => c.code),
  );
  if (fresh.length === 0) return [];
  const vehicles = await audiencesFor(ctx, p.vehicleId);
  const vehicle = vehicles.vehicle(p.vehicleId);
  if (!vehicle) return [];
  const audience = vehicles.audience(p.vehicleId, 'dtc:read');
  return fresh.flatMap((code) =>
    audience.map((who) =>
      requestFor(who, {
        key: `${event.id}:${code}`,
        category: 'trouble_code',
        template: 'notify.trouble_code',
        // A make-specific code has no generic description: the code itself stands in.
        params: { vehicle: vehicle.name, code, description: dtcDescription(code) ?? code },
        url: `/dashboard.html?vehicle=${vehicle.id}`,
      }),
    ),
  );
};

// --- Bookings and repair orders ------------------------------------------------------------------

const bookingPayload = z.object({
  bookingId: uuid,
  partnerId: uuid,
  customerTenantId: z.string().min(1),
  customerUserId: uuid.nullable().optional(),
  vehicleId: uuid.nullable().optional(),
  status: z.string(),
  startsAt: z.string(),
});

/** Who cancelled a booking (`customer`, `shop`, `system`), as the booking records it. */
async function cancelledBy(q: Queryable, bookingId: string): Promise<string | null> {
  const { rows } = await q.query<{ cancelled_by: string | null }>('SELECT cancelled_by FROM bookings WHERE id = $1', [
    bookingId,
  ]);
  return rows[0]?.cancelled_by ?? null;
}

/** What was booked and the shop's time zone (booking times are shown in it, as on the pages). */
async function bookingFacts(
  q: Queryable,
  bookingId: string,
): Promise<{ service: string; shop: string; timeZone: string; fromTheCar: boolean } | undefined> {
  const { rows } = await q.query<{ service_name: string; name: string; time_zone: string; source: string | null }>(
    `SELECT b.service_name, p.name, p.time_zone, b.source->>'kind' AS source
       FROM bookings b JOIN partners p ON p.id = b.partner_id WHERE b.id = $1`,
    [bookingId],
  );
  const row = rows[0];
  return row
    ? {
        service: row.service_name,
        shop: row.name,
        timeZone: row.time_zone,
        // Booked from a trouble code or an alert (POST /api/bookings/from-alert): the car asks for a diagnosis.
        fromTheCar: row.source === 'alert' || row.source === 'dtc',
      }
    : undefined;
}

/** A booking's start in the recipient's language and the shop's time zone, with the zone named. */
export function bookingTime(iso: string, locale: string, timeZone: string): string {
  const at = new Date(iso);
  const options: Intl.DateTimeFormatOptions = { dateStyle: 'medium', timeStyle: 'short', timeZone };
  try {
    return `${new Intl.DateTimeFormat(locale, options).format(at)} (${timeZone})`;
  } catch {
    return `${new Intl.DateTimeFormat('en', { ...options, timeZone: 'UTC' }).format(at)} (UTC)`;
  }
}

/** True when this person was told of the booking in `status` before, at another time: it moved. */
async function toldBefore(
  q: Queryable,
  who: Recipient,
  bookingId: string,
  status: string,
  key: string,
): Promise<boolean> {
  const { rows } = await q.query(
    `SELECT 1 FROM notifications WHERE user_id = $1 AND dedupe_key LIKE $2 AND dedupe_key <> $3 LIMIT 1`,
    [who.userId, `booking:${bookingId}:${status}:%`, `${key}:${who.userId}`],
  );
  return rows.length > 0;
}

/**
 * `booking.updated` (sent with every change of a booking, so keyed by the state it announces): a new
 * request tells the shop's staff who confirm bookings (`bookings:write`; an estimate request when it
 * was booked from the car's trouble code or alert), a confirmation and a
 * no-show the customer, a cancellation the other side of the one who cancelled (the customer when
 * the shop or the platform did). The same status at another time is a reschedule
 * (`notify.booking.rescheduled`). Holds and their expiry notify nobody: the customer is on the page.
 */
const bookingUpdated: Mapper = async ({ q, policy, event }) => {
  const p = bookingPayload.parse(event.payload);
  if (!event.tenantId) return [];
  const record = {
    type: 'booking' as const,
    id: p.bookingId,
    tenantId: event.tenantId,
    partnerId: p.partnerId,
    customerTenantId: p.customerTenantId,
    customerUserId: p.customerUserId ?? null,
  };
  let audience: Recipient[];
  let template: string;
  let key = `booking:${p.bookingId}:${p.status}`;
  if (p.status === 'requested') {
    audience = await shopStaff(q, policy, record, 'bookings:write');
    template = 'notify.booking.new_request';
    key += `:${p.startsAt}`;
  } else if (p.status === 'confirmed') {
    audience = await customerOf(q, policy, record);
    template = 'notify.booking.confirmed';
    key += `:${p.startsAt}`;
  } else if (p.status === 'no_show') {
    audience = await customerOf(q, policy, record);
    template = 'notify.booking.no_show';
  } else if (p.status === 'cancelled') {
    audience =
      (await cancelledBy(q, p.bookingId)) === 'customer'
        ? await shopStaff(q, policy, record, 'bookings:write')
        : await customerOf(q, policy, record);
    template = 'notify.booking.cancelled';
  } else return [];
  if (audience.length === 0) return [];
  // One query at a time: they share the job's transaction (one connection).
  const facts = await bookingFacts(q, p.bookingId);
  const customer = await userName(q, p.customerUserId);
  const repairOrderId = await repairOrderOfBooking(q, p.bookingId);
  const vehicle = await loadVehicle(q, p.vehicleId);
  const url = repairOrderUrl(repairOrderId);
  const requests: NotificationRequest[] = [];
  for (const who of audience) {
    const moved =
      (p.status === 'requested' || p.status === 'confirmed') && (await toldBefore(q, who, p.bookingId, p.status, key));
    // A request booked from the car's trouble code or alert asks the shop to find out what is wrong
    // and what it costs: the shop hears of it as an estimate request.
    const estimateRequest = !moved && p.status === 'requested' && facts?.fromTheCar === true;
    requests.push(
      requestFor(who, {
        key,
        category: estimateRequest ? 'estimate' : 'booking',
        template: moved ? 'notify.booking.rescheduled' : estimateRequest ? 'notify.estimate.requested' : template,
        params: {
          shop: facts?.shop ?? '',
          service: facts?.service ?? '',
          customer,
          vehicle: vehicle?.name ?? '',
          when: bookingTime(p.startsAt, who.locale, facts?.timeZone ?? 'UTC'),
        },
        ...(url ? { url } : {}),
      }),
    );
  }
  return requests;
};

const repairOrderPayload = z.object({
  repairOrderId: uuid,
  bookingId: uuid.nullable().optional(),
  partnerId: uuid,
  customerTenantId: z.string().min(1),
  customerUserId: uuid.nullable().optional(),
  vehicleId: uuid.nullable().optional(),
  from: z.string().nullable(),
  to: z.string(),
});

/** Moves the customer hears of (the booking's own moves are booking.updated's, estimates their own events'). */
const CUSTOMER_MOVES: ReadonlySet<string> = new Set([
  'checked_in',
  'waiting_parts',
  'waiting_customer',
  'ready_for_pickup',
  'delivered',
  'delivered_without_repair',
]);

/**
 * `repair-order.status-changed`: the customer hears of check-in, the work starting after their
 * decision (in_progress from approved or declined, not every return to it), waiting for parts or
 * for them, ready for pickup and the hand-back (`notify.booking.status`). Requested, confirmed,
 * cancelled and no-show are the booking's (booking.updated); estimate_sent, approved and declined
 * the estimate's events: nobody is told twice.
 */
const repairOrderMoved: Mapper = async ({ q, policy, event }) => {
  const p = repairOrderPayload.parse(event.payload);
  const tells =
    CUSTOMER_MOVES.has(p.to) || (p.to === 'in_progress' && (p.from === 'approved' || p.from === 'declined'));
  if (!tells) return [];
  const audience = await customerOf(q, policy, {
    type: 'repair-order',
    id: p.repairOrderId,
    partnerId: p.partnerId,
    customerTenantId: p.customerTenantId,
    customerUserId: p.customerUserId ?? null,
  });
  if (audience.length === 0) return [];
  const shop = await shopName(q, p.partnerId);
  const vehicle = await loadVehicle(q, p.vehicleId);
  return audience.map((who) =>
    requestFor(who, {
      key: event.id,
      category: 'booking',
      template: 'notify.booking.status',
      params: { shop, vehicle: vehicle?.name ?? '', status: p.to },
      url: `/repair-order.html?id=${p.repairOrderId}`,
    }),
  );
};

// --- Estimates -------------------------------------------------------------------------------------

const estimatePayload = z.object({
  estimateId: uuid,
  repairOrderId: uuid,
  partnerId: uuid,
  customerTenantId: z.string().min(1),
  customerUserId: uuid.nullable().optional(),
  currency: z.string().length(3),
  totalMinor: z.number().int().optional(),
  approvedTotalMinor: z.number().int().optional(),
  outcome: z.string().optional(),
});

async function vehicleOfRepairOrder(q: Queryable, repairOrderId: string): Promise<string> {
  const { rows } = await q.query<{ name: string }>(
    'SELECT v.name FROM repair_orders o JOIN vehicles v ON v.id = o.vehicle_id WHERE o.id = $1',
    [repairOrderId],
  );
  return rows[0]?.name ?? '';
}

/** `estimate.sent`: the estimate is ready for the customer to decide. */
const estimateSent: Mapper = async ({ q, policy, event }) => {
  const p = estimatePayload.parse(event.payload);
  const audience = await customerOf(q, policy, {
    type: 'estimate',
    id: p.repairOrderId,
    partnerId: p.partnerId,
    customerTenantId: p.customerTenantId,
    customerUserId: p.customerUserId ?? null,
  });
  if (audience.length === 0) return [];
  const shop = await shopName(q, p.partnerId);
  const vehicle = await vehicleOfRepairOrder(q, p.repairOrderId);
  return audience.map((who) =>
    requestFor(who, {
      key: event.id,
      category: 'estimate',
      template: 'notify.estimate.ready',
      params: { shop, vehicle, amountMinor: p.totalMinor ?? 0, currency: p.currency },
      url: `/repair-order.html?id=${p.repairOrderId}`,
    }),
  );
};

/** `estimate.decided`: the customer approved or declined; the shop's estimate writers go on from there. */
const estimateDecided: Mapper = async ({ q, policy, event }) => {
  const p = estimatePayload.parse(event.payload);
  if (!event.tenantId) return [];
  const audience = await shopStaff(
    q,
    policy,
    {
      type: 'estimate',
      id: p.repairOrderId,
      tenantId: event.tenantId,
      partnerId: p.partnerId,
      customerUserId: p.customerUserId ?? null,
    },
    'estimates:write',
  );
  if (audience.length === 0) return [];
  const customer = await userName(q, p.customerUserId);
  const vehicle = await vehicleOfRepairOrder(q, p.repairOrderId);
  return audience.map((who) =>
    requestFor(who, {
      key: event.id,
      category: 'estimate',
      template: 'notify.estimate.decided',
      params: {
        customer,
        vehicle,
        decision: p.outcome === 'approved' ? 'approved' : 'declined',
        amountMinor: p.approvedTotalMinor ?? 0,
        currency: p.currency,
      },
      url: `/repair-order.html?id=${p.repairOrderId}`,
    }),
  );
};

// --- Payments --------------------------------------------------------------------------------------

const paymentPayload = z.object({
  paymentId: uuid,
  partnerId: uuid.nullable().optional(),
  repairOrderId: uuid.nullable().optional(),
  customerUserId: uuid.nullable().optional(),
  status: z.string(),
  amountMinor: z.number().int(),
  capturedMinor: z.number().int(),
  refundedMinor: z.number().int(),
  currency: z.string().length(3),
});

/**
 * `payment.updated` (a trigger sends it with every change of a payment): the payer hears of a
 * capture, a refund (each partial refund: the refunded total is part of the key) and a failure.
 */
const paymentUpdated: Mapper = async ({ q, event }) => {
  const p = paymentPayload.parse(event.payload);
  const kind =
    p.status === 'captured'
      ? 'captured'
      : p.status === 'refunded' || p.status === 'partially_refunded'
        ? 'refunded'
        : p.status === 'failed'
          ? 'failed'
          : undefined;
  if (!kind || !p.customerUserId) return [];
  const audience = await loadRecipients(q, [p.customerUserId]);
  if (audience.length === 0) return [];
  const shop = await shopName(q, p.partnerId);
  const amountMinor = kind === 'captured' ? p.capturedMinor : kind === 'refunded' ? p.refundedMinor : p.amountMinor;
  return audience.map((who) =>
    requestFor(who, {
      key: `payment:${p.paymentId}:${p.status}:${p.refundedMinor}`,
      category: 'payment',
      template: `notify.payment.${kind}`,
      params: { shop, amountMinor, currency: p.currency },
      url: repairOrderUrl(p.repairOrderId ?? null) ?? '/wallet.html',
    }),
  );
};

// --- Chat --------------------------------------------------------------------------------------------

const PREVIEW_CHARS = 140;

const chatPayload = z.object({
  roomId: uuid,
  message: z.object({
    id: uuid,
    sender: z.object({ userId: uuid, displayName: z.string().optional() }),
    body: z.string().optional(),
    sealed: z.object({ keyId: z.string(), nonce: z.string(), ciphertext: z.string() }).nullable().optional(),
    mentions: z.array(uuid).optional(),
    deletedAt: z.string().nullable().optional(),
  }),
  participantUserIds: z.array(uuid),
  room: z.object({ kind: z.string(), title: z.string().nullable(), bookingId: uuid.nullable() }).partial().optional(),
});

/** A room's name in a notification, and where it opens: a booking room on its repair order's page. */
async function roomFacts(
  q: Queryable,
  room: { title?: string | null | undefined; bookingId?: string | null | undefined },
): Promise<{ title: string; url: string | undefined }> {
  if (!room.bookingId) return { title: room.title ?? '', url: undefined };
  const { rows } = await q.query<{ shop: string; repair_order_id: string | null }>(
    `SELECT p.name AS shop,
            (SELECT o.id::text FROM repair_orders o WHERE o.booking_id = b.id ORDER BY o.created_at LIMIT 1) AS repair_order_id
       FROM bookings b JOIN partners p ON p.id = b.partner_id WHERE b.id = $1`,
    [room.bookingId],
  );
  const row = rows[0];
  return {
    title: room.title || row?.shop || '',
    url: row?.repair_order_id ? `/repair-order.html?id=${row.repair_order_id}#chat` : undefined,
  };
}

/**
 * `chat.message`: every other participant of the room hears of it (category chat); the users it
 * mentions get `notify.chat.mention` instead. The in-app inbox always gets it; push and e-mail
 * follow each person's preferences and quiet hours (docs/notifications.md). Whether someone has the
 * room open is not asked: an open tab and a phone in a pocket look alike to the server, and the
 * pages mark the inbox item read when the room is in view. The event carries the body sealed (chat
 * bodies are encrypted at rest, outbox included): it is opened here with the chat key ring for the
 * preview, which the recipient's notification then holds.
 */
const chatMessage: Mapper = async ({ q, event, chatKeys }) => {
  const p = chatPayload.parse(event.payload);
  if (p.message.deletedAt) return [];
  const participants = p.participantUserIds;
  const mentioned = new Set((p.message.mentions ?? []).filter((id) => participants.includes(id)));
  const sender = p.message.sender;
  const audience = await loadRecipients(
    q,
    participants.filter((id) => id !== sender.userId),
  );
  if (audience.length === 0) return [];
  const room = await roomFacts(q, p.room ?? {});
  const senderName = sender.displayName ?? (await userName(q, sender.userId));
  const body = p.message.sealed
    ? openBody(chatKeys ?? devKeyRing(), sealedFromWire(p.message.sealed), p.roomId, p.message.id)
    : (p.message.body ?? '');
  const preview = body.length > PREVIEW_CHARS ? `${body.slice(0, PREVIEW_CHARS - 1)}…` : body;
  const params: Params = { sender: senderName, room: room.title || senderName, preview };
  return audience.map((who) =>
    requestFor(who, {
      key: event.id,
      category: 'chat',
      template: mentioned.has(who.userId) ? 'notify.chat.mention' : 'notify.chat.message',
      params,
      ...(room.url ? { url: room.url } : {}),
    }),
  );
};

/** Topic -> mapper. `NOTIFYING_TOPICS` (sink.ts) must name exactly these (a test holds them equal). */
export const MAPPERS: Readonly<Record<string, Mapper>> = {
  'vehicle.alert': healthAlert,
  'vehicle.dtc': troubleCodes,
  'booking.updated': bookingUpdated,
  'repair-order.status-changed': repairOrderMoved,
  'estimate.sent': estimateSent,
  'estimate.decided': estimateDecided,
  'payment.updated': paymentUpdated,
  'chat.message': chatMessage,
};

/** The requests an event makes; none for a topic that notifies nobody. */
export async function requestsFor(ctx: MapperContext): Promise<NotificationRequest[]> {
  const mapper = MAPPERS[ctx.event.topic];
  return mapper ? mapper(ctx) : [];
}
