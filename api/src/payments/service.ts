import type { Queryable } from '@clutch/db';
import type { Resource } from '@clutch/identity';
import { actorOf } from '../auth/scope.js';
import type { Scope } from '../auth/scope.js';
import { sideOf } from '../bookings/access.js';
import { apiError } from '../errors.js';
import { assessRisk as defaultAssessRisk, riskBlocked } from '../fraud/assess.js';
import type { AssessRisk } from '../fraud/types.js';
import type { Page, PageRequest } from '../http/pagination.js';
import { transferId } from '../ledger/ids.js';
import { applyProviderView, type ChangeCause } from './apply.js';
import type { PaymentDeps } from './deps.js';
import { computeCommission } from '../commissions/commission.js';
import { DEFAULT_MONEY, LedgerRefused, isDestinationCharge, type MoneyDeps } from './money.js';
import { ProviderError, type PaymentProvider, type ProviderPayment } from './providers/provider.js';
import { PaymentsRepository, type PaymentFilter, type PaymentRow } from './repository.js';
import { isCaptured } from './states.js';
import type { PaymentCaller, PaymentProviderName, PaymentPurpose, PaymentView, StartPaymentInput } from './types.js';

export type { PaymentCaller, PaymentView, StartPaymentInput } from './types.js';

/**
 * A quote-priced service has no price at booking: the hold is a deposit instead, the larger of the
 * shop's cancellation and no-show fees, or this platform default (in minor units) when both are 0.
 */
export const DEFAULT_DEPOSIT_MINOR = 5000;

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export function paymentView(
  p: PaymentRow,
  extra: Pick<ProviderPayment, 'clientSecret' | 'approvalUrl'> = {},
): PaymentView {
  return {
    id: p.id,
    purpose: p.purpose,
    provider: p.provider,
    providerRef: p.providerRef,
    status: p.status,
    amountMinor: p.amountMinor,
    capturedMinor: p.capturedMinor,
    refundedMinor: p.refundedMinor,
    commissionMinor: p.commissionMinor,
    currency: p.currency,
    bookingId: p.bookingId,
    repairOrderId: p.repairOrderId,
    installmentId: p.installmentId,
    partnerId: p.partnerId,
    customerTenantId: p.customerTenantId,
    customerUserId: p.customerUserId,
    authorizationExpiresAt: iso(p.authorizationExpiresAt),
    failureCode: p.failureCode,
    createdAt: iso(p.createdAt)!,
    updatedAt: iso(p.updatedAt)!,
    ...(extra.clientSecret ? { clientSecret: extra.clientSecret } : {}),
    ...(extra.approvalUrl ? { approvalUrl: extra.approvalUrl } : {}),
  };
}

/**
 * How the policy function sees a payment, per side (like bookings, api/src/bookings/access.ts): the
 * payer's view `{ type: 'payment', tenantId: <customer tenant>, ownerUserId: <customer user> }` (an
 * owner's `{ ownership: 'booking' }` grant matches it), the payee shop's view with its tenant and
 * `shopId`.
 */
export function paymentResources(
  principal: PaymentCaller['principal'],
  p: Pick<PaymentRow, 'id' | 'tenantId' | 'partnerId' | 'customerTenantId' | 'customerUserId'>,
): Resource[] {
  if (!principal) return [];
  const base = {
    type: 'payment',
    id: p.id,
    ownerUserId: p.customerUserId,
    ...(p.partnerId ? { shopId: p.partnerId } : {}),
  };
  const side = sideOf(principal, { tenantId: p.tenantId, customerTenantId: p.customerTenantId });
  if (side === 'customer') return [{ ...base, tenantId: p.customerTenantId }];
  if (side === 'shop') return [{ ...base, tenantId: p.tenantId }];
  return [];
}

const notFound = (id: string) => (): Error => apiError('PAYMENT_NOT_FOUND', undefined, { paymentId: id });

/** Throws (404 when the caller must not learn it exists) unless the caller may `permission` on it. */
async function requireOn(caller: PaymentCaller, permission: string, p: PaymentRow): Promise<void> {
  if (!caller.policy) return;
  const resources = paymentResources(caller.principal, p);
  for (const resource of resources) if ((await caller.policy.decide(permission, resource)).allow) return;
  // Someone who may read it learns why they may not act; anyone else that it does not exist.
  for (const resource of resources)
    if ((await caller.policy.decide('payments:read', resource)).allow)
      throw apiError('FORBIDDEN', `This needs the ${permission} permission here`, { requiredPermission: permission });
  throw notFound(p.id)();
}

