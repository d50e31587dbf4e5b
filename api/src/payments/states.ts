import type { ProviderPayment } from './providers/provider.js';
import type { PaymentStatus } from './types.js';

/**
 * The payment state machine, written once (docs/payments-flows.md draws it). The database holds the
 * same table (db/migrations/032_payments.sql, `payment_transitions`) and a trigger refuses any other
 * change of status; states.test.ts keeps the two equal.
 *
 * Every change of a payment, whatever caused it (our API call's answer, a webhook, verify, a job),
 * goes through `nextState`: the provider's view is mapped onto ours and applied only when it is a
 * move forward. An older view after a newer one (a reordered webhook) is not a move forward, so it
 * changes nothing.
 */
export const PAYMENT_STATUSES: readonly PaymentStatus[] = [
  'pending',
  'requires_action',
  'authorized',
  'captured',
  'partially_refunded',
  'refunded',
  'cancelled',
  'failed',
];

export const PAYMENT_TRANSITIONS: readonly (readonly [PaymentStatus, PaymentStatus])[] = [
  ['pending', 'requires_action'],
  ['pending', 'authorized'],
  ['pending', 'captured'],
  ['pending', 'cancelled'],
  ['pending', 'failed'],
  ['requires_action', 'authorized'],
  ['requires_action', 'captured'],
  ['requires_action', 'cancelled'],
  ['requires_action', 'failed'],
  ['authorized', 'captured'],
  ['authorized', 'cancelled'],
  ['captured', 'partially_refunded'],
  ['captured', 'refunded'],
  ['partially_refunded', 'refunded'],
];

export function canMove(from: PaymentStatus, to: PaymentStatus): boolean {
  return PAYMENT_TRANSITIONS.some(([f, t]) => f === from && t === to);
}

export const TERMINAL: readonly PaymentStatus[] = PAYMENT_STATUSES.filter(
  (s) => !PAYMENT_TRANSITIONS.some(([f]) => f === s),
);

/** Captured, and maybe refunded since. */
export const isCaptured = (s: PaymentStatus): boolean =>
  s === 'captured' || s === 'partially_refunded' || s === 'refunded';

/** The part of a payment row the state machine decides on. */
export interface PaymentState {
  status: PaymentStatus;
  amountMinor: number;
  capturedMinor: number;
  refundedMinor: number;
  authorizationExpiresAt: Date | null;
  failureCode: string | null;
}

/** Our status for the provider's view of a payment. */
export function statusOf(
  p: Pick<ProviderPayment, 'status' | 'amountCapturedMinor' | 'amountRefundedMinor'>,
): PaymentStatus {
  if (p.status === 'captured') {
    if (p.amountRefundedMinor <= 0) return 'captured';
    return p.amountRefundedMinor >= p.amountCapturedMinor ? 'refunded' : 'partially_refunded';
  }
  return p.status;
}

/**
 * Where the payment goes given the provider's view, or null when that view is not a move forward
 * (the same state, an older one, or one the machine does not allow). Amounts only ever grow: a
 * refund total that went up is a move even when the status stays `partially_refunded`.
 */
export function nextState(current: PaymentState, provider: ProviderPayment): PaymentState | null {
  const status = statusOf(provider);
  const captured = isCaptured(status)
    ? Math.min(provider.amountCapturedMinor, current.amountMinor)
    : current.capturedMinor;
  const refunded = isCaptured(status) ? Math.min(provider.amountRefundedMinor, captured) : current.refundedMinor;
  const moves = status !== current.status && canMove(current.status, status);
  const grows =
    status === current.status &&
    isCaptured(status) &&
    (refunded > current.refundedMinor || captured > current.capturedMinor) &&
    captured >= current.capturedMinor &&
    refunded >= current.refundedMinor;
  // A hold the provider renewed its expiry for (or first told us about) is news too.
  const expiry = provider.authorizationExpiresAt ?? null;
  const newExpiry =
    status === 'authorized' &&
    current.status === 'authorized' &&
    expiry !== null &&
    expiry.getTime() !== current.authorizationExpiresAt?.getTime();
  if (!moves && !grows && !newExpiry) return null;
  if (moves && (captured < current.capturedMinor || refunded < current.refundedMinor)) return null;
  return {
    status,
    amountMinor: current.amountMinor,
    capturedMinor: captured,
    refundedMinor: refunded,
    authorizationExpiresAt:
      status === 'authorized' ? (expiry ?? current.authorizationExpiresAt) : current.authorizationExpiresAt,
    failureCode: status === 'failed' ? (provider.failureCode ?? 'failed') : current.failureCode,
  };
}

/**
 * The moves that bring the payment to the provider's view, in order: none, one, or two when the
 * provider captured and then refunded before we applied either (our capture call's answer lost and a
 * refund made in the provider's dashboard, or webhooks processed late). That payment goes through
 * `captured` (the capture at what the provider captured, nothing refunded) and then to the refund,
 * so its history, its ledger and its notifications show a capture and a refund, each once, and the
 * database's gate keeps refusing a refund of a payment that was never captured.
 */
export function nextStates(current: PaymentState, provider: ProviderPayment): PaymentState[] {
  const direct = nextState(current, provider);
  if (direct) return [direct];
  if (isCaptured(current.status) || !isCaptured(statusOf(provider)) || !canMove(current.status, 'captured')) return [];
  const capture = nextState(current, { ...provider, status: 'captured', amountRefundedMinor: 0 });
  if (!capture) return [];
  const refund = nextState(capture, provider);
  return refund ? [capture, refund] : [capture];
}
