import { ApiProblem, apiRequest, getJson } from './api.js';

/**
 * The money routes the pages call (issue 16; docs/payments.md), in one place: payments (api/src/payments),
 * the wallet (api/src/wallet), commissions and payouts (api/src/commissions), the fraud review queue
 * (api/src/fraud), and the browser's own card step against the Stripe API. Every answer is read
 * tolerantly (missing fields get neutral values) so a page shows what it can; when a route changes
 * shape, this file changes, not the pages. Amounts are integer minor units with an ISO currency.
 */

type Json = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const int = (v: unknown): number =>
  typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : 0;
const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const qs = (params: Record<string, string | number | undefined | null>): string => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
};

// ---------------------------------------------------------------- payments

export type PaymentProviderName = 'stripe' | 'paypal' | 'cash' | 'wallet';

export interface Payment {
  id: string;
  purpose: string;
  provider: string;
  status: string;
  amountMinor: number;
  capturedMinor: number;
  refundedMinor: number;
  commissionMinor: number;
  currency: string;
  bookingId: string | null;
  repairOrderId: string | null;
  partnerId: string | null;
  providerRef: string | null;
  createdAt: string;
  updatedAt: string;
  /** Stripe: what the browser confirms the intent with (never stored by the page). */
  clientSecret: string | null;
  /** PayPal: where the payer approves. */
  approvalUrl: string | null;
}

export function payment(p: Json): Payment {
  const inner = (p.payment ?? p) as Json;
  return {
    id: String(inner.id ?? ''),
    purpose: str(inner.purpose) ?? '',
    provider: str(inner.provider) ?? '',
    status: str(inner.status) ?? '',
    amountMinor: int(inner.amountMinor),
    capturedMinor: int(inner.capturedMinor),
    refundedMinor: int(inner.refundedMinor),
    commissionMinor: int(inner.commissionMinor),
    currency: str(inner.currency) ?? 'EUR',
    bookingId: str(inner.bookingId),
    repairOrderId: str(inner.repairOrderId),
    partnerId: str(inner.partnerId),
    providerRef: str(inner.providerRef),
    createdAt: str(inner.createdAt) ?? '',
    updatedAt: str(inner.updatedAt) ?? '',
    clientSecret: str(inner.clientSecret),
    approvalUrl: str(inner.approvalUrl),
  };
}

/** What the browser needs to take a card: the providers on offer and Stripe's public side. */
export interface PaymentsConfig {
  providers: PaymentProviderName[];
  stripe: { publishableKey: string; apiBase: string } | null;
}

export async function loadPaymentsConfig(): Promise<PaymentsConfig> {
  const c = await getJson<Json>('/api/payments/config');
  const stripe = (c.stripe ?? null) as Json | null;
  const publishableKey = str(stripe?.publishableKey);
  const apiBase = str(stripe?.apiBase);
  return {
    providers: (Array.isArray(c.providers) ? c.providers : ['cash']).map(String) as PaymentProviderName[],
    stripe: publishableKey && apiBase ? { publishableKey, apiBase: apiBase.replace(/\/+$/, '') } : null,
  };
}

/** A hold on the booking's price (or deposit) with the chosen provider (`POST /api/payments/process`). */
export async function payBooking(bookingId: string, provider: PaymentProviderName): Promise<Payment> {
  return payment(await apiRequest<Json>('POST', '/api/payments/process', { bookingId, provider }));
}

/** Money into the wallet by card: a payment with purpose `wallet_topup`, taken at once once confirmed. */
export async function startTopUp(amountMinor: number, currency: string): Promise<Payment> {
  return payment(
    await apiRequest<Json>('POST', '/api/payments/process', {
      purpose: 'wallet_topup',
      provider: 'stripe',
      amountMinor,
      currency,
    }),
  );
}

/** Asks the API to read the provider's state now (after the browser confirmed), not wait for the webhook. */
export async function verifyPayment(paymentId: string): Promise<Payment> {
  return payment(await apiRequest<Json>('POST', '/api/payments/verify', { paymentId }));
}