const actorName = (caller: PaymentCaller): string =>
  caller.actor ?? (caller.principal ? actorOf(caller.principal) : 'system');

/** A provider's refusal as our problem; anything else as unavailable (the verify job repairs the rest). */
function providerProblem(err: unknown, paymentId?: string): Error {
  if (err instanceof ProviderError) {
    if (err.code === 'PROVIDER_DECLINED')
      return apiError('PROVIDER_DECLINED', err.message, {
        ...(err.providerCode ? { declineCode: err.providerCode } : {}),
        ...(paymentId ? { paymentId } : {}),
      });
    if (err.code === 'PROVIDER_INVALID_REQUEST' || err.code === 'PROVIDER_IDEMPOTENCY_CONFLICT')
      return apiError('PAYMENT_STATE_CONFLICT', err.message);
  }
  return apiError('PROVIDER_UNAVAILABLE', 'The payment provider did not answer; the payment is checked again shortly');
}

interface BookingFacts {
  id: string;
  tenantId: string;
  partnerId: string;
  customerTenantId: string;
  customerUserId: string | null;
  status: string;
  priceMinor: number | null;
  currency: string;
  depositMinor: number;
  repairOrderId: string | null;
}

async function bookingFacts(q: Queryable, bookingId: string): Promise<BookingFacts | undefined> {
  const { rows } = await q.query<BookingFacts>(
    `SELECT b.id, b.tenant_id AS "tenantId", b.partner_id AS "partnerId", b.customer_tenant_id AS "customerTenantId",
            b.customer_user_id AS "customerUserId", b.status, b.price_minor AS "priceMinor", b.currency,
            greatest(coalesce(r.cancellation_fee_minor, 0), coalesce(r.no_show_fee_minor, 0)) AS "depositMinor",
            (SELECT ro.id FROM repair_orders ro WHERE ro.booking_id = b.id) AS "repairOrderId"
       FROM bookings b LEFT JOIN shop_booking_rules r ON r.partner_id = b.partner_id WHERE b.id = $1`,
    [bookingId],
  );
  return rows[0];
}

/** A wallet payment's "provider answer": the ledger hold is the authorisation (money.ts). */
function walletView(p: PaymentRow, status: ProviderPayment['status'], captured = 0, refunded = 0): ProviderPayment {
  return {
    provider: 'cash',
    providerRef: p.providerRef ?? `wallet_${p.id}`,
    status,
    currency: p.currency,
    amountAuthorizedMinor: p.amountMinor,
    amountCapturedMinor: captured,
    amountRefundedMinor: refunded,
  };
}

export interface PaymentsServiceOptions extends PaymentDeps {
  money?: MoneyDeps | undefined;
  assessRisk?: AssessRisk | undefined;
}

export interface ProcessInput {
  purpose?: PaymentPurpose | undefined;
  bookingId?: string | undefined;
  repairOrderId?: string | undefined;
  amountMinor?: number | undefined;
  currency?: string | undefined;
  provider: PaymentProviderName;
  paymentMethod?: string | undefined;
  /** `automatic` takes the money at once (top-ups); booking holds are `manual`. */
  capture?: 'manual' | 'automatic' | undefined;
}

/**
 * Payments (docs/payments-flows.md). A use case that talks to a provider is three steps, never one
 * transaction around a network call: store (or find) the payment, call the provider with an
 * idempotency key rooted in the payment's id, and record the answer through `applyProviderView`
 * (a compare-and-set under the row's lock). A crash between the steps leaves the row behind the
 * provider, and `verify` (the API route, and a job for rows stuck in pending) brings it level.
 */
export class PaymentsService {
  private readonly money: MoneyDeps;
  private readonly assess: AssessRisk;
  private readonly clock: () => Date;

  constructor(private readonly options: PaymentsServiceOptions = {}) {
    this.money = options.money ?? DEFAULT_MONEY;
    this.assess = options.assessRisk ?? defaultAssessRisk;
    this.clock = options.now ?? (() => new Date());
  }

  private provider(name: PaymentProviderName): PaymentProvider {
    const adapter = name === 'wallet' ? undefined : this.options.providers?.providers.get(name);
    if (!adapter)
      throw apiError('PROVIDER_UNAVAILABLE', `The payment provider ${name} is not configured here`, { provider: name });
    return adapter;
  }

