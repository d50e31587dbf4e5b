import type { OutboxEvent, OutboxSink } from '@clutch/jobs';
import type { Scope } from '../auth/scope.js';
import { PaymentsRepository, type PaymentRow } from './repository.js';
import { PaymentsService, type PaymentsServiceOptions } from './service.js';
import type { PaymentView } from './types.js';

/**
 * The marketplace's money at the end of a repair order (docs/payments-flows.md, "Holds and capture"):
 *
 * - `delivered`: the hold is captured up to the approved estimates' total (min(hold, approved); no
 *   estimate decided: the whole hold, the booked fixed price). More approved than held: the rest is
 *   charged off-session with the payment method the hold was made with, when there is one; else it
 *   is paid at the shop (the shop records a cash payment).
 * - `cancelled` with a late-cancellation fee, `no_show` with a no-show fee: the fee is captured from
 *   the hold and the rest released; without a fee the hold is released.
 * - `delivered_without_repair`: released.
 *
 * The outbox topic `repair-order.status-changed` reaches it through a sink that enqueues one job
 * per event (`singletonKey` = the event id: a redelivered event queues nothing twice); the job is
 * idempotent anyway (capture of a captured payment and release of a released one change nothing).
 */
export const PAYMENT_SETTLE_QUEUE = 'payments.repair-order-settle';
export const PAYMENT_SETTLE_SETTINGS = { concurrency: 1, retryLimit: 10, retryDelay: 10, expireIn: 300 } as const;

const SETTLED_BY = ['delivered', 'cancelled', 'no_show', 'delivered_without_repair'] as const;
type SettlingStatus = (typeof SETTLED_BY)[number];

export interface SettleJobData {
  repairOrderId: string;
  to: SettlingStatus;
  eventId: string;
}

/** What the sink needs of the job queue (@clutch/jobs' JobQueue). */
export interface SettleEnqueuer {
  enqueue(queue: string, data: object, options?: { singletonKey?: string }): Promise<string | null>;
}

/** The outbox sink: a job per repair order reaching a settling state. */
export function repairOrderPaymentsSink(jobs: SettleEnqueuer): OutboxSink {
  return {
    name: 'payments.repair-order-settle',
    async deliver(event: OutboxEvent): Promise<void> {
      if (event.topic !== 'repair-order.status-changed') return;
      const payload = event.payload as { repairOrderId?: unknown; to?: unknown };
      if (typeof payload.repairOrderId !== 'string' || !(SETTLED_BY as readonly unknown[]).includes(payload.to)) return;
      const data: SettleJobData = {
        repairOrderId: payload.repairOrderId,
        to: payload.to as SettlingStatus,
        eventId: event.id,
      };
      await jobs.enqueue(PAYMENT_SETTLE_QUEUE, data, { singletonKey: event.id });
    },
  };
}

interface OrderFacts {
  id: string;
  bookingId: string | null;
  status: string;
  approvedMinor: number | null;
  cancellationFeeMinor: number;
  noShowFeeMinor: number;
}

export interface SettleResult {
  captured: PaymentView[];
  released: PaymentView[];
  remainder: PaymentView | null;
  /** What is left to pay at the shop (no saved payment method for an off-session charge). */
  payAtShopMinor: number;
}

