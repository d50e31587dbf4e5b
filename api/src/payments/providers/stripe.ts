import Stripe from 'stripe';
import {
  ProviderError,
  type AuthorizeInput,
  type BalanceSource,
  type CaptureInput,
  type PaymentProvider,
  type PayoutProvider,
  type ProviderBalanceTransaction,
  type ProviderEvent,
  type ProviderPayment,
  type ProviderRefund,
  type RefundInput,
} from './provider.js';

export interface StripeProviderOptions {
  secretKey: string;
  /** `whsec_...` of the webhook endpoint. */
  webhookSecret: string;
  /** `http://127.0.0.1:<port>` of a local server speaking Stripe's wire format (@clutch/emulators); absent: api.stripe.com. */
  apiBase?: string | undefined;
  /** Retries of network errors, 409s and 5xx by the SDK, with the same idempotency key (default 2). */
  maxNetworkRetries?: number | undefined;
  timeoutMs?: number | undefined;
  /** Page size when listing balance transactions (Stripe allows 1..100). */
  pageSize?: number | undefined;
  /** The clock webhook timestamps are checked against (default: the wall clock). */
  now?: (() => Date) | undefined;
}

/** How old a webhook signature's timestamp may be (Stripe's own default tolerance). */
const WEBHOOK_TOLERANCE_SECONDS = 300;

/**
 * Stripe through the official SDK: PaymentIntents (hold with manual capture, partial capture, cancel),
 * refunds, Connect destination charges, transfers, balance transactions, signed webhooks.
 */
export function createStripeProvider(
  options: StripeProviderOptions,
): PaymentProvider & PayoutProvider & BalanceSource & { readonly client: Stripe } {
  const stripe = new Stripe(options.secretKey, {
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    timeout: options.timeoutMs ?? 20_000,
    telemetry: false,
    ...(options.apiBase ? baseAddress(options.apiBase) : {}),
  });
  const expandCharge = ['latest_charge'];

  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toProviderError(err);
    }
  };

  return {
    name: 'stripe',
    client: stripe,

    async authorize(input: AuthorizeInput): Promise<ProviderPayment> {
      const params: Stripe.PaymentIntentCreateParams = {
        amount: input.amount.amountMinor,
        currency: input.amount.currency.toLowerCase(),
        capture_method: input.capture === 'manual' ? 'manual' : 'automatic',
        allowed_payment_method_types: ['card'],
        metadata: input.metadata,
        expand: expandCharge,
      };
      if (input.paymentMethod) params.payment_method = input.paymentMethod;
      if (input.confirm && input.paymentMethod) params.confirm = true;
      if (input.description) params.description = input.description;
      if (input.destination) {
        params.transfer_data = { destination: input.destination.account };
        if (input.destination.applicationFeeMinor !== undefined)
          params.application_fee_amount = input.destination.applicationFeeMinor;
      }
      const pi = await call(() => stripe.paymentIntents.create(params, { idempotencyKey: input.idempotencyKey }));
      return toPayment(pi);
    },

    async confirm(providerRef, input): Promise<ProviderPayment> {
      const pi = await call(() =>
        stripe.paymentIntents.confirm(
          providerRef,
          // Without a new method, the one already attached is confirmed.
          { ...(input.paymentMethod ? { payment_method: input.paymentMethod } : {}), expand: expandCharge },
          { idempotencyKey: input.idempotencyKey },
        ),
      );
      return toPayment(pi);
    },

    async capture(providerRef: string, input: CaptureInput): Promise<ProviderPayment> {
      const params: Stripe.PaymentIntentCaptureParams = { expand: expandCharge };
      if (input.amountMinor !== undefined) params.amount_to_capture = input.amountMinor;
      if (input.applicationFeeMinor !== undefined) params.application_fee_amount = input.applicationFeeMinor;
      const pi = await call(() =>
        stripe.paymentIntents.capture(providerRef, params, { idempotencyKey: input.idempotencyKey }),
      );
      return toPayment(pi);
    },

    async cancel(providerRef, input): Promise<ProviderPayment> {
      const pi = await call(() =>
        stripe.paymentIntents.cancel(providerRef, { expand: expandCharge }, { idempotencyKey: input.idempotencyKey }),
      );
      return toPayment(pi);
    },

    async refund(providerRef: string, input: RefundInput): Promise<ProviderRefund> {
      const params: Stripe.RefundCreateParams = { payment_intent: providerRef };
      if (input.amountMinor !== undefined) params.amount = input.amountMinor;
      if (input.reason) params.reason = input.reason;
      if (input.metadata) params.metadata = input.metadata;
      if (input.reverseTransfer) params.reverse_transfer = true;
      if (input.refundApplicationFee) params.refund_application_fee = true;
      const refund = await call(() => stripe.refunds.create(params, { idempotencyKey: input.idempotencyKey }));
      return {
        refundRef: refund.id,
        providerRef,
        status:
          refund.status === 'succeeded'
            ? 'succeeded'
            : refund.status === 'failed' || refund.status === 'canceled'
              ? 'failed'
              : 'pending',
        amountMinor: refund.amount,
        currency: refund.currency.toUpperCase(),
      };
    },

    async retrieve(providerRef: string): Promise<ProviderPayment> {
      const pi = await call(() => stripe.paymentIntents.retrieve(providerRef, { expand: expandCharge }));
      return toPayment(pi);
    },

    async parseWebhook(rawBody, headers): Promise<ProviderEvent> {
      const header = headers['stripe-signature'];
      const signature = Array.isArray(header) ? header[0] : header;
      if (!signature) throw new ProviderError('WEBHOOK_SIGNATURE_INVALID', 'The Stripe-Signature header is missing');
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(
          rawBody,
          signature,
          options.webhookSecret,
          WEBHOOK_TOLERANCE_SECONDS,
          undefined,
          options.now?.().getTime(),
        );
      } catch (err) {
        throw new ProviderError('WEBHOOK_SIGNATURE_INVALID', `Stripe webhook not verified: ${(err as Error).message}`);
      }
      return toEvent(event);
    },

    async createConnectedAccount(input): Promise<{ account: string }> {
      const params: Stripe.AccountCreateParams = {
        type: 'express',
        country: input.country,
        metadata: input.metadata,
        capabilities: { transfers: { requested: true }, card_payments: { requested: true } },
      };
      if (input.email) params.email = input.email;
      const account = await call(() => stripe.accounts.create(params, { idempotencyKey: input.idempotencyKey }));
      return { account: account.id };
    },

    async transfer(input) {
      const transfer = await call(() =>
        stripe.transfers.create(
          {
            amount: input.amount.amountMinor,
            currency: input.amount.currency.toLowerCase(),
            destination: input.destination,
            metadata: input.metadata,
          },
          { idempotencyKey: input.idempotencyKey },
        ),
      );
      return { transferRef: transfer.id, amountMinor: transfer.amount, currency: transfer.currency.toUpperCase() };
    },

    async *balanceTransactions(range): AsyncIterable<ProviderBalanceTransaction> {
      // Stripe's `created` is in whole seconds: [floor(from), ceil(to)) covers the range.
      const list = stripe.balanceTransactions.list({
        created: { gte: Math.floor(range.from.getTime() / 1000), lt: Math.ceil(range.to.getTime() / 1000) },
        limit: options.pageSize ?? 100,
        // The source object: a charge's PaymentIntent is what our payments know (reconciliation matches on it).
        expand: ['data.source'],
      });
      const iterator = list[Symbol.asyncIterator]();
      for (;;) {
        const next = await call(() => iterator.next());
        if (next.done) return;
        yield toBalanceTransaction(next.value);
      }
    },
  };
}