  /** The customer's side of a booking: pays the booking's price (or the deposit) as a hold. */
  async process(caller: PaymentCaller, input: ProcessInput, idempotencyKey: string): Promise<PaymentView> {
    if (input.bookingId) {
      const booking = await caller.scope.run((q) => bookingFacts(q, input.bookingId!));
      if (!booking) throw apiError('BOOKING_NOT_FOUND', undefined, { bookingId: input.bookingId });
      if (!['held', 'requested', 'confirmed'].includes(booking.status))
        throw apiError('PAYMENT_STATE_CONFLICT', `Booking ${booking.id} is ${booking.status}; it cannot be paid now`);
      const amount = booking.priceMinor ?? (booking.depositMinor > 0 ? booking.depositMinor : DEFAULT_DEPOSIT_MINOR);
      return this.start(caller, {
        purpose: input.purpose ?? 'booking',
        provider: input.provider,
        amountMinor: amount,
        currency: booking.currency,
        capture: input.capture ?? 'manual',
        paymentMethod: input.paymentMethod,
        bookingId: booking.id,
        repairOrderId: booking.repairOrderId ?? undefined,
        partnerId: booking.partnerId,
        shopTenantId: booking.tenantId,
        customerTenantId: booking.customerTenantId,
        customerUserId: booking.customerUserId,
        idempotencyKey,
      });
    }
    if (input.purpose !== 'wallet_topup')
      throw apiError('VALIDATION_FAILED', 'A payment names a booking, or is a wallet top-up', { field: 'bookingId' });
    if (input.amountMinor === undefined || input.currency === undefined)
      throw apiError('VALIDATION_FAILED', 'A top-up names its amount and currency', { field: 'amountMinor' });
    if (input.provider === 'wallet' || input.provider === 'cash')
      throw apiError('VALIDATION_FAILED', 'A wallet is topped up by card or PayPal', { field: 'provider' });
    const principal = caller.principal;
    if (principal?.kind !== 'user') throw apiError('FORBIDDEN', 'Only a signed-in person tops up their wallet');
    return this.start(caller, {
      purpose: 'wallet_topup',
      provider: input.provider,
      amountMinor: input.amountMinor,
      currency: input.currency,
      capture: 'automatic',
      paymentMethod: input.paymentMethod,
      customerTenantId: principal.tenantId,
      customerUserId: principal.userId,
      idempotencyKey,
    });
  }