/** The job: settles the holds of one repair order for the state it reached. `scope`: a system scope. */
export async function settleRepairOrderPayments(
  scope: Scope,
  deps: PaymentsServiceOptions,
  data: Pick<SettleJobData, 'repairOrderId' | 'to'>,
): Promise<SettleResult> {
  const service = new PaymentsService(deps);
  const { order, holds } = await scope.run(async (q) => {
    const { rows } = await q.query<OrderFacts>(
      `SELECT ro.id, ro.booking_id AS "bookingId", ro.status,
              (SELECT sum(e.approved_total_minor)::float8 FROM estimates e
                WHERE e.repair_order_id = ro.id AND e.status = 'decided') AS "approvedMinor",
              coalesce(b.cancellation_fee_minor, 0) AS "cancellationFeeMinor",
              coalesce(b.no_show_fee_minor, 0) AS "noShowFeeMinor"
         FROM repair_orders ro LEFT JOIN bookings b ON b.id = ro.booking_id
        WHERE ro.id = $1`,
      [data.repairOrderId],
    );
    const order = rows[0];
    if (!order) return { order: undefined, holds: [] as PaymentRow[] };
    const { rows: ids } = await q.query<{ id: string }>(
      `SELECT id FROM payments
        WHERE (repair_order_id = $1 OR ($2::uuid IS NOT NULL AND booking_id = $2))
          AND purpose IN ('booking', 'repair') ORDER BY created_at`,
      [order.id, order.bookingId],
    );
    const repo = new PaymentsRepository(q);
    const holds: PaymentRow[] = [];
    for (const { id } of ids) holds.push((await repo.get(id))!);
    return { order, holds };
  });
  const result: SettleResult = { captured: [], released: [], remainder: null, payAtShopMinor: 0 };
  if (!order) return result;
  const cause = { actor: 'system:payments', kind: `repair-order:${data.to}`, data: { repairOrderId: order.id } };
  const open = holds.filter((p) => p.status === 'authorized');

  if (data.to === 'delivered') {
    const held = open.reduce((sum, p) => sum + p.amountMinor, 0);
    const alreadyCaptured = holds
      .filter((p) => p.purpose === 'booking' && p.capturedMinor > 0)
      .reduce((sum, p) => sum + p.capturedMinor, 0);
    const due = order.approvedMinor ?? held + alreadyCaptured;
    let toCapture = Math.max(0, Math.min(held, due - alreadyCaptured));
    for (const p of open) {
      const amount = Math.min(p.amountMinor, toCapture);
      toCapture -= amount;
      if (amount > 0) result.captured.push(await service.captureRow(scope, p, amount, cause));
      else result.released.push(await service.cancelRow(scope, p, cause));
    }
    const paid = result.captured.reduce((s, p) => s + p.capturedMinor, 0) + alreadyCaptured;
    const remainder = due - paid - holds.filter((p) => p.purpose === 'repair').reduce((s, p) => s + p.capturedMinor, 0);
    const source = holds.find((p) => p.paymentMethod !== null && p.provider !== 'cash' && p.provider !== 'wallet');
    if (remainder > 0 && source) {
      try {
        result.remainder = await service.start(
          { scope, actor: 'system:payments' },
          {
            purpose: 'repair',
            provider: source.provider,
            amountMinor: remainder,
            currency: source.currency,
            capture: 'automatic',
            paymentMethod: source.paymentMethod!,
            repairOrderId: order.id,
            bookingId: order.bookingId ?? undefined,
            partnerId: source.partnerId ?? undefined,
            shopTenantId: source.tenantId,
            customerTenantId: source.customerTenantId,
            customerUserId: source.customerUserId,
            idempotencyKey: `repair-remainder:${order.id}`,
          },
        );
      } catch (err) {
        // Declined: the customer pays the rest at the shop; the failed payment stays on record.
        deps.logger?.warn({ err, repairOrderId: order.id }, 'charging the rest of a repair failed; pay at the shop');
        result.payAtShopMinor = remainder;
      }
    } else if (remainder > 0) result.payAtShopMinor = remainder;
    return result;
  }

  const fee = data.to === 'cancelled' ? order.cancellationFeeMinor : data.to === 'no_show' ? order.noShowFeeMinor : 0;
  let feeLeft = fee;
  for (const p of open) {
    const amount = Math.min(p.amountMinor, feeLeft);
    feeLeft -= amount;
    if (amount > 0) result.captured.push(await service.captureRow(scope, p, amount, cause));
    else result.released.push(await service.cancelRow(scope, p, cause));
  }
  // Payments never authorised (the customer walked away from the card step) are given up too.
  for (const p of holds.filter((h) => h.status === 'pending' || h.status === 'requires_action'))
    result.released.push(await service.cancelRow(scope, p, cause));
  return result;
}