/** The SDK's host/port/protocol options from a base URL (DESIGN.md §11b: they reach a local server). */
function baseAddress(apiBase: string): { host: string; port: number; protocol: 'http' | 'https' } {
  const url = new URL(apiBase);
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  return { host: url.hostname, port: Number(url.port || (protocol === 'https' ? 443 : 80)), protocol };
}

function toPayment(pi: Stripe.PaymentIntent): ProviderPayment {
  const charge = typeof pi.latest_charge === 'object' && pi.latest_charge !== null ? pi.latest_charge : undefined;
  const status = mapStatus(pi);
  const captureBefore = charge?.payment_method_details?.card?.capture_before;
  const authorized =
    status === 'authorized' || status === 'captured' || (status === 'cancelled' && charge?.status === 'succeeded');
  return {
    provider: 'stripe',
    providerRef: pi.id,
    status,
    currency: pi.currency.toUpperCase(),
    amountAuthorizedMinor: authorized ? pi.amount : 0,
    amountCapturedMinor: pi.amount_received ?? 0,
    amountRefundedMinor: charge?.amount_refunded ?? 0,
    clientSecret: pi.client_secret ?? undefined,
    authorizationExpiresAt: status === 'authorized' && captureBefore ? new Date(captureBefore * 1000) : undefined,
    failureCode: pi.last_payment_error
      ? (pi.last_payment_error.decline_code ?? pi.last_payment_error.code ?? 'payment_failed')
      : undefined,
  };
}

function mapStatus(pi: Stripe.PaymentIntent): ProviderPayment['status'] {
  switch (pi.status) {
    case 'requires_capture':
      return 'authorized';
    case 'succeeded':
      return 'captured';
    case 'canceled':
      return 'cancelled';
    default:
      // requires_payment_method (also after a decline: the intent lives on and the payer may try
      // another card; `failureCode` says why the last attempt failed), requires_confirmation,
      // requires_action, processing: waiting for the payer or the network.
      return 'requires_action';
  }
}