  /** startPayment's body (see the exported function). */
  async start(
    caller: PaymentCaller,
    input: StartPaymentInput & { shopTenantId?: string | undefined },
  ): Promise<PaymentView> {
    if (!Number.isSafeInteger(input.amountMinor) || input.amountMinor <= 0)
      throw apiError('VALIDATION_FAILED', 'The amount is a positive integer of minor units', { field: 'amountMinor' });
    const currency = input.currency.toUpperCase();
    const principal = caller.principal;
    const customerTenantId =
      input.customerTenantId ?? (principal && principal.kind !== 'admin' ? principal.tenantId : undefined);
    if (customerTenantId === undefined) throw apiError('VALIDATION_FAILED', 'Who pays?', { field: 'customerTenantId' });
    const customerUserId =
      input.customerUserId !== undefined ? input.customerUserId : principal?.kind === 'user' ? principal.userId : null;
    const id = transferId(`payment:${customerTenantId}:${customerUserId ?? '-'}:${input.idempotencyKey}`);
    const actor = actorName(caller);
    if (input.provider !== 'wallet') this.provider(input.provider);

    // 1. Store it (or find it: the same key is the same payment), after the risk check.
    const stored = await caller.scope.run(async (q) => {
      const repo = new PaymentsRepository(q);
      const existing = await repo.get(id);
      if (existing) return { payment: existing, blocked: false as const };
      let tenantId = input.shopTenantId;
      if (input.partnerId && tenantId === undefined) {
        const { rows } = await q.query<{ tenant_id: string }>(`SELECT tenant_id FROM partners WHERE id = $1`, [
          input.partnerId,
        ]);
        tenantId = rows[0]?.tenant_id;
        if (tenantId === undefined) throw apiError('PARTNER_NOT_FOUND', undefined, { partnerId: input.partnerId });
      }
      const draft = {
        id,
        tenantId: tenantId ?? customerTenantId,
        partnerId: input.partnerId ?? null,
        customerTenantId,
        customerUserId,
      };
      // The payer starts a payment, never the payee: a shop that could would put a hold on its
      // customer's wallet or card without them. (Platform staff may, for anyone, audited.)
      if (
        principal &&
        principal.kind !== 'admin' &&
        principal.tenantId !== 'platform' &&
        principal.tenantId !== customerTenantId
      )
        throw apiError('FORBIDDEN', 'The customer pays; the shop captures', { requiredPermission: 'payments:write' });
      if (caller.policy) {
        const resources = paymentResources(principal, draft);
        let allowed = false;
        for (const r of resources) if ((await caller.policy.decide('payments:write', r)).allow) allowed = true;
        if (!allowed)
          throw input.bookingId
            ? apiError('BOOKING_NOT_FOUND', undefined, { bookingId: input.bookingId })
            : apiError('FORBIDDEN', 'This needs the payments:write permission here', {
                requiredPermission: 'payments:write',
              });
      }
      const risk = await this.assess(q, {
        kind: 'payment',
        tenantId: customerTenantId,
        userId: customerUserId,
        amountMinor: input.amountMinor,
        currency,
        reference: id,
        ip: caller.request?.ip,
        ipCountry: caller.request?.ipCountry,
        deviceId: caller.request?.deviceId,
        at: this.clock(),
      });
      if (risk.decision === 'block') return { blocked: true as const, risk };
      const connectAccount = await this.connectAccountFor(q, input);
      const payment = await repo.insert({
        ...draft,
        bookingId: input.bookingId ?? null,
        repairOrderId: input.repairOrderId ?? null,
        installmentId: input.installmentId ?? null,
        purpose: input.purpose,
        provider: input.provider,
        captureMethod: input.capture,
        amountMinor: input.amountMinor,
        currency,
        paymentMethod: input.paymentMethod ?? null,
        riskAssessmentId: risk.id,
        connectAccount,
        createdBy: actor,
      });
      await repo.appendEvent(payment, {
        from: null,
        to: 'pending',
        actor,
        kind: 'created',
        data: { riskDecision: risk.decision, riskScore: risk.score },
      });
      return { payment, blocked: false as const };
    });
    // The assessment committed (the fraud review queue sees it); nothing else was stored.
    if (stored.blocked) throw riskBlocked(stored.risk);
    const payment = stored.payment;
    if (payment.status !== 'pending') return paymentView(payment);
    // 2 and 3: ask the provider, record its answer.
    return this.authorize(caller.scope, payment, { actor, kind: 'authorize' });
  }

  /** Calls the provider for a pending payment (again: the key makes a repeat harmless) and records the answer. */
  private async authorize(scope: Scope, payment: PaymentRow, cause: ChangeCause): Promise<PaymentView> {
    if (payment.provider === 'wallet') {
      const view = walletView(payment, payment.captureMethod === 'manual' ? 'authorized' : 'captured');
      if (view.status === 'captured') view.amountCapturedMinor = payment.amountMinor;
      try {
        return paymentView(await this.record(scope, payment.id, view, cause));
      } catch (err) {
        if (!(err instanceof LedgerRefused)) throw err;
        await this.record(scope, payment.id, { ...view, status: 'failed', failureCode: 'insufficient_funds' }, cause);
        throw apiError('PROVIDER_DECLINED', 'The wallet does not hold enough money for this', {
          declineCode: 'insufficient_funds',
          paymentId: payment.id,
        });
      }
    }
    const provider = this.provider(payment.provider);
    let answer: ProviderPayment;
    try {
      answer = await provider.authorize({
        idempotencyKey: `${payment.id}:authorize`,
        amount: { amountMinor: payment.amountMinor, currency: payment.currency },
        capture: payment.captureMethod,
        paymentMethod: payment.paymentMethod ?? undefined,
        confirm: payment.paymentMethod !== null ? true : undefined,
        description: `Clutch ${payment.purpose}`,
        // The fee is set at capture: the commission depends on what is captured.
        ...(payment.connectAccount !== null ? { destination: { account: payment.connectAccount } } : {}),
        metadata: {
          paymentId: payment.id,
          purpose: payment.purpose,
          ...(payment.bookingId ? { bookingId: payment.bookingId } : {}),
          ...(payment.installmentId ? { installmentId: payment.installmentId } : {}),
        },
      });
    } catch (err) {
      if (err instanceof ProviderError && err.code === 'PROVIDER_DECLINED') {
        await this.record(scope, payment.id, this.failedView(payment, err.providerCode ?? 'declined'), cause);
      }
      throw providerProblem(err, payment.id);
    }
    const row = await this.record(scope, payment.id, answer, cause);
    if (row.status === 'failed')
      throw apiError('PROVIDER_DECLINED', 'The payment was declined', {
        declineCode: row.failureCode ?? 'declined',
        paymentId: row.id,
      });
    return paymentView(row, answer);
  }

