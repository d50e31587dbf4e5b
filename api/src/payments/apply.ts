import type { Queryable } from '@clutch/db';
import { apiError } from '../errors.js';
import { moveMoney, opensHold, holdTransferId, type MoneyDeps } from './money.js';
import type { ProviderPayment } from './providers/provider.js';
import { PaymentsRepository, type PaymentPatch, type PaymentRow } from './repository.js';
import { isCaptured, nextState } from './states.js';

/** Who caused a change, for the payment's history (`user:<id>`, `webhook:stripe:evt_...`, `system:verify`). */
export interface ChangeCause {
  actor: string;
  kind: string;
  data?: Record<string, unknown> | undefined;
}

/**
 * The one place a payment changes after it was stored: the provider's view (an API call's answer,
 * a retrieve, never a webhook's own amounts) goes through the state machine and, when it is a move
 * forward, is written with a compare-and-set under the row's lock, its ledger movements and
 * commission in the same transaction (money.ts), and its history row. The trigger on payments
 * appends `payment.updated` to the outbox with it. A view that is not a move forward changes
 * nothing: a second webhook, a retried job, an older event after a newer one.
 */
export async function applyProviderView(
  q: Queryable,
  paymentId: string,
  view: ProviderPayment,
  cause: ChangeCause,
  money: MoneyDeps,
  now: Date,
): Promise<{ payment: PaymentRow; changed: boolean }> {
  const repo = new PaymentsRepository(q);
  const row = await repo.get(paymentId, true);
  if (!row) throw apiError('PAYMENT_NOT_FOUND', undefined, { paymentId });
  if (view.currency.toUpperCase() !== row.currency)
    throw new Error(`payment ${row.id}: the provider answered in ${view.currency}, we asked for ${row.currency}`);
  const patch: PaymentPatch = {};
  if (row.providerRef === null && view.providerRef) patch.providerRef = view.providerRef;
  const next = nextState(row, view);
  if (next) {
    if (next.status !== row.status) patch.status = next.status;
    if (next.capturedMinor !== row.capturedMinor) patch.capturedMinor = next.capturedMinor;
    if (next.refundedMinor !== row.refundedMinor) patch.refundedMinor = next.refundedMinor;
    if (next.authorizationExpiresAt?.getTime() !== row.authorizationExpiresAt?.getTime())
      patch.authorizationExpiresAt = next.authorizationExpiresAt;
    if (next.failureCode !== row.failureCode) patch.failureCode = next.failureCode;
    if (opensHold(row, next)) patch.holdTransferId = holdTransferId(row.id);
    if (isCaptured(next.status) && row.captureSeq === 0) patch.captureSeq = 1;
  }
  if (Object.keys(patch).length === 0) return { payment: row, changed: false };
  const written = await repo.compareAndSet(row.id, row.version, patch);
  // Under the row's lock nobody else can have moved it; should it happen, nothing is written.
  if (!written) throw apiError('PAYMENT_STATE_CONFLICT', `Payment ${row.id} changed meanwhile; read it again`);
  let after = written;
  const moved = await moveMoney(q, row, after, money, now);
  if (moved.commissionMinor !== undefined && moved.commissionMinor !== after.commissionMinor)
    after = (await repo.compareAndSet(after.id, after.version, { commissionMinor: moved.commissionMinor })) ?? after;
  if (
    after.status !== row.status ||
    after.refundedMinor !== row.refundedMinor ||
    after.capturedMinor !== row.capturedMinor
  )
    await repo.appendEvent(after, {
      from: row.status,
      to: after.status,
      actor: cause.actor,
      kind: cause.kind,
      data: {
        ...cause.data,
        capturedMinor: after.capturedMinor,
        refundedMinor: after.refundedMinor,
        ...(after.failureCode ? { failureCode: after.failureCode } : {}),
      },
    });
  return { payment: after, changed: true };
}
