import type { Scope } from '../auth/scope.js';
import { transferId } from '../ledger/ids.js';
import { DEFAULT_MONEY, holdTransferId, moveMoney, type MoneyDeps } from './money.js';
import type { ProviderPayment } from './providers/provider.js';
import { PaymentsRepository, type PaymentRow } from './repository.js';
import { PaymentsService, type PaymentsServiceOptions } from './service.js';

/**
 * Holds before they lapse (issue 16, item 6): a card authorisation lives 7 days at Stripe. Every hold
 * within `windowHours` of `authorization_expires_at` is settled by its booking's state:
 *
 * - the booking was cancelled, expired or a no-show with nothing to charge, or its repair order
 *   ended without repair: released;
 * - the repair order was delivered (the settle job should have captured it; it failed): captured
 *   as the delivery job would;
 * - otherwise (the work is still ahead): renewed, as a new authorisation off-session with the same
 *   payment method (Stripe: a new PaymentIntent with `confirm`), recorded on the same payment row
 *   (its provider reference and hold transfer move to the new one) and the old authorisation cancelled.
 *   A hold without a reusable payment method cannot be renewed: it is left to lapse and the shop is
 *   paid at the counter (logged).
 */
export const PAYMENT_CRONS = {
  renewHolds: { queue: 'payments.renew-holds', cron: '7 2 * * *' },
  reconcile: { queue: 'payments.reconcile', cron: '37 3 * * *' },
  verifyPending: { queue: 'payments.verify-pending', cron: '* * * * *' },
} as const;

export interface RenewResult {
  renewed: number;
  released: number;
  captured: number;
  left: number;
}

interface HoldFacts {
  id: string;
  bookingStatus: string | null;
  orderStatus: string | null;
  orderId: string | null;
}

export async function renewExpiringHolds(
  scope: Scope,
  deps: PaymentsServiceOptions & { money?: MoneyDeps | undefined },
  options: { windowHours?: number; now?: Date } = {},
): Promise<RenewResult> {
  const now = options.now ?? deps.now?.() ?? new Date();
  const windowHours = options.windowHours ?? 24;
  const service = new PaymentsService(deps);
  const money = deps.money ?? DEFAULT_MONEY;
  const due = await scope.run(async (q) => {
    const { rows } = await q.query<HoldFacts>(
      `SELECT p.id, b.status AS "bookingStatus", ro.status AS "orderStatus", ro.id AS "orderId"
         FROM payments p
         LEFT JOIN bookings b ON b.id = p.booking_id
         LEFT JOIN repair_orders ro ON ro.id = coalesce(p.repair_order_id, (SELECT r.id FROM repair_orders r WHERE r.booking_id = p.booking_id))
        WHERE p.status = 'authorized' AND p.authorization_expires_at IS NOT NULL
          AND p.authorization_expires_at < $1::timestamptz + make_interval(hours => $2)
        ORDER BY p.authorization_expires_at LIMIT 500`,
      [now, windowHours],
    );
    return rows;
  });
  const result: RenewResult = { renewed: 0, released: 0, captured: 0, left: 0 };
  for (const hold of due) {
    const payment = await scope.run((q) => new PaymentsRepository(q).get(hold.id));
    if (!payment || payment.status !== 'authorized') continue;
    const cause = { actor: 'system:payments', kind: 'hold-expiring' };
    const ended =
      ['cancelled', 'expired', 'no_show'].includes(hold.bookingStatus ?? '') ||
      ['cancelled', 'no_show', 'delivered_without_repair', 'closed'].includes(hold.orderStatus ?? '');
    if (hold.orderStatus === 'delivered' || (hold.orderStatus === 'closed' && payment.capturedMinor === 0 && !ended)) {
      await service.captureRow(scope, payment, undefined, cause);
      result.captured++;
    } else if (ended) {
      await service.cancelRow(scope, payment, cause);
      result.released++;
    } else if (await renewHold(scope, deps, money, payment, now)) result.renewed++;
    else result.left++;
  }
  return result;
}

/** A new authorisation for the same payment; the old one is cancelled once the new one holds. */
async function renewHold(
  scope: Scope,
  deps: PaymentsServiceOptions,
  money: MoneyDeps,
  payment: PaymentRow,
  now: Date,
): Promise<boolean> {
  if (payment.provider === 'wallet' || payment.provider === 'cash' || payment.paymentMethod === null) {
    deps.logger?.info({ paymentId: payment.id }, 'a hold without a reusable payment method lapses; paid at the shop');
    return false;
  }
  const provider = deps.providers?.providers.get(payment.provider);
  if (!provider) return false;
  const renewal = await scope.run(async (q) => {
    const { rows } = await q.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM payment_events WHERE payment_id = $1 AND kind = 'hold-renewed'`,
      [payment.id],
    );
    return rows[0]!.n + 1;
  });
  const fresh: ProviderPayment = await provider.authorize({
    idempotencyKey: `${payment.id}:renew:${renewal}`,
    amount: { amountMinor: payment.amountMinor, currency: payment.currency },
    capture: 'manual',
    paymentMethod: payment.paymentMethod,
    confirm: true,
    description: `Clutch ${payment.purpose} (renewed hold)`,
    // A destination charge stays one (its fee is set at capture).
    ...(payment.connectAccount !== null ? { destination: { account: payment.connectAccount } } : {}),
    metadata: { paymentId: payment.id, renewal: String(renewal) },
  });
  if (fresh.status !== 'authorized') {
    if (fresh.providerRef)
      await provider
        .cancel(fresh.providerRef, { idempotencyKey: `${payment.id}:renew:${renewal}:cancel` })
        .catch(() => undefined);
    return false;
  }
  const old = { ref: payment.providerRef!, hold: payment.holdTransferId };
  await scope.run(async (q) => {
    const repo = new PaymentsRepository(q);
    const row = (await repo.get(payment.id, true))!;
    if (row.status !== 'authorized' || row.providerRef !== old.ref) return;
    const moved = await repo.compareAndSet(row.id, row.version, {
      providerRef: fresh.providerRef,
      holdTransferId: holdTransferId(row.id, renewal),
      authorizationExpiresAt: fresh.authorizationExpiresAt ?? null,
    });
    if (!moved) return;
    // The old hold is released in the ledger, the new one opened (money.ts moves both by the row change).
    if (old.hold) {
      await money.ledger.resolvePending(q, [
        { id: transferId(`void:${old.hold}`), pendingId: old.hold, action: 'void', reason: 'hold_renewed' },
      ]);
    }
    await moveMoney(q, { ...row, holdTransferId: old.hold }, moved, money, now);
    await repo.appendEvent(moved, {
      from: row.status,
      to: moved.status,
      actor: 'system:payments',
      kind: 'hold-renewed',
      data: { previousRef: old.ref, providerRef: fresh.providerRef },
    });
  });
  await provider.cancel(old.ref, { idempotencyKey: `${payment.id}:renew:${renewal}:release` }).catch((err: unknown) => {
    deps.logger?.warn({ err, paymentId: payment.id }, 'the replaced authorisation could not be cancelled; it lapses');
  });
  return true;
}