  private failedView(payment: PaymentRow, code: string): ProviderPayment {
    return {
      provider: payment.provider === 'wallet' ? 'cash' : payment.provider,
      providerRef: payment.providerRef ?? '',
      status: 'failed',
      currency: payment.currency,
      amountAuthorizedMinor: 0,
      amountCapturedMinor: 0,
      amountRefundedMinor: 0,
      failureCode: code,
    };
  }

  /** Records a provider answer in its own transaction (apply.ts). */
  private async record(
    scope: Scope,
    paymentId: string,
    view: ProviderPayment,
    cause: ChangeCause,
  ): Promise<PaymentRow> {
    const now = this.clock();
    return scope.run(async (q) => (await applyProviderView(q, paymentId, view, cause, this.money, now)).payment);
  }

  /** Reads the payment as the caller and checks `permission` on it. */
  private async readFor(caller: PaymentCaller, id: string, permission: string, lock = false): Promise<PaymentRow> {
    const payment = await caller.scope.run((q) => new PaymentsRepository(q).get(id, lock));
    if (!payment) throw notFound(id)();
    await requireOn(caller, permission, payment);
    return payment;
  }

  async get(caller: PaymentCaller, id: string): Promise<PaymentView> {
    return paymentView(await this.readFor(caller, id, 'payments:read'));
  }

  async history(caller: PaymentCaller, filter: PaymentFilter, page: PageRequest): Promise<Page<PaymentView>> {
    const found = await caller.scope.run((q) => new PaymentsRepository(q).list(filter, page));
    const items: PaymentView[] = [];
    for (const p of found.items) {
      if (caller.policy) {
        let allowed = false;
        for (const r of paymentResources(caller.principal, p))
          if ((await caller.policy.decide('payments:read', r)).allow) allowed = true;
        if (!allowed) continue;
      }
      items.push(paymentView(p));
    }
    return { items, next: found.next };
  }

  /**
   * Brings the row level with the provider: retrieve and apply; a payment that never reached the
   * provider (a crash or an outage before it answered) is sent again with the same idempotency key.
   */
  async verify(caller: PaymentCaller, id: string): Promise<PaymentView> {
    const payment = await this.readFor(caller, id, 'payments:write');
    return this.verifyRow(caller.scope, payment, { actor: actorName(caller), kind: 'verify' });
  }

  async verifyRow(scope: Scope, payment: PaymentRow, cause: ChangeCause): Promise<PaymentView> {
    if (payment.provider === 'wallet') return paymentView(payment);
    if (payment.providerRef === null) {
      if (payment.status !== 'pending') return paymentView(payment);
      return this.authorize(scope, payment, cause);
    }
    const provider = this.provider(payment.provider);
    let view: ProviderPayment;
    try {
      view = await provider.retrieve(payment.providerRef);
    } catch (err) {
      throw providerProblem(err);
    }
    return paymentView(await this.record(scope, payment.id, view, cause));
  }

  /** Confirms a payment that requires action with a payment method (providers the browser does not confirm). */
  async confirm(caller: PaymentCaller, id: string, paymentMethod: string): Promise<PaymentView> {
    const payment = await this.readFor(caller, id, 'payments:write');
    if (payment.status !== 'requires_action' || payment.providerRef === null)
      throw apiError(
        'PAYMENT_STATE_CONFLICT',
        `Payment ${id} is ${payment.status}; only one that requires action is confirmed`,
        {
          status: payment.status,
        },
      );
    const provider = this.provider(payment.provider);
    let answer: ProviderPayment;
    try {
      answer = await provider.confirm(payment.providerRef, { idempotencyKey: `${id}:confirm`, paymentMethod });
    } catch (err) {
      if (err instanceof ProviderError && err.code === 'PROVIDER_DECLINED') {
        const view = await provider.retrieve(payment.providerRef).catch(() => undefined);
        if (view) await this.record(caller.scope, id, view, { actor: actorName(caller), kind: 'confirm' });
      }
      throw providerProblem(err);
    }
    const row = await this.record(caller.scope, id, answer, { actor: actorName(caller), kind: 'confirm' });
    return paymentView(row, answer);
  }