export async function loadPayment(id: string): Promise<Payment> {
  return payment(await getJson<Json>(`/api/payments/${encodeURIComponent(id)}`));
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PaymentSearch {
  bookingId?: string;
  repairOrderId?: string;
  partnerId?: string;
  status?: string;
  purpose?: string;
  cursor?: string;
  limit?: number;
}

export async function searchPayments(search: PaymentSearch): Promise<Page<Payment>> {
  const answer = await getJson<Json>(`/api/payments/history${qs({ ...search })}`);
  return {
    items: list(answer.payments ?? answer.items).map(payment),
    nextCursor: str(answer.nextCursor ?? answer.next),
  };
}

export async function refundPayment(paymentId: string, amountMinor: number | null, reason: string): Promise<void> {
  await apiRequest('POST', '/api/payments/refund', {
    paymentId,
    ...(amountMinor !== null ? { amountMinor } : {}),
    ...(reason ? { reason } : {}),
  });
}

export const receiptUrl = (paymentId: string): string => `/api/payments/${encodeURIComponent(paymentId)}/receipt.pdf`;
export const invoiceUrl = (repairOrderId: string): string =>
  `/api/repair-orders/${encodeURIComponent(repairOrderId)}/invoice.pdf`;

export interface Dispute {
  id: string;
  provider: string;
  paymentId: string | null;
  providerRef: string | null;
  amountMinor: number;
  currency: string;
  status: string;
  occurredAt: string;
}

export async function listDisputes(): Promise<Dispute[]> {
  const answer = await getJson<Json>('/api/payments/disputes');
  return list(answer.disputes ?? answer.items).map((d) => ({
    id: String(d.id ?? d.eventId ?? ''),
    provider: str(d.provider) ?? '',
    paymentId: str(d.paymentId),
    providerRef: str(d.providerRef) ?? str(d.objectRef),
    amountMinor: int(d.amountMinor),
    currency: str(d.currency) ?? 'EUR',
    status: str(d.status) ?? 'opened',
    occurredAt: str(d.occurredAt) ?? str(d.createdAt) ?? '',
  }));
}

export interface Reconciliation {
  id: string;
  provider: string;
  period: string;
  matched: number;
  mismatches: { kind: string; ref: string; ourMinor: number | null; providerMinor: number | null }[];
  createdAt: string;
}

export async function listReconciliations(): Promise<Reconciliation[]> {
  const answer = await getJson<Json>('/api/payments/reconciliations');
  return list(answer.reconciliations ?? answer.reports ?? answer.items).map((r) => ({
    id: String(r.id ?? ''),
    provider: str(r.provider) ?? '',
    period: str(r.day) ?? str(r.periodStart) ?? str(r.from) ?? '',
    matched: int(r.matched ?? r.matchedCount),
    mismatches: list(r.mismatches).map((m) => ({
      kind: str(m.kind) ?? '',
      ref: str(m.ref) ?? str(m.providerRef) ?? str(m.sourceRef) ?? '',
      ourMinor: m.ourMinor === undefined || m.ourMinor === null ? null : int(m.ourMinor),
      providerMinor: m.providerMinor === undefined || m.providerMinor === null ? null : int(m.providerMinor),
    })),
    createdAt: str(r.createdAt) ?? '',
  }));
}

// ---------------------------------------------------------------- the card step (Stripe.js's part)

/**
 * Stripe's published test cards (docs.stripe.com/testing) as the test PaymentMethods Stripe.js would
 * create for them. The card form of the demo and the tests takes these numbers; with live keys Stripe
 * Elements replaces the form (card numbers never touch our pages or servers there).
 */
export const TEST_CARDS: Readonly<Record<string, string>> = {
  '4242424242424242': 'pm_card_visa',
  '4000056655665556': 'pm_card_visa_debit',
  '5555555555554444': 'pm_card_mastercard',
  '4000000000000002': 'pm_card_chargeDeclined',
  '4000000000009995': 'pm_card_chargeDeclinedInsufficientFunds',
  '4000002500003155': 'pm_card_authenticationRequired',
};

/** The test PaymentMethod of a typed card number (spaces ignored), or null for any other number. */
export function testPaymentMethod(cardNumber: string): string | null {
  return TEST_CARDS[cardNumber.replace(/[\s-]/g, '')] ?? null;
}

/** The PaymentIntent id a client secret belongs to (`pi_123_secret_abc` -> `pi_123`), as Stripe.js reads it. */
export function intentIdOf(clientSecret: string): string {
  const at = clientSecret.indexOf('_secret_');
  return at > 0 ? clientSecret.slice(0, at) : clientSecret;
}

/** The provider's answer to the browser's confirm: the intent's status, or its error. */
export interface CardConfirmation {
  status: string;
}

/**
 * Confirms a PaymentIntent from the browser the way Stripe.js's `confirmCardPayment` does: a
 * form-encoded `POST /v1/payment_intents/:id/confirm` to the Stripe API with the publishable key and
 * the client secret (a simple CORS request: no preflight). A refusal becomes an ApiProblem with code
 * `PROVIDER_DECLINED` (card errors) or `PROVIDER_UNAVAILABLE`, worded by the catalogue's title and
 * Stripe's message as the detail.
 */
export async function confirmCardPayment(
  stripe: NonNullable<PaymentsConfig['stripe']>,
  clientSecret: string,
  paymentMethod: string,
): Promise<CardConfirmation> {
  const body = new URLSearchParams({
    payment_method: paymentMethod,
    client_secret: clientSecret,
    key: stripe.publishableKey,
  });
  let res: Response;
  try {
    res = await fetch(`${stripe.apiBase}/v1/payment_intents/${encodeURIComponent(intentIdOf(clientSecret))}/confirm`, {
      method: 'POST',
      body,
      credentials: 'omit',
    });
  } catch {
    throw new ApiProblem(503, 'PROVIDER_UNAVAILABLE', '');
  }
  const answer = (await res.json().catch(() => ({}))) as Json;
  if (!res.ok) {
    const error = (answer.error ?? {}) as Json;
    const card = str(error.type) === 'card_error' || res.status === 402;
    throw new ApiProblem(
      res.status,
      card ? 'PROVIDER_DECLINED' : 'PROVIDER_UNAVAILABLE',
      str(error.message) ?? '',
      '',
      { providerCode: str(error.decline_code) ?? str(error.code) ?? '' },
    );
  }
  return { status: str(answer.status) ?? '' };
}

// ---------------------------------------------------------------- wallet

export interface WalletBalance {
  currency: string;
  postedMinor: number;
  heldMinor: number;
  availableMinor: number;
}

export async function loadWalletBalance(currency: string): Promise<WalletBalance | null> {
  let answer: Json;
  try {
    answer = await getJson<Json>(`/api/wallet/balance${qs({ currency })}`);
  } catch (err) {
    // No wallet yet in this currency: the page offers to open one.
    if (err instanceof ApiProblem && (err.status === 404 || err.code === 'WALLET_NOT_FOUND')) return null;
    throw err;
  }
  const wallets = Array.isArray(answer.wallets) ? list(answer.wallets) : [(answer.balance ?? answer) as Json];
  const w = wallets.find((x) => str(x.currency) === currency);
  if (!w) return null;
  const posted = int(w.postedMinor);
  const held = int(w.heldMinor);
  return {
    currency,
    postedMinor: posted,
    heldMinor: held,
    availableMinor: w.availableMinor !== undefined ? int(w.availableMinor) : posted - held,
  };
}

export async function createWallet(currency: string): Promise<void> {
  await apiRequest('POST', '/api/wallet/create', { currency });
}

export interface WalletEntry {
  id: string;
  /** Signed from the wallet's point of view: positive money in, negative money out. */
  amountMinor: number;
  currency: string;
  reason: string;
  reference: string | null;
  at: string;
  pending: boolean;
}

export async function loadWalletHistory(currency: string, cursor?: string): Promise<Page<WalletEntry>> {
  const answer = await getJson<Json>(`/api/wallet/history${qs({ currency, cursor, limit: 20 })}`);
  return {
    items: list(answer.items ?? answer.entries).map((e) => {
      const amount = int(e.amountMinor);
      return {
        id: String(e.transferId ?? e.id ?? ''),
        amountMinor: str(e.direction) === 'out' ? -amount : amount,
        currency: str(e.currency) ?? currency,
        reason: str(e.reason) ?? '',
        reference: str(e.reference),
        at: str(e.createdAt) ?? str(e.at) ?? '',
        pending: str(e.kind) === 'pending',
      };
    }),
    nextCursor: str(answer.next ?? answer.nextCursor),
  };
}

/** To another person's wallet, by e-mail (or user id); above the API's threshold it asks for a second factor. */
export async function walletTransfer(to: string, amountMinor: number, currency: string, note: string): Promise<void> {
  await apiRequest('POST', '/api/wallet/transfer', {
    ...(to.includes('@') ? { toEmail: to } : { toUserId: to }),
    amountMinor,
    currency,
    ...(note ? { note } : {}),
  });
}

// ---------------------------------------------------------------- commissions and payouts

export interface Commission {
  id: string;
  paymentId: string;
  partnerId: string;
  amountMinor: number;
  commissionMinor: number;
  vatMinor: number;
  netToShopMinor: number;
  rateBps: number;
  tier: string;
  currency: string;
  createdAt: string;
}

export async function listCommissions(partnerId?: string, cursor?: string): Promise<Page<Commission>> {
  const answer = await getJson<Json>(`/api/commission/history${qs({ partnerId, cursor })}`);
  return {
    items: list(answer.commissions ?? answer.items).map((c) => ({
      id: String(c.id ?? ''),
      paymentId: str(c.paymentId) ?? '',
      partnerId: str(c.partnerId) ?? '',
      amountMinor: int(c.amountMinor ?? c.capturedMinor),
      commissionMinor: int(c.commissionMinor),
      vatMinor: int(c.vatMinor),
      netToShopMinor: int(c.netToShopMinor ?? c.netMinor),
      rateBps: int(c.rateBps),
      tier: str(c.tier) ?? '',
      currency: str(c.currency) ?? 'EUR',
      createdAt: str(c.capturedAt) ?? str(c.createdAt) ?? '',
    })),
    nextCursor: str(answer.nextCursor ?? answer.next),
  };
}

export interface Payout {
  id: string;
  partnerId: string;
  amountMinor: number;
  currency: string;
  status: string;
  periodStart: string | null;
  periodEnd: string | null;
  createdAt: string;
}

export async function listPayouts(partnerId?: string): Promise<Payout[]> {
  const answer = await getJson<Json>(`/api/commission/payouts${qs({ partnerId })}`);
  return list(answer.payouts ?? answer.items).map((p) => ({
    id: String(p.id ?? ''),
    partnerId: str(p.partnerId) ?? '',
    amountMinor: int(p.amountMinor),
    currency: str(p.currency) ?? 'EUR',
    status: str(p.status) ?? '',
    periodStart: str(p.periodStart),
    periodEnd: str(p.periodEnd),
    createdAt: str(p.createdAt) ?? '',
  }));
}

export const statementUrl = (payoutId: string): string =>
  `/api/commission/payouts/${encodeURIComponent(payoutId)}/statement.pdf`;

export interface PayoutAccount {
  partnerId: string;
  provider: string;
  accountRef: string;
  status: string;
}

export async function listPayoutAccounts(): Promise<PayoutAccount[]> {
  const answer = await getJson<Json>('/api/commission/payout-accounts');
  return list(answer.accounts ?? answer.payoutAccounts ?? answer.items).map((a) => ({
    partnerId: str(a.partnerId) ?? '',
    provider: str(a.provider) ?? '',
    accountRef: str(a.accountRef) ?? '',
    status: str(a.status) ?? '',
  }));
}

export interface AnalyticsRow {
  period: string;
  partnerId: string | null;
  currency: string;
  capturedMinor: number;
  commissionMinor: number;
  vatMinor: number;
  netMinor: number;
  payoutsMinor: number;
}

export async function loadCommissionAnalytics(): Promise<AnalyticsRow[]> {
  const answer = await getJson<Json>('/api/commission/analytics');
  return list(answer.periods ?? answer.rows ?? answer.items).map((r) => ({
    period: str(r.period) ?? str(r.periodStart) ?? '',
    partnerId: str(r.partnerId),
    currency: str(r.currency) ?? 'EUR',
    capturedMinor: int(r.capturedMinor),
    commissionMinor: int(r.commissionMinor),
    vatMinor: int(r.vatMinor),
    netMinor: int(r.netMinor ?? r.netToShopMinor),
    payoutsMinor: int(r.payoutsMinor ?? r.paidOutMinor),
  }));
}

/** Runs the payout now (platform admin; MFA step-up on the API's side). */
export async function runPayout(partnerId: string | null): Promise<void> {
  await apiRequest('POST', '/api/commission/payout', partnerId ? { partnerId } : {});
}

// ---------------------------------------------------------------- fraud review queue

export interface FraudAlert {
  id: string;
  /** What was attempted: `payment`, `booking`, `transfer`. */
  kind: string;
  reference: string | null;
  amountMinor: number;
  currency: string;
  decision: string;
  score: number;
  /** Reason codes (`velocity`, `new_device`, ...), strongest first as the API lists them. */
  reasons: string[];
  status: string;
  createdAt: string;
}

export async function listFraudAlerts(status = 'open'): Promise<FraudAlert[]> {
  const answer = await getJson<Json>(`/api/security/fraud/alerts${qs({ status })}`);
  return list(answer.alerts ?? answer.items).map((a) => {
    const attempt = (a.attempt ?? {}) as Json;
    return {
      id: String(a.id ?? ''),
      kind: str(attempt.kind) ?? '',
      reference: str(attempt.reference),
      amountMinor: int(attempt.amountMinor),
      currency: str(attempt.currency) ?? 'EUR',
      decision: str(a.decision) ?? '',
      score: typeof a.score === 'number' ? a.score : Number(a.score ?? 0),
      reasons: (Array.isArray(a.reasons) ? (a.reasons as unknown[]) : []).map((r) =>
        typeof r === 'string' ? r : (str((r as Json).code) ?? ''),
      ),
      status: str(a.status) ?? '',
      createdAt: str(a.createdAt) ?? '',
    };
  });
}

/** Confirms or dismisses an open alert (P6's review; a confirmation here adds no block). */
export async function reviewFraudAlert(id: string, outcome: 'confirmed' | 'dismissed'): Promise<void> {
  await apiRequest('POST', `/api/security/fraud/alerts/${encodeURIComponent(id)}/review`, { outcome });
}
