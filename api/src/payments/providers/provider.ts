/**
 * The one interface every payment provider adapter implements (Stripe, PayPal, cash/manual). The
 * payments domain speaks only this; each adapter uses the provider's official SDK and passes the same
 * contract test (providers/provider.contract.ts) against a local server speaking the provider's
 * documented wire format (@clutch/emulators).
 *
 * Amounts are integer minor units of an upper-case ISO 4217 currency. Every call that moves money
 * carries an idempotency key, which the adapter passes to the provider (Stripe's `Idempotency-Key`
 * header, PayPal's `PayPal-Request-Id`), so a retried call never moves money twice.
 */
export type ProviderName = 'stripe' | 'paypal' | 'cash';

export interface Money {
  amountMinor: number;
  currency: string;
}

/**
 * Where a payment stands at the provider. `requires_action`: the payer still has to confirm (card
 * step, PayPal approval); `authorized`: held, capturable until `authorizationExpiresAt`; `captured`:
 * money taken (partly, when `amountCapturedMinor` < authorised; the rest is released); `cancelled`:
 * the hold was released with nothing taken; `failed`: refused.
 */
export type ProviderPaymentStatus = 'requires_action' | 'authorized' | 'captured' | 'cancelled' | 'failed';

export interface ProviderPayment {
  provider: ProviderName;
  /** The provider's id: Stripe `pi_...`, PayPal order id, cash: ours. */
  providerRef: string;
  status: ProviderPaymentStatus;
  currency: string;
  amountAuthorizedMinor: number;
  amountCapturedMinor: number;
  amountRefundedMinor: number;
  /** For the browser to confirm the payment (Stripe client secret); never stored, never logged. */
  clientSecret?: string | undefined;
  /** Where the payer approves the payment (PayPal). */
  approvalUrl?: string | undefined;
  /** When the provider would let an uncaptured hold lapse (7 days for Stripe card authorisations). */
  authorizationExpiresAt?: Date | undefined;
  /** Why the provider refused, in its own words (`card_declined`, ...). */
  failureCode?: string | undefined;
}

export interface AuthorizeInput {
  idempotencyKey: string;
  amount: Money;
  /** `manual`: hold now, capture later (booking holds); `automatic`: take the money at once. */
  capture: 'manual' | 'automatic';
  /** A saved or just-collected payment method (Stripe `pm_...`); absent: the payer confirms later. */
  paymentMethod?: string | undefined;
  /** Confirm at once with `paymentMethod` (off-session charges: installments, top-ups). */
  confirm?: boolean | undefined;
  /**
   * A destination charge to a partner's connected account, keeping `applicationFeeMinor` for us
   * (absent: a hold whose fee the capture sets, as the commission depends on what is captured).
   */
  destination?: { account: string; applicationFeeMinor?: number | undefined } | undefined;
  description?: string | undefined;
  /** Our ids (paymentId, bookingId, ...): strings only, as providers store them. */
  metadata: Record<string, string>;
}

export interface CaptureInput {
  idempotencyKey: string;
  /** Partial capture: at most the authorised amount; absent: all of it. The rest is released. */
  amountMinor?: number | undefined;
  /** A destination charge's fee for this capture (commission). */
  applicationFeeMinor?: number | undefined;
}

export interface RefundInput {
  idempotencyKey: string;
  /** Partial refund; absent: whatever is left to refund. */
  amountMinor?: number | undefined;
  reason?: 'requested_by_customer' | 'duplicate' | 'fraudulent' | undefined;
  metadata?: Record<string, string> | undefined;
  /**
   * A Connect destination charge: take the connected account's share of the refund back from it, in
   * proportion to the amount refunded (Stripe's `reverse_transfer`). Providers without Connect
   * ignore it.
   */
  reverseTransfer?: boolean | undefined;
  /** A destination charge: return the platform's fee in proportion (Stripe's `refund_application_fee`). */
  refundApplicationFee?: boolean | undefined;
}

export interface ProviderRefund {
  refundRef: string;
  providerRef: string;
  status: 'pending' | 'succeeded' | 'failed';
  amountMinor: number;
  currency: string;
}

/**
 * A webhook the provider sent, verified and mapped onto our vocabulary. `id` is the provider's event
 * id: the same event delivered twice has the same id (that is how we deduplicate). `type: 'other'`
 * is an event we do not act on (still acknowledged).
 */
