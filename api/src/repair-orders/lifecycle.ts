import type { Queryable } from '@clutch/db';
import { appendEvent } from '@clutch/jobs';
import { apiError } from '../errors.js';

/**
 * The repair-order lifecycle (issue 15, item 4), written once: the states, every allowed move and
 * which side may make it. The database holds the same table (db/migrations/026_bookings.sql,
 * `repair_order_transitions`) and a trigger refuses any other change of status, so a caller that
 * bypasses this module still cannot skip a state; lifecycle.test.ts keeps the two equal.
 */
export const REPAIR_ORDER_STATUSES = [
  'requested',
  'confirmed',
  'checked_in',
  'diagnosis',
  'estimate_sent',
  'approved',
  'declined',
  'in_progress',
  'waiting_parts',
  'waiting_customer',
  'sublet',
  'quality_check',
  'ready_for_pickup',
  'delivered',
  'closed',
  'cancelled',
  'no_show',
  'delivered_without_repair',
] as const;

export type RepairOrderStatus = (typeof REPAIR_ORDER_STATUSES)[number];

/** Who makes a move: the shop's staff, the customer (owner or fleet), or the platform's jobs. */
export type TransitionSide = 'shop' | 'customer' | 'system';

/**
 * A condition on the order's history the database checks too. `work_approved`: some estimate was
 * approved before (after a declined supplemental estimate, the approved work goes on).
 */
export type TransitionGuard = 'work_approved';

/**
 * Where a move is made when it carries data or changes more than the order: those moves are refused
 * by `POST /api/repair-orders/:id/transitions`, which names the route to use instead.
 */
export type TransitionRoute = 'booking-confirm' | 'booking-cancel' | 'check-in' | 'estimate-send' | 'estimate-decision';

export interface Transition {
  from: RepairOrderStatus;
  to: RepairOrderStatus;
  sides: readonly TransitionSide[];
  guard?: TransitionGuard;
}

const t = (
  from: RepairOrderStatus,
  to: RepairOrderStatus,
  sides: readonly TransitionSide[],
  guard?: TransitionGuard,
): Transition => (guard ? { from, to, sides, guard } : { from, to, sides });

/** Every allowed move. Anything else is refused here and by the database. */
export const TRANSITIONS: readonly Transition[] = [
  t('requested', 'confirmed', ['shop']),
  t('requested', 'cancelled', ['shop', 'customer', 'system']),
  t('confirmed', 'checked_in', ['shop']),
  t('confirmed', 'cancelled', ['shop', 'customer', 'system']),
  t('confirmed', 'no_show', ['shop', 'system']),
  t('checked_in', 'diagnosis', ['shop']),
  // A fixed-price job needs no diagnosis before its estimate.
  t('checked_in', 'estimate_sent', ['shop']),
  t('checked_in', 'delivered_without_repair', ['shop']),
  t('diagnosis', 'estimate_sent', ['shop']),
  t('diagnosis', 'delivered_without_repair', ['shop']),
  t('estimate_sent', 'approved', ['customer']),
  t('estimate_sent', 'declined', ['customer']),
  // 'system': after a supplemental estimate's decision the work goes on by itself (M3).
  t('approved', 'in_progress', ['shop', 'system']),
  // A revised estimate after a decline.
  t('declined', 'estimate_sent', ['shop']),
  // A declined supplemental estimate: the work approved before goes on.
  t('declined', 'in_progress', ['shop', 'system'], 'work_approved'),
  t('declined', 'delivered_without_repair', ['shop']),
  t('in_progress', 'waiting_parts', ['shop', 'system']),
  t('in_progress', 'waiting_customer', ['shop']),
  t('in_progress', 'sublet', ['shop']),
  // Supplemental estimates: extra work found mid-repair.
  t('in_progress', 'estimate_sent', ['shop']),
  t('in_progress', 'quality_check', ['shop']),
  t('waiting_parts', 'in_progress', ['shop', 'system']),
  t('waiting_parts', 'estimate_sent', ['shop']),
  // The customer answers the shop's question ("go ahead"): POST /api/repair-orders/:id/resume.
  t('waiting_customer', 'in_progress', ['shop', 'customer']),
  t('waiting_customer', 'estimate_sent', ['shop']),
  t('sublet', 'in_progress', ['shop']),
  t('sublet', 'estimate_sent', ['shop']),
  t('quality_check', 'in_progress', ['shop']),
  t('quality_check', 'ready_for_pickup', ['shop']),
  t('ready_for_pickup', 'delivered', ['shop']),
  t('delivered', 'closed', ['shop', 'system']),
  t('delivered_without_repair', 'closed', ['shop', 'system']),
];