  /** Captures a hold (all of it, or `amountMinor` of it: the rest is released). */
  async capture(caller: PaymentCaller, id: string, amountMinor?: number): Promise<PaymentView> {
    const payment = await this.readFor(caller, id, 'payments:write');
    // The payee takes the money (or the platform's jobs), never the payer.
    if (caller.principal && sideOf(caller.principal, payment) !== 'shop')
      throw apiError('FORBIDDEN', 'The shop captures a hold', { requiredPermission: 'payments:write' });
    return this.captureRow(caller.scope, payment, amountMinor, { actor: actorName(caller), kind: 'capture' });
  }

  async captureRow(
    scope: Scope,
    payment: PaymentRow,
    amountMinor: number | undefined,
    cause: ChangeCause,
  ): Promise<PaymentView> {
    if (isCaptured(payment.status)) return paymentView(payment);
    if (payment.status !== 'authorized')
      throw apiError('PAYMENT_STATE_CONFLICT', `Payment ${payment.id} is ${payment.status}; only a hold is captured`, {
        status: payment.status,
      });
    const amount = amountMinor ?? payment.amountMinor;
    if (!Number.isSafeInteger(amount) || amount <= 0 || amount > payment.amountMinor)
      throw apiError('VALIDATION_FAILED', `The capture is between 1 and ${payment.amountMinor}`, {
        field: 'amountMinor',
      });
    if (payment.provider === 'wallet')
      return paymentView(await this.record(scope, payment.id, walletView(payment, 'captured', amount), cause));
    const provider = this.provider(payment.provider);
    const applicationFeeMinor = isDestinationCharge(payment)
      ? await this.fixApplicationFee(scope, payment, amount)
      : undefined;
    let answer: ProviderPayment;
    try {
      answer = await provider.capture(payment.providerRef!, {
        idempotencyKey: `${payment.id}:capture`,
        amountMinor: amount,
        ...(applicationFeeMinor !== undefined ? { applicationFeeMinor } : {}),
      });
    } catch (err) {
      // Someone else captured or cancelled it meanwhile: the provider's view tells what happened.
      const view = await provider.retrieve(payment.providerRef!).catch(() => undefined);
      if (view) {
        const row = await this.record(scope, payment.id, view, cause);
        if (isCaptured(row.status)) return paymentView(row);
      }
      throw providerProblem(err);
    }
    return paymentView(await this.record(scope, payment.id, answer, cause));
  }

  /**
   * A Connect destination charge for a shop's card hold (docs/payments-flows.md, "Destination
   * charges"): a manual-capture Stripe payment to a partner with an active connected account. Other
   * payments (automatic charges, PayPal, cash, wallet) reach the shop through the weekly payout.
   */
  private async connectAccountFor(
    q: Queryable,
    input: StartPaymentInput & { shopTenantId?: string | undefined },
  ): Promise<string | null> {
    if (input.provider !== 'stripe' || input.capture !== 'manual' || !input.partnerId) return null;
    if (input.purpose !== 'booking' && input.purpose !== 'repair') return null;
    const { rows } = await q.query<{ account: string | null }>('SELECT partner_connect_account($1) AS account', [
      input.partnerId,
    ]);
    return rows[0]?.account ?? null;
  }

  /**
   * The application fee of a destination charge's capture: the commission and its VAT on `amount`
   * (computeCommission, `allocate`), stored on the payment before the provider is asked, so the
   * recording of the capture (our answer or a webhook, whichever comes first) books that same fee.
   * A retry finds the stored fee (the same capture request, the same key).
   */
  private async fixApplicationFee(scope: Scope, payment: PaymentRow, amount: number): Promise<number> {
    return scope.run(async (q) => {
      const repo = new PaymentsRepository(q);
      const row = (await repo.get(payment.id, true))!;
      if (row.applicationFeeMinor !== null) return row.applicationFeeMinor;
      // Captured meanwhile (elsewhere): nothing to fix any more; the provider's answer tells the rest.
      if (row.status !== 'authorized') return 0;
      let fee = 0;
      if (this.money.commission !== false && row.partnerId !== null) {
        const quote = await computeCommission(q, {
          shopTenantId: row.tenantId,
          partnerId: row.partnerId,
          amountMinor: amount,
          currency: row.currency,
          at: this.clock(),
        });
        fee = quote.commissionMinor + quote.vatMinor;
      }
      const written = await repo.compareAndSet(row.id, row.version, { applicationFeeMinor: fee });
      if (!written) throw apiError('PAYMENT_STATE_CONFLICT', `Payment ${row.id} changed meanwhile; read it again`);
      return fee;
    });
  }