export interface ProviderEvent {
  id: string;
  provider: ProviderName;
  type:
    | 'payment.authorized'
    | 'payment.captured'
    | 'payment.cancelled'
    | 'payment.failed'
    | 'refund.succeeded'
    | 'refund.failed'
    | 'dispute.opened'
    | 'dispute.closed'
    | 'transfer.created'
    | 'payout.paid'
    | 'payout.failed'
    | 'other';
  /** The payment the event is about (Stripe `pi_...`); absent for events about other objects. */
  providerRef?: string | undefined;
  /** A refund, transfer, payout or dispute id, when the event is about one. */
  objectRef?: string | undefined;
  amountMinor?: number | undefined;
  currency?: string | undefined;
  occurredAt: Date;
  /** The provider's own event, for the record (stored, never trusted for amounts without retrieve). */
  raw: unknown;
}

export interface PaymentProvider {
  readonly name: ProviderName;
  authorize(input: AuthorizeInput): Promise<ProviderPayment>;
  /** Confirms a payment that `requires_action` with a payment method (what the browser's card step does). */
  confirm(providerRef: string, input: { idempotencyKey: string; paymentMethod: string }): Promise<ProviderPayment>;
  capture(providerRef: string, input: CaptureInput): Promise<ProviderPayment>;
  /** Releases an uncaptured hold. */
  cancel(providerRef: string, input: { idempotencyKey: string }): Promise<ProviderPayment>;
  refund(providerRef: string, input: RefundInput): Promise<ProviderRefund>;
  /** The provider's view now: what reconciliation and webhook processing trust. */
  retrieve(providerRef: string): Promise<ProviderPayment>;
  /**
   * Verifies a webhook's signature over the raw body and maps it; throws a `ProviderError` with
   * code `WEBHOOK_SIGNATURE_INVALID` when the signature, its timestamp (older than 5 minutes) or the
   * body does not hold. Providers without webhooks (cash) throw `WEBHOOK_UNSUPPORTED`.
   */
  parseWebhook(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): Promise<ProviderEvent>;
}

/** Money out to partners (Stripe Connect): transfers to their connected accounts, payouts to banks. */
export interface PayoutProvider {
  readonly name: ProviderName;
  /** A connected account for a partner (Express/Custom); returns its id (`acct_...`). */
  createConnectedAccount(input: {
    idempotencyKey: string;
    email?: string | undefined;
    country: string;
    metadata: Record<string, string>;
  }): Promise<{ account: string }>;
  transfer(input: {
    idempotencyKey: string;
    destination: string;
    amount: Money;
    metadata: Record<string, string>;
  }): Promise<{ transferRef: string; amountMinor: number; currency: string }>;
}

/** The provider's own books, for the daily reconciliation. */
export interface ProviderBalanceTransaction {
  id: string;
  type: 'charge' | 'refund' | 'transfer' | 'payout' | 'adjustment' | 'fee' | 'other';
  /** Gross, signed from the platform balance's point of view (a refund is negative). */
  amountMinor: number;
  feeMinor: number;
  currency: string;
  /** The payment, refund, transfer or payout it comes from (`pi_...`, `re_...`, `tr_...`). */
  sourceRef: string;
  createdAt: Date;
}

export interface BalanceSource {
  /** Every balance transaction created in [from, to), all pages. */
  balanceTransactions(range: { from: Date; to: Date }): AsyncIterable<ProviderBalanceTransaction>;
}

/** What the platform wires into the API (DomainDeps.payments): one adapter per configured provider. */
export interface PaymentProviders {
  providers: ReadonlyMap<ProviderName, PaymentProvider>;
  /** Absent when no provider with Connect is configured: payouts answer 503. */
  payouts?: PayoutProvider | undefined;
  /** Absent: reconciliation reports that it has nothing to compare. */
  balance?: BalanceSource | undefined;
}

/** Errors an adapter throws, mapped by the payments domain onto API problems. */
export type ProviderErrorCode =
  | 'PROVIDER_DECLINED'
  | 'PROVIDER_INVALID_REQUEST'
  | 'PROVIDER_UNAVAILABLE'
  | 'PROVIDER_IDEMPOTENCY_CONFLICT'
  | 'WEBHOOK_SIGNATURE_INVALID'
  | 'WEBHOOK_UNSUPPORTED';

export class ProviderError extends Error {
  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    /** The provider's own code (`card_declined`, `resource_missing`, ...). */
    readonly providerCode?: string,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}