/** States no move leaves. */
export const TERMINAL_STATUSES: readonly RepairOrderStatus[] = REPAIR_ORDER_STATUSES.filter(
  (s) => !TRANSITIONS.some((tr) => tr.from === s),
);

/**
 * The moves that carry data or change the booking too, and the route that makes them (M3 owns
 * check-in and estimates; the booking routes own confirmation and cancellation, which also change the
 * booking and its reservations). The target state decides: every move into it goes through that route.
 */
export const TRANSITION_ROUTES: Readonly<Partial<Record<RepairOrderStatus, { route: TransitionRoute; path: string }>>> =
  {
    confirmed: { route: 'booking-confirm', path: 'POST /api/bookings/:id/confirm' },
    cancelled: { route: 'booking-cancel', path: 'POST /api/bookings/:id/cancel' },
    checked_in: { route: 'check-in', path: 'POST /api/repair-orders/:id/check-in' },
    estimate_sent: { route: 'estimate-send', path: 'POST /api/estimates/:id/send' },
    approved: { route: 'estimate-decision', path: 'POST /api/estimates/:id/decision' },
    declined: { route: 'estimate-decision', path: 'POST /api/estimates/:id/decision' },
  };

const byPair = new Map(TRANSITIONS.map((tr) => [`${tr.from}>${tr.to}`, tr]));

export function isRepairOrderStatus(value: unknown): value is RepairOrderStatus {
  return typeof value === 'string' && (REPAIR_ORDER_STATUSES as readonly string[]).includes(value);
}

/** The allowed move from `from` to `to`, if there is one (whoever may make it). */
export function transitionOf(from: RepairOrderStatus, to: RepairOrderStatus): Transition | undefined {
  return byPair.get(`${from}>${to}`);
}

/** Where the order may go next, and by whom (for the job board's buttons and the random walk). */
export function nextStatuses(from: RepairOrderStatus, side?: TransitionSide): RepairOrderStatus[] {
  return TRANSITIONS.filter((tr) => tr.from === from && (side === undefined || tr.sides.includes(side))).map(
    (tr) => tr.to,
  );
}

/** Why a move is refused, or undefined when `side` may make it (given the order's history). */
export function refusal(
  from: RepairOrderStatus,
  to: RepairOrderStatus,
  side: TransitionSide,
  history: { workApproved: boolean },
): string | undefined {
  const tr = transitionOf(from, to);
  if (!tr) return `A repair order cannot move from ${from} to ${to}`;
  if (!tr.sides.includes(side)) return `The ${side} cannot move a repair order from ${from} to ${to}`;
  if (tr.guard === 'work_approved' && !history.workApproved)
    return `A repair order moves from ${from} to ${to} only after some work was approved`;
  return undefined;
}

export interface TransitionInput {
  repairOrderId: string;
  to: RepairOrderStatus;
  /** `user:<uuid>` | `key:<id>` | `system` | `admin` */
  actor: string;
  side: TransitionSide;
  note?: string | undefined;
  data?: Record<string, unknown> | undefined;
}