function toEvent(event: Stripe.Event): ProviderEvent {
  const object = event.data.object as unknown as Record<string, unknown>;
  const base = { id: event.id, provider: 'stripe' as const, occurredAt: new Date(event.created * 1000), raw: event };
  const currency = typeof object.currency === 'string' ? object.currency.toUpperCase() : undefined;
  const id = typeof object.id === 'string' ? object.id : undefined;
  const pi = (field: unknown): string | undefined =>
    typeof field === 'string'
      ? field
      : typeof field === 'object' && field !== null
        ? String((field as { id: string }).id)
        : undefined;
  switch (event.type) {
    case 'payment_intent.amount_capturable_updated':
      return {
        ...base,
        type: 'payment.authorized',
        providerRef: id,
        amountMinor: Number(object.amount_capturable),
        currency,
      };
    case 'payment_intent.succeeded':
      return {
        ...base,
        type: 'payment.captured',
        providerRef: id,
        amountMinor: Number(object.amount_received),
        currency,
      };
    case 'payment_intent.canceled':
      return { ...base, type: 'payment.cancelled', providerRef: id, currency };
    case 'payment_intent.payment_failed':
      return { ...base, type: 'payment.failed', providerRef: id, currency };
    case 'charge.refunded':
      // The charge's cumulative refunded amount; the refund itself is listed at the provider.
      return {
        ...base,
        type: 'refund.succeeded',
        providerRef: pi(object.payment_intent),
        amountMinor: Number(object.amount_refunded),
        currency,
      };
    case 'refund.failed':
      return {
        ...base,
        type: 'refund.failed',
        providerRef: pi(object.payment_intent),
        objectRef: id,
        amountMinor: Number(object.amount),
        currency,
      };
    case 'charge.dispute.created':
      return {
        ...base,
        type: 'dispute.opened',
        providerRef: pi(object.payment_intent),
        objectRef: id,
        amountMinor: Number(object.amount),
        currency,
      };
    case 'charge.dispute.closed':
      return {
        ...base,
        type: 'dispute.closed',
        providerRef: pi(object.payment_intent),
        objectRef: id,
        amountMinor: Number(object.amount),
        currency,
      };
    case 'transfer.created':
      return { ...base, type: 'transfer.created', objectRef: id, amountMinor: Number(object.amount), currency };
    case 'payout.paid':
      return { ...base, type: 'payout.paid', objectRef: id, amountMinor: Number(object.amount), currency };
    case 'payout.failed':
      return { ...base, type: 'payout.failed', objectRef: id, amountMinor: Number(object.amount), currency };
    default:
      return { ...base, type: 'other', providerRef: event.type.startsWith('payment_intent.') ? id : undefined };
  }
}

function toBalanceTransaction(txn: Stripe.BalanceTransaction): ProviderBalanceTransaction {
  const known = ['charge', 'refund', 'transfer', 'payout', 'adjustment'] as const;
  const type = (known as readonly string[]).includes(txn.type)
    ? (txn.type as (typeof known)[number])
    : txn.type === 'stripe_fee' || txn.type === 'application_fee'
      ? 'fee'
      : txn.type === 'payment'
        ? 'charge'
        : 'other';
  return {
    id: txn.id,
    type,
    amountMinor: txn.amount,
    feeMinor: txn.fee,
    currency: txn.currency.toUpperCase(),
    sourceRef: sourceRef(txn.source),
    createdAt: new Date(txn.created * 1000),
  };
}

/**
 * What a balance transaction is about, in our terms: a charge's PaymentIntent (`pi_...`, what payments
 * store), else the refund, transfer or payout id.
 */
function sourceRef(source: Stripe.BalanceTransaction['source']): string {
  if (!source) return '';
  if (typeof source === 'string') return source;
  if (source.object === 'charge') {
    const pi = source.payment_intent;
    return typeof pi === 'string' ? pi : (pi?.id ?? source.id);
  }
  return source.id;
}

/** Stripe's error classes onto our codes: the payments domain maps those onto API problems. */
export function toProviderError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof Stripe.errors.StripeError) {
    const code = err.code ?? err.type;
    if (err instanceof Stripe.errors.StripeCardError) {
      return new ProviderError('PROVIDER_DECLINED', err.message, err.decline_code ?? err.code ?? 'card_declined');
    }
    if (err instanceof Stripe.errors.StripeIdempotencyError) {
      return new ProviderError('PROVIDER_IDEMPOTENCY_CONFLICT', err.message, 'idempotency_error');
    }
    if (err instanceof Stripe.errors.StripeInvalidRequestError) {
      return new ProviderError('PROVIDER_INVALID_REQUEST', err.message, code);
    }
    // 5xx, rate limits, connection failures, and credentials the provider refuses: nothing the payer can fix.
    return new ProviderError('PROVIDER_UNAVAILABLE', err.message, code);
  }
  return new ProviderError('PROVIDER_UNAVAILABLE', err instanceof Error ? err.message : String(err));
}
