import type { Queryable } from '@clutch/db';
import { apiError } from '../errors.js';
import { moveMoney, opensHold, holdTransferId, type MoneyDeps } from './money.js';
import type { ProviderPayment } from './providers/provider.js';
import { PaymentsRepository, type PaymentPatch, type PaymentRow } from './repository.js';
import { isCaptured, nextStates } from './states.js';

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
  // Usually one step; a capture and a refund the provider made before we applied either are two,
  // each written, booked and recorded in this transaction (states.ts, `nextStates`).
  const steps = nextStates(row, view);
  let current = row;
  let changed = false;
  const first: PaymentPatch = {};
  if (row.providerRef === null && view.providerRef) first.providerRef = view.providerRef;
  if (steps.length === 0 && first.providerRef !== undefined) {
    current = await applyStep(repo, q, current, first, cause, money, now);
    changed = true;
  }
  for (const [i, next] of steps.entries()) {
    const patch: PaymentPatch = i === 0 ? { ...first } : {};
    if (next.status !== current.status) patch.status = next.status;
    if (next.capturedMinor !== current.capturedMinor) patch.capturedMinor = next.capturedMinor;
    if (next.refundedMinor !== current.refundedMinor) patch.refundedMinor = next.refundedMinor;
    if (next.authorizationExpiresAt?.getTime() !== current.authorizationExpiresAt?.getTime())
      patch.authorizationExpiresAt = next.authorizationExpiresAt;
    if (next.failureCode !== current.failureCode) patch.failureCode = next.failureCode;
    if (opensHold(current, next)) patch.holdTransferId = holdTransferId(current.id);
    if (isCaptured(next.status) && current.captureSeq === 0) patch.captureSeq = 1;
    if (Object.keys(patch).length === 0) continue;
    current = await applyStep(repo, q, current, patch, cause, money, now);
    changed = true;
  }
  return { payment: current, changed };
}

/** One compare-and-set, its ledger movements and commission, and its history row. */
async function applyStep(
  repo: PaymentsRepository,
  q: Queryable,
  row: PaymentRow,
  patch: PaymentPatch,
  cause: ChangeCause,
  money: MoneyDeps,
  now: Date,
): Promise<PaymentRow> {
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
  return after;
}