export interface TransitionResult {
  from: RepairOrderStatus;
  to: RepairOrderStatus;
  at: Date;
}

interface LockedOrder {
  id: string;
  tenant_id: string;
  partner_id: string;
  booking_id: string | null;
  customer_tenant_id: string;
  customer_user_id: string | null;
  vehicle_id: string | null;
  status: RepairOrderStatus;
  approved_at: Date | null;
}

/** The problem a refused move answers with (409), with what the caller needs to correct it. */
export function invalidTransition(
  repairOrderId: string,
  from: RepairOrderStatus | undefined,
  to: RepairOrderStatus,
  detail: string,
): Error {
  return apiError('INVALID_TRANSITION', detail, {
    repairOrderId,
    ...(from ? { from, allowed: nextStatuses(from) } : {}),
    to,
  });
}

/** True for the database's refusal of a status change (the trigger of migration 026). */
export function isTransitionRefusedByDatabase(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown } | null;
  return (
    e !== null &&
    typeof e === 'object' &&
    e.code === '23514' &&
    (e.constraint === 'repair_order_transition' ||
      (typeof e.message === 'string' && /repair order .* cannot move|starts as requested/.test(e.message)))
  );
}

/**
 * Moves a repair order, in the caller's transaction: locks the row, checks the move against the
 * lifecycle and the side, updates it, appends its timeline event and the outbox event
 * `repair-order.status-changed`. The only code that changes `repair_orders.status` (M3 and M4 call
 * it for their moves). Throws NOT_FOUND-like `REPAIR_ORDER_NOT_FOUND` when the caller cannot see the
 * order, `INVALID_TRANSITION` (409) when the move is not allowed.
 */
export async function transitionRepairOrder(tx: Queryable, input: TransitionInput): Promise<TransitionResult> {
  const { rows } = await tx.query<LockedOrder>(
    `SELECT id, tenant_id, partner_id, booking_id, customer_tenant_id, customer_user_id, vehicle_id, status, approved_at
       FROM repair_orders WHERE id = $1 FOR UPDATE`,
    [input.repairOrderId],
  );
  const order = rows[0];
  if (!order) throw apiError('REPAIR_ORDER_NOT_FOUND', undefined, { repairOrderId: input.repairOrderId });
  const from = order.status;
  const why = refusal(from, input.to, input.side, { workApproved: order.approved_at !== null });
  if (why) throw invalidTransition(order.id, from, input.to, why);

  let at: Date;
  try {
    const updated = await tx.query<{ at: Date }>(
      `UPDATE repair_orders SET status = $2, status_changed_at = clock_timestamp()
        WHERE id = $1 RETURNING status_changed_at AS at`,
      [order.id, input.to],
    );
    at = new Date(updated.rows[0]!.at);
  } catch (err) {
    if (isTransitionRefusedByDatabase(err))
      throw invalidTransition(order.id, from, input.to, `The database refused the move from ${from} to ${input.to}`);
    throw err;
  }
  await tx.query(
    `INSERT INTO repair_order_events
       (tenant_id, repair_order_id, customer_tenant_id, customer_user_id, from_status, to_status, actor, side, at, note, data)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)`,
    [
      order.tenant_id,
      order.id,
      order.customer_tenant_id,
      order.customer_user_id,
      from,
      input.to,
      input.actor,
      input.side,
      at,
      input.note ?? null,
      input.data === undefined ? null : JSON.stringify(input.data),
    ],
  );
  await appendEvent(tx, {
    tenantId: order.tenant_id,
    topic: 'repair-order.status-changed',
    payload: {
      repairOrderId: order.id,
      bookingId: order.booking_id,
      partnerId: order.partner_id,
      customerTenantId: order.customer_tenant_id,
      customerUserId: order.customer_user_id,
      vehicleId: order.vehicle_id,
      from,
      to: input.to,
      at: at.toISOString(),
    },
  });
  return { from, to: input.to, at };
}