  /** Releases a hold, or gives up a payment not yet authorised. */
  async cancel(caller: PaymentCaller, id: string): Promise<PaymentView> {
    const payment = await this.readFor(caller, id, 'payments:write');
    const side = caller.principal ? sideOf(caller.principal, payment) : 'system';
    if (side === 'customer' && payment.status === 'authorized')
      throw apiError(
        'PAYMENT_STATE_CONFLICT',
        'A hold for a booking is released by the shop or by cancelling the booking',
        {
          status: payment.status,
        },
      );
    return this.cancelRow(caller.scope, payment, { actor: actorName(caller), kind: 'cancel' });
  }

  async cancelRow(scope: Scope, payment: PaymentRow, cause: ChangeCause): Promise<PaymentView> {
    if (payment.status === 'cancelled') return paymentView(payment);
    if (!['pending', 'requires_action', 'authorized'].includes(payment.status))
      throw apiError('PAYMENT_STATE_CONFLICT', `Payment ${payment.id} is ${payment.status}; it cannot be cancelled`, {
        status: payment.status,
      });
    if (payment.provider === 'wallet' || payment.providerRef === null)
      return paymentView(await this.record(scope, payment.id, walletView(payment, 'cancelled'), cause));
    const provider = this.provider(payment.provider);
    let answer: ProviderPayment;
    try {
      answer = await provider.cancel(payment.providerRef, { idempotencyKey: `${payment.id}:cancel` });
    } catch (err) {
      const view = await provider.retrieve(payment.providerRef).catch(() => undefined);
      if (view) {
        const row = await this.record(scope, payment.id, view, cause);
        if (row.status === 'cancelled') return paymentView(row);
        throw apiError('PAYMENT_STATE_CONFLICT', `Payment ${payment.id} is ${row.status}; it cannot be cancelled`, {
          status: row.status,
        });
      }
      throw providerProblem(err);
    }
    return paymentView(await this.record(scope, payment.id, answer, cause));
  }

  /**
   * Refunds part or all of what is left of the captured amount. The caller has already passed the
   * step-up and `scope` is its audited scope. `key`: the caller's idempotency key (the same key is
   * the same refund).
   */
  async refund(
    caller: PaymentCaller,
    audited: Scope,
    input: { paymentId: string; amountMinor?: number | undefined; reason?: string | undefined },
    key: string,
  ): Promise<PaymentView> {
    const payment = await this.readFor(caller, input.paymentId, 'payments:refund');
    return this.refundRow(audited, payment, input.amountMinor, input.reason, key, actorName(caller));
  }

