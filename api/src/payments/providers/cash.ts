import { createHash } from 'node:crypto';
import type { Database, Queryable } from '@clutch/db';
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
 * A key-value store for IOUs kept outside the database (tests, a provider used on its own). The
 * platform passes `db` instead: IOUs in `cash_ious` (migration 044), safe across restarts and processes.
 */
export interface CashStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

export interface CashProviderOptions {
  /** Where the IOUs live (the platform's database); absent: `store`, or memory. */
  db?: Database | undefined;
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

/** One operation's view of the books: what it reads is its own until it ends (locked, or serialised). */
interface CashTx {
  load(ref: string): Promise<CashPayment | undefined>;
  insert(payment: CashPayment, paymentId: string | undefined): Promise<void>;
  update(payment: CashPayment): Promise<void>;
}

interface CashBooks {
  /**
   * Runs `fn` once per idempotency key, atomically with what it writes: a repeat with the same request
   * fingerprint gets the first result back, another request under the key is refused. A throw
   * records nothing.
   */
  once<T>(key: string, fingerprint: string, fn: (tx: CashTx) => Promise<T>): Promise<T>;
  read(ref: string): Promise<CashPayment | undefined>;
}

const conflict = (key: string) =>
  new ProviderError(
    'PROVIDER_IDEMPOTENCY_CONFLICT',
    `Idempotency key ${key} was used with other parameters`,
    'idempotency_error',
  );

/** The store's books; one operation at a time, as a read-check-write must not interleave. */
function storeBooks(store: CashStore): CashBooks {
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn);
    queue = run.catch(() => undefined);
    return run;
  };
  const tx: CashTx = {
    load: async (ref) => (await store.get(`payment:${ref}`)) as CashPayment | undefined,
    insert: (payment) => store.set(`payment:${payment.ref}`, payment),
    update: (payment) => store.set(`payment:${payment.ref}`, payment),
  };
  return {
    once: (key, fingerprint, fn) =>
      serial(async () => {
        const seen = (await store.get(`key:${key}`)) as { request: string; result: unknown } | undefined;
        if (seen) {
          if (seen.request !== fingerprint) throw conflict(key);
          return seen.result as never;
        }
        const result = await fn(tx);
        await store.set(`key:${key}`, { request: fingerprint, result });
        return result;
      }),
    read: (ref) => serial(() => tx.load(ref)),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IOU_COLUMNS = `ref, currency, authorized_minor::float8 AS "authorizedMinor", captured_minor::float8 AS "capturedMinor",
  refunded_minor::float8 AS "refundedMinor", status, tenant_id AS "tenantId"`;

/**
 * The database's books (migration 044). Each operation is one transaction: an advisory lock on the
 * idempotency key (a repeat waits for the first and then finds its answer), `FOR UPDATE` on the IOU
 * (two keys settling one IOU take turns, whichever process they run in). It runs as the platform's
 * own system work (the owner's connection, `system_access`): the provider has no caller.
 */
function databaseBooks(db: Database): CashBooks {
  const read = async (q: Queryable, ref: string, lock: boolean) => {
    const { rows } = await q.query<CashPayment & { tenantId: string; currency: string }>(
      `SELECT ${IOU_COLUMNS} FROM cash_ious WHERE ref = $1${lock ? ' FOR UPDATE' : ''}`,
      [ref],
    );
    const row = rows[0];
    if (!row) return undefined;
    const { tenantId, ...payment } = row;
    return { payment: { ...payment, currency: payment.currency.trim() }, tenantId };
  };
  return {
    once: (key, fingerprint, fn) =>
      db.transaction(async (q) => {
        await q.query(`SELECT pg_advisory_xact_lock(hashtextextended('cash-request:' || $1, 0))`, [key]);
        const { rows } = await q.query<{ request: string; result: unknown }>(
          `SELECT request, result FROM cash_requests WHERE idempotency_key = $1`,
          [key],
        );
        if (rows[0]) {
          if (rows[0].request !== fingerprint) throw conflict(key);
          return rows[0].result as never;
        }
        // The request is recorded under the tenant of the IOU it touched (the platform's when none).
        let tenant = 'platform';
        const result = await fn({
          load: async (ref) => {
            const found = await read(q, ref, true);
            if (found) tenant = found.tenantId;
            return found?.payment;
          },
          insert: async (p, paymentId) => {
            const payment = paymentId !== undefined && UUID.test(paymentId) ? paymentId : null;
            const { rows: inserted } = await q.query<{ tenantId: string }>(
              `INSERT INTO cash_ious (ref, tenant_id, payment_id, currency, authorized_minor, captured_minor, refunded_minor, status)
               SELECT $1, coalesce((SELECT tenant_id FROM payments WHERE id = $2::uuid), 'platform'),
                      (SELECT id FROM payments WHERE id = $2::uuid), $3, $4, $5, $6, $7
               RETURNING tenant_id AS "tenantId"`,
              [p.ref, payment, p.currency, p.authorizedMinor, p.capturedMinor, p.refundedMinor, p.status],
            );
            tenant = inserted[0]!.tenantId;
          },
          update: async (p) => {
            await q.query(
              `UPDATE cash_ious SET captured_minor = $2, refunded_minor = $3, status = $4, updated_at = now() WHERE ref = $1`,
              [p.ref, p.capturedMinor, p.refundedMinor, p.status],
            );
          },
        });
        await q.query(
          `INSERT INTO cash_requests (idempotency_key, tenant_id, request, result) VALUES ($1, $2, $3, $4::jsonb)`,
          [key, tenant, fingerprint, JSON.stringify(result)],
        );
        return result;
      }),
    read: async (ref) => (await read(db, ref, false))?.payment,
  };
}

/**
 * Pay at the shop. `authorize` records an IOU for the amount (no expiry: nothing is held anywhere),
 * `capture` means the shop confirms it took the cash (part of it: the rest is forgiven), `refund`
 * records cash handed back. References derive from the idempotency key, so a retried call finds the
 * same payment; the same key with other parameters is refused, as the card providers do.
 */
export function createCashProvider(options: CashProviderOptions = {}): PaymentProvider {
  const memory = new Map<string, unknown>();
  const books: CashBooks = options.db
    ? databaseBooks(options.db)
    : storeBooks(
        options.store ?? {
          get: async (key) => structuredClone(memory.get(key)),
          set: async (key, value) => {
            memory.set(key, structuredClone(value));
          },
        },
      );

  const missing = (ref: string) =>
    new ProviderError('PROVIDER_INVALID_REQUEST', `No such cash payment: ${ref}`, 'resource_missing');
  const load = async (tx: CashTx, ref: string): Promise<CashPayment> => {
    const payment = await tx.load(ref);
    if (!payment) throw missing(ref);
    return payment;
  };
  const retrieve = async (ref: string): Promise<ProviderPayment> => {
    const payment = await books.read(ref);
    if (!payment) throw missing(ref);
    return view(payment);
  };

  /** Runs `fn` once per idempotency key; a repeat with the same request gets the first result back. */
  const once = <T>(key: string, request: unknown, fn: (tx: CashTx) => Promise<T>): Promise<T> => {
    if (!key) return Promise.reject(new ProviderError('PROVIDER_INVALID_REQUEST', 'An idempotency key is required'));
    return books.once(key, JSON.stringify(request), fn);
  };

  return {
    name: 'cash',

    authorize(input: AuthorizeInput): Promise<ProviderPayment> {
      const { amountMinor, currency } = input.amount;
      return once(input.idempotencyKey, ['authorize', amountMinor, currency, input.capture], async (tx) => {
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
        await tx.insert(payment, input.metadata.paymentId);
        return view(payment);
      });
    },

    confirm(providerRef): Promise<ProviderPayment> {
      // Nothing to confirm: the payer hands over cash at the shop.
      return retrieve(providerRef);
    },

    capture(providerRef: string, input: CaptureInput): Promise<ProviderPayment> {
      return once(input.idempotencyKey, ['capture', providerRef, input.amountMinor ?? null], async (tx) => {
        const payment = await load(tx, providerRef);
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
        await tx.update(payment);
        return view(payment);
      });
    },

    cancel(providerRef, input): Promise<ProviderPayment> {
      return once(input.idempotencyKey, ['cancel', providerRef], async (tx) => {
        const payment = await load(tx, providerRef);
        if (payment.status !== 'authorized') {
          throw new ProviderError(
            'PROVIDER_INVALID_REQUEST',
            `Cash payment ${providerRef} is ${payment.status}`,
            'payment_unexpected_state',
          );
        }
        payment.status = 'cancelled';
        await tx.update(payment);
        return view(payment);
      });
    },

    refund(providerRef: string, input: RefundInput): Promise<ProviderRefund> {
      return once(input.idempotencyKey, ['refund', providerRef, input.amountMinor ?? null], async (tx) => {
        const payment = await load(tx, providerRef);
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
        await tx.update(payment);
        return {
          refundRef: `cashre_${digest(input.idempotencyKey)}`,
          providerRef,
          status: 'succeeded' as const,
          amountMinor: amount,
          currency: payment.currency,
        };
      });
    },

    retrieve,

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
