import { createHash } from 'node:crypto';
import {
  ProviderError,
  type AuthorizeInput,
  type CaptureInput,
  type PaymentProvider,
  type ProviderPayment,
  type ProviderRefund,
  type RefundInput,
} from './provider.js';

/**
 * Where the cash provider keeps its IOUs: a key-value store. The default keeps them in memory, which
 * is enough while the payments table is the record (the platform can pass a persistent store).
 */
export interface CashStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

export interface CashProviderOptions {
  store?: CashStore | undefined;
}

interface CashPayment {
  ref: string;
  currency: string;
  authorizedMinor: number;
  capturedMinor: number;
  refundedMinor: number;
  status: 'authorized' | 'captured' | 'cancelled';
}

interface IdempotentResult {
  request: string;
  result: unknown;
}

/**
 * Pay at the shop. `authorize` records an IOU for the amount (no expiry: nothing is held anywhere),
 * `capture` means the shop confirms it took the cash (part of it: the rest is forgiven), `refund`
 * records cash handed back. References derive from the idempotency key, so a retried call finds the
 * same payment; the same key with other parameters is refused, as the card providers do.
 */
export function createCashProvider(options: CashProviderOptions = {}): PaymentProvider {
  const memory = new Map<string, unknown>();
  const store: CashStore = options.store ?? {
    get: async (key) => structuredClone(memory.get(key)),
    set: async (key, value) => {
      memory.set(key, structuredClone(value));
    },
  };
  // One operation at a time: the read-check-write of an IOU must not interleave with another's.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const load = async (ref: string): Promise<CashPayment> => {
    const payment = (await store.get(`payment:${ref}`)) as CashPayment | undefined;
    if (!payment)
      throw new ProviderError('PROVIDER_INVALID_REQUEST', `No such cash payment: ${ref}`, 'resource_missing');
    return payment;
  };
  const save = (payment: CashPayment): Promise<void> => store.set(`payment:${payment.ref}`, payment);

  /** Runs `fn` once per idempotency key; a repeat with the same request gets the first result back. */
  const once = <T>(key: string, request: unknown, fn: () => Promise<T>): Promise<T> =>
    serial(async () => {
      if (!key) throw new ProviderError('PROVIDER_INVALID_REQUEST', 'An idempotency key is required');
      const fingerprint = JSON.stringify(request);
      const seen = (await store.get(`key:${key}`)) as IdempotentResult | undefined;
      if (seen) {
        if (seen.request !== fingerprint) {
          throw new ProviderError(
            'PROVIDER_IDEMPOTENCY_CONFLICT',
            `Idempotency key ${key} was used with other parameters`,
            'idempotency_error',
          );
        }
        return seen.result as T;
      }
      const result = await fn();
      await store.set(`key:${key}`, { request: fingerprint, result });
      return result;
    });

  return {
    name: 'cash',

    authorize(input: AuthorizeInput): Promise<ProviderPayment> {
      const { amountMinor, currency } = input.amount;
      return once(input.idempotencyKey, ['authorize', amountMinor, currency, input.capture], async () => {
        if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0) {
          throw new ProviderError('PROVIDER_INVALID_REQUEST', `Invalid amount ${amountMinor}`, 'amount_invalid');
        }
        if (!/^[A-Z]{3}$/.test(currency))
          throw new ProviderError('PROVIDER_INVALID_REQUEST', `Invalid currency ${currency}`, 'currency_invalid');
        // A destination is ignored: the shop holds the cash, commission is settled in the ledger.
        const payment: CashPayment = {
          ref: `cash_${digest(input.idempotencyKey)}`,
          currency,
          authorizedMinor: amountMinor,
          capturedMinor: input.capture === 'automatic' ? amountMinor : 0,
          refundedMinor: 0,
          status: input.capture === 'automatic' ? 'captured' : 'authorized',
        };
        await save(payment);
        return view(payment);
      });
    },

    async confirm(providerRef): Promise<ProviderPayment> {
      // Nothing to confirm: the payer hands over cash at the shop.
      return view(await serial(() => load(providerRef)));
    },

    capture(providerRef: string, input: CaptureInput): Promise<ProviderPayment> {
      return once(input.idempotencyKey, ['capture', providerRef, input.amountMinor ?? null], async () => {
        const payment = await load(providerRef);
        if (payment.status !== 'authorized') {
          throw new ProviderError(
            'PROVIDER_INVALID_REQUEST',
            `Cash payment ${providerRef} is ${payment.status}`,
            'payment_unexpected_state',
          );
        }
        const amount = input.amountMinor ?? payment.authorizedMinor;
        if (!Number.isSafeInteger(amount) || amount <= 0 || amount > payment.authorizedMinor) {
          throw new ProviderError(
            'PROVIDER_INVALID_REQUEST',
            `Cannot take ${amount} of an IOU for ${payment.authorizedMinor}`,
            'amount_too_large',
          );
        }
        payment.capturedMinor = amount;
        payment.status = 'captured';
        await save(payment);
        return view(payment);
      });
    },

    cancel(providerRef, input): Promise<ProviderPayment> {
      return once(input.idempotencyKey, ['cancel', providerRef], async () => {
        const payment = await load(providerRef);
        if (payment.status !== 'authorized') {
          throw new ProviderError(
            'PROVIDER_INVALID_REQUEST',
            `Cash payment ${providerRef} is ${payment.status}`,
            'payment_unexpected_state',
          );
        }
        payment.status = 'cancelled';
        await save(payment);
        return view(payment);
      });
    },

    refund(providerRef: string, input: RefundInput): Promise<ProviderRefund> {
      return once(input.idempotencyKey, ['refund', providerRef, input.amountMinor ?? null], async () => {
        const payment = await load(providerRef);
        const left = payment.capturedMinor - payment.refundedMinor;
        if (payment.status !== 'captured' || left <= 0) {
          throw new ProviderError(
            'PROVIDER_INVALID_REQUEST',
            `Nothing left to refund on ${providerRef}`,
            'charge_already_refunded',
          );
        }
        const amount = input.amountMinor ?? left;
        if (!Number.isSafeInteger(amount) || amount <= 0 || amount > left) {
          throw new ProviderError(
            'PROVIDER_INVALID_REQUEST',
            `Refund ${amount} is more than the ${left} left`,
            'amount_too_large',
          );
        }
        payment.refundedMinor += amount;
        await save(payment);
        return {
          refundRef: `cashre_${digest(input.idempotencyKey)}`,
          providerRef,
          status: 'succeeded' as const,
          amountMinor: amount,
          currency: payment.currency,
        };
      });
    },

    async retrieve(providerRef: string): Promise<ProviderPayment> {
      return view(await serial(() => load(providerRef)));
    },

    async parseWebhook(): Promise<never> {
      throw new ProviderError('WEBHOOK_UNSUPPORTED', 'Cash payments have no webhooks');
    },
  };
}

function digest(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 24);
}

function view(payment: CashPayment): ProviderPayment {
  return {
    provider: 'cash',
    providerRef: payment.ref,
    status: payment.status,
    currency: payment.currency,
    amountAuthorizedMinor: payment.authorizedMinor,
    amountCapturedMinor: payment.capturedMinor,
    amountRefundedMinor: payment.refundedMinor,
  };
}