  async refundRow(
    scope: Scope,
    payment: PaymentRow,
    amountMinor: number | undefined,
    reason: string | undefined,
    key: string,
    actor: string,
  ): Promise<PaymentView> {
    const refundId = transferId(`refund-request:${payment.id}:${key}`);
    const cause: ChangeCause = { actor, kind: 'refund', data: { refundId } };
    // Reserve the amount in our books first (a refund row, pending), so two refunds at once cannot
    // both take what is left.
    const reserved = await scope.run(async (q) => {
      const repo = new PaymentsRepository(q);
      const row = (await repo.get(payment.id, true))!;
      const { rows } = await q.query<{ amount: number; status: string }>(
        `SELECT amount_minor::float8 AS amount, status FROM payment_refunds WHERE id = $1`,
        [refundId],
      );
      if (rows[0]) return { row, amount: rows[0].amount, again: true };
      if (!isCaptured(row.status))
        throw apiError(
          'PAYMENT_STATE_CONFLICT',
          `Payment ${row.id} is ${row.status}; only a captured payment is refunded`,
          {
            status: row.status,
          },
        );
      const left = row.capturedMinor - row.refundedMinor - (await repo.pendingRefundsMinor(row.id));
      const amount = amountMinor ?? left;
      if (!Number.isSafeInteger(amount) || amount <= 0 || amount > left)
        throw apiError('REFUND_EXCEEDS_CAPTURED', `At most ${Math.max(left, 0)} of ${row.currency} can be refunded`, {
          refundableMinor: Math.max(left, 0),
        });
      await repo.insertRefund({
        id: refundId,
        payment: row,
        amountMinor: amount,
        reason: reason ?? null,
        requestedBy: actor,
      });
      return { row, amount, again: false };
    });
    const row = reserved.row;
    if (row.provider === 'wallet' || row.provider === 'cash') {
      const total = row.refundedMinor + reserved.amount;
      const after = await scope.run(async (q) => {
        const current = (await new PaymentsRepository(q).get(row.id, true))!;
        // Replayed: the refund is already in the total.
        const settled = await q.query<{ status: string }>(`SELECT status FROM payment_refunds WHERE id = $1`, [
          refundId,
        ]);
        if (settled.rows[0]?.status === 'succeeded') return current;
        const view = walletView(current, 'captured', current.capturedMinor, current.refundedMinor + reserved.amount);
        const applied = await applyProviderView(q, row.id, view, cause, this.money, this.clock());
        await new PaymentsRepository(q).settleRefund(refundId, 'succeeded', null);
        return applied.payment;
      });
      void total;
      return paymentView(after);
    }
    const provider = this.provider(row.provider);
    try {
      const refund = await provider.refund(row.providerRef!, {
        idempotencyKey: `${refundId}:refund`,
        amountMinor: reserved.amount,
        reason: 'requested_by_customer',
        metadata: { paymentId: row.id, refundId },
        // The commission policy (docs/payments-flows.md, "Refunds of a destination charge"): a refund
        // takes the shop's share back from its connected account and returns the platform's fee, both
        // in proportion to the amount refunded; the platform keeps no fee on money the customer got back.
        ...(isDestinationCharge(row) ? { reverseTransfer: true, refundApplicationFee: true } : {}),
      });
      const view = await provider.retrieve(row.providerRef!);
      const after = await scope.run(async (q) => {
        const applied = await applyProviderView(q, row.id, view, cause, this.money, this.clock());
        await new PaymentsRepository(q).settleRefund(
          refundId,
          refund.status === 'failed' ? 'failed' : 'succeeded',
          refund.refundRef,
        );
        return applied.payment;
      });
      return paymentView(after);
    } catch (err) {
      if (err instanceof ProviderError && err.code !== 'PROVIDER_UNAVAILABLE')
        await scope.run((q) => new PaymentsRepository(q).settleRefund(refundId, 'failed', null));
      throw providerProblem(err);
    }
  }

  /** What the browser needs to pay (no secrets). */
  config(): { providers: PaymentProviderName[]; stripe: { publishableKey: string; apiBase: string } | null } {
    const names = [...(this.options.providers?.providers.keys() ?? [])] as PaymentProviderName[];
    const browser = this.options.browser;
    return {
      providers: [...names, 'wallet'],
      stripe: browser?.stripe && names.includes('stripe') ? browser.stripe : null,
    };
  }
}

/**
 * Takes money: stores the payment (`pending`), asks the fraud check, calls the provider with the
 * payment's id as the root of its idempotency key, and records the answer with a compare-and-set
 * (docs/payments-flows.md, "Exactly once"). The same `idempotencyKey` (per payer) is the same
 * payment: a repeat returns it and charges nothing more. A decline stores the payment as `failed`
 * and throws `PROVIDER_DECLINED`. Other domains (installments) call it in their own use cases;
 * system work passes a system `Scope` without a principal or policy, and names the payer.
 */
export async function startPayment(
  caller: PaymentCaller,
  deps: PaymentDeps | PaymentsServiceOptions,
  input: StartPaymentInput,
): Promise<PaymentView> {
  return new PaymentsService(deps).start(caller, input);
}

/** startPayment for jobs: a system scope, the actor named (`system:installments`), the payer in `input`. */
export async function startPaymentAsSystem(
  scope: Scope,
  deps: PaymentDeps | PaymentsServiceOptions,
  input: StartPaymentInput & { customerTenantId: string },
  actor = 'system:payments',
): Promise<PaymentView> {
  return new PaymentsService(deps).start({ scope, actor }, input);
}
