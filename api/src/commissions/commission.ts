import type { Queryable } from '@clutch/db';
import { transferId } from '../ledger/ids.js';
import { ledger as defaultLedger } from '../ledger/ledger.js';
import type { AccountRef, Ledger, TransferInput, TransferResult } from '../ledger/types.js';
import { proRata, splitCapture, splitFee } from './split.js';

/**
 * Commission at capture (MONEY.md, "P5 exports"; docs/commissions.md). Every function works in the
 * caller's transaction, tenant-confined (a shop's user capturing: role clutch_app, app.tenant_id =
 * the shop's tenant) or system (a job), so the commission commits with the capture that caused it.
 */

export interface CommissionQuote {
  /** The rate applied: the tier's rate less the bonuses, in basis points. */
  rateBps: number;
  tier: string;
  tierRateBps: number;
  /** Basis points taken off the tier's rate by performance bonuses. */
  bonusBps: number;
  bonuses: string[];
  commissionMinor: number;
  vatMinor: number;
  /** ISO 3166-1 alpha-2 of the partner's address (`ZZ`: unknown, no VAT). */
  region: string;
  vatRateBps: number;
  netToShopMinor: number;
  /** The partner's captured volume over the 30 days before `at` (minor units of `currency`). */
  volumeMinor: number;
}

export interface ComputeCommissionInput {
  shopTenantId: string;
  partnerId: string;
  amountMinor: number;
  currency: string;
  at: Date;
}

export interface RecordCommissionInput extends ComputeCommissionInput {
  paymentId: string;
  /** One capture of the payment (e.g. `<paymentId>:<captureSeq>`): the idempotency key. */
  captureRef: string;
  /**
   * A Connect destination charge's application fee (commission + VAT) the provider already kept:
   * the recorded commission is this, split by the VAT rate, if the rates moved since it was asked.
   */
  applicationFeeMinor?: number | undefined;
}

export interface ReverseCommissionInput {
  paymentId: string;
  /** One refund (P3's refund id): the idempotency key. */
  refundRef: string;
  /** This refund's amount (minor units of the payment's currency). */
  refundedMinor: number;
  at?: Date | undefined;
}

export interface CommissionRecord {
  id: string;
  tenantId: string;
  partnerId: string;
  paymentId: string;
  captureRef: string;
  amountMinor: number;
  currency: string;
  tier: string;
  tierRateBps: number;
  bonusBps: number;
  rateBps: number;
  commissionMinor: number;
  region: string;
  vatRateBps: number;
  vatMinor: number;
  netMinor: number;
  payoutId: string | null;
  capturedAt: Date;
}

export interface CommissionReversal {
  id: string;
  tenantId: string;
  partnerId: string;
  paymentId: string;
  refundRef: string;
  refundedMinor: number;
  currency: string;
  commissionMinor: number;
  vatMinor: number;
  region: string;
  reversedAt: Date;
}

/** What the commission functions use besides the transaction: the ledger (tests may pass another). */
export interface CommissionDeps {
  ledger: Ledger;
}

const DEFAULT_DEPS: CommissionDeps = { ledger: defaultLedger };

/** A currency's usual region, when a shop's address says nothing (documented in docs/commissions.md). */
const CURRENCY_REGION: Record<string, string> = { EGP: 'EG', SAR: 'SA', AED: 'AE' };
export const UNKNOWN_REGION = 'ZZ';
const DAY_MS = 86_400_000;

export class CommissionError extends Error {
  constructor(
    readonly code: 'PARTNER_NOT_FOUND' | 'INVALID_AMOUNT' | 'LEDGER_REFUSED' | 'CAPTURE_REF_CONFLICT',
    message: string,
  ) {
    super(message);
    this.name = 'CommissionError';
  }
}

interface PartnerFacts {
  tenant_id: string;
  currency: string;
  country: string | null;
  rating_avg: string | null;
  rating_count: number;
}

interface TierRow {
  tier: string;
  rate_bps: number;
  own: boolean;
  exact: boolean;
  min_volume_minor: string;
}

interface BonusRow {
  key: string;
  kind: 'rating' | 'on_time';
  min_value: string;
  min_count: number;
  reduction_bps: number;
}

function assertAmount(amountMinor: number): void {
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 0)
    throw new CommissionError(
      'INVALID_AMOUNT',
      `amount must be a non-negative integer of minor units, got ${amountMinor}`,
    );
}

async function partnerFacts(q: Queryable, shopTenantId: string, partnerId: string): Promise<PartnerFacts> {
  const { rows } = await q.query<PartnerFacts>(
    `SELECT tenant_id, currency, upper(address->>'country') AS country, rating_avg::text AS rating_avg, rating_count
       FROM partners WHERE id = $1 AND tenant_id = $2
        -- In the shop's own transaction or a system one: another tenant sees listed shops, not their books.
        AND coalesce(current_setting('app.tenant_id', true), '') IN ('', $2)`,
    [partnerId, shopTenantId],
  );
  const row = rows[0];
  if (!row) throw new CommissionError('PARTNER_NOT_FOUND', `no partner ${partnerId} in tenant ${shopTenantId}`);
  return row;
}

/** The region whose VAT applies: the shop's address country, else its currency's, else unknown. */
export function regionOf(country: string | null, currency: string): string {
  if (country && /^[A-Z]{2}$/.test(country)) return country;
  return CURRENCY_REGION[currency] ?? UNKNOWN_REGION;
}

/** Captured volume (less nothing: refunds do not lower a tier mid-month) over the 30 days before `at`. */
async function volume(q: Queryable, partnerId: string, currency: string, at: Date): Promise<number> {
  const { rows } = await q.query<{ volume: string }>(
    `SELECT coalesce(sum(amount_minor), 0)::text AS volume FROM commissions
      WHERE partner_id = $1 AND currency = $2 AND captured_at > $3 AND captured_at <= $4`,
    [partnerId, currency, new Date(at.getTime() - 30 * DAY_MS), at],
  );
  return Number(rows[0]!.volume);
}

async function tierFor(
  q: Queryable,
  partnerId: string,
  currency: string,
  volumeMinor: number,
): Promise<{ tier: string; rateBps: number }> {
  // The partner's own rows win over the platform's; within them, exact-currency rows over NULL ones;
  // then the highest band the volume reaches.
  const { rows } = await q.query<TierRow>(
    `SELECT tier, rate_bps, partner_id IS NOT NULL AS own, currency IS NOT NULL AS exact, min_volume_minor::text
       FROM commission_tiers
      WHERE (partner_id = $1 OR partner_id IS NULL) AND (currency = $2 OR currency IS NULL)
      ORDER BY own DESC, exact DESC, min_volume_minor DESC`,
    [partnerId, currency],
  );
  const first = rows[0];
  if (!first) return { tier: 'none', rateBps: 0 };
  const band = rows.filter((r) => r.own === first.own && r.exact === first.exact);
  const hit = band.find((r) => Number(r.min_volume_minor) <= volumeMinor) ?? band[band.length - 1]!;
  return { tier: hit.tier, rateBps: hit.rate_bps };
}

async function onTimeShare(q: Queryable, partnerId: string, at: Date): Promise<{ share: number; count: number }> {
  const { rows } = await q.query<{ count: number; on_time: number }>(
    `SELECT count(*)::int AS count,
            count(*) FILTER (WHERE ready.at <= b.ends_at)::int AS on_time
       FROM repair_orders ro
       JOIN bookings b ON b.id = ro.booking_id
       JOIN LATERAL (SELECT min(e.at) AS at FROM repair_order_events e
                      WHERE e.repair_order_id = ro.id AND e.to_status IN ('ready_for_pickup', 'delivered')) ready ON true
      WHERE ro.partner_id = $1
        AND EXISTS (SELECT 1 FROM repair_order_events d
                     WHERE d.repair_order_id = ro.id AND d.to_status = 'delivered' AND d.at > $2 AND d.at <= $3)`,
    [partnerId, new Date(at.getTime() - 90 * DAY_MS), at],
  );
  const row = rows[0]!;
  return { count: row.count, share: row.count === 0 ? 0 : row.on_time / row.count };
}

async function bonusesFor(
  q: Queryable,
  partnerId: string,
  facts: PartnerFacts,
  at: Date,
): Promise<{ bonusBps: number; bonuses: string[] }> {
  const { rows } = await q.query<BonusRow>(
    `SELECT key, kind, min_value::text AS min_value, min_count, reduction_bps
       FROM commission_bonuses WHERE active ORDER BY key`,
  );
  let bonusBps = 0;
  const bonuses: string[] = [];
  let onTime: { share: number; count: number } | undefined;
  for (const b of rows) {
    let met = false;
    if (b.kind === 'rating') {
      met = facts.rating_count >= b.min_count && Number(facts.rating_avg ?? 0) >= Number(b.min_value);
    } else {
      onTime ??= await onTimeShare(q, partnerId, at);
      met = onTime.count >= b.min_count && onTime.share >= Number(b.min_value);
    }
    if (met) {
      bonusBps += b.reduction_bps;
      bonuses.push(b.key);
    }
  }
  return { bonusBps, bonuses };
}

async function vatRate(q: Queryable, region: string): Promise<number> {
  const { rows } = await q.query<{ rate_bps: number }>(`SELECT rate_bps FROM vat_rates WHERE region = $1`, [region]);
  return rows[0]?.rate_bps ?? 0;
}

/**
 * The commission on `amountMinor` captured by a shop at `at`: the tier of its last 30 days' volume,
 * less its performance bonuses, VAT by its region, split with `allocate` (split.ts). Reads only.
 */
export async function computeCommission(q: Queryable, input: ComputeCommissionInput): Promise<CommissionQuote> {
  assertAmount(input.amountMinor);
  const facts = await partnerFacts(q, input.shopTenantId, input.partnerId);
  const volumeMinor = await volume(q, input.partnerId, input.currency, input.at);
  const { tier, rateBps: tierRateBps } = await tierFor(q, input.partnerId, input.currency, volumeMinor);
  const { bonusBps, bonuses } = await bonusesFor(q, input.partnerId, facts, input.at);
  const rateBps = Math.max(0, tierRateBps - bonusBps);
  const region = regionOf(facts.country, input.currency);
  const vatRateBps = await vatRate(q, region);
  const split = splitCapture(input.amountMinor, rateBps, vatRateBps);
  return {
    rateBps,
    tier,
    tierRateBps,
    bonusBps: tierRateBps - rateBps,
    bonuses,
    region,
    vatRateBps,
    volumeMinor,
    ...split,
  };
}

/** The ledger accounts a shop's commission moves between. */
export function commissionAccounts(
  shopTenantId: string,
  partnerId: string,
  currency: string,
  region: string,
): { shopPayable: AccountRef; revenue: AccountRef; tax: AccountRef } {
  return {
    shopPayable: {
      tenantId: shopTenantId,
      ownerUserId: null,
      partnerId,
      qualifier: null,
      code: 'shop_payable',
      currency,
    },
    revenue: {
      tenantId: 'platform',
      ownerUserId: null,
      partnerId: null,
      qualifier: null,
      code: 'platform_revenue',
      currency,
    },
    tax: { tenantId: 'platform', ownerUserId: null, partnerId: null, qualifier: region, code: 'tax_payable', currency },
  };
}

function assertMoved(results: readonly TransferResult[]): void {
  for (const r of results) {
    if (r.status !== 'created' && r.status !== 'exists')
      throw new CommissionError('LEDGER_REFUSED', `ledger refused transfer ${r.id}: ${r.status}`);
  }
}

const COMMISSION_COLUMNS = `id, tenant_id, partner_id, payment_id, capture_ref, amount_minor, currency, tier,
  tier_rate_bps, bonus_bps, rate_bps, commission_minor, region, vat_rate_bps, vat_minor, net_minor, payout_id, captured_at`;

interface CommissionRow {
  id: string;
  tenant_id: string;
  partner_id: string;
  payment_id: string;
  capture_ref: string;
  amount_minor: string | number;
  currency: string;
  tier: string;
  tier_rate_bps: number;
  bonus_bps: number;
  rate_bps: number;
  commission_minor: string | number;
  region: string;
  vat_rate_bps: number;
  vat_minor: string | number;
  net_minor: string | number;
  payout_id: string | null;
  captured_at: Date | string;
}

export function toCommissionRecord(r: CommissionRow): CommissionRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    partnerId: r.partner_id,
    paymentId: r.payment_id,
    captureRef: r.capture_ref,
    amountMinor: Number(r.amount_minor),
    currency: r.currency,
    tier: r.tier,
    tierRateBps: r.tier_rate_bps,
    bonusBps: r.bonus_bps,
    rateBps: r.rate_bps,
    commissionMinor: Number(r.commission_minor),
    region: r.region,
    vatRateBps: r.vat_rate_bps,
    vatMinor: Number(r.vat_minor),
    netMinor: Number(r.net_minor),
    payoutId: r.payout_id,
    capturedAt: new Date(r.captured_at),
  };
}

/** What a commission or its reversal moves, and for which shop and payment. */
interface CommissionMove {
  tenantId: string;
  partnerId: string;
  paymentId: string;
  currency: string;
  region: string;
  commissionMinor: number;
  vatMinor: number;
  metadata: Record<string, string>;
}

/**
 * The ledger transfers of a commission taken at a capture (shop_payable -> platform_revenue, and the
 * VAT on it -> tax_payable) or returned at a refund (the same, reversed). Their ids derive from the
 * capture's or the refund's reference (`key`): a retry moves nothing.
 */
async function moveCommission(
  q: Queryable,
  deps: CommissionDeps,
  m: CommissionMove,
  how: { returned: boolean; key: string },
): Promise<void> {
  const accounts = commissionAccounts(m.tenantId, m.partnerId, m.currency, m.region);
  const shop = await deps.ledger.ensureAccount(q, accounts.shopPayable);
  const parts = [
    { amountMinor: m.commissionMinor, account: accounts.revenue, reason: 'commission', idPrefix: 'commission' },
    { amountMinor: m.vatMinor, account: accounts.tax, reason: 'vat', idPrefix: 'commission-vat' },
  ];
  const transfers: TransferInput[] = [];
  for (const part of parts) {
    if (part.amountMinor <= 0) continue;
    const other = await deps.ledger.ensureAccount(q, part.account);
    transfers.push({
      id: transferId(`${part.idPrefix}${how.returned ? '-reversal' : ''}:${how.key}`),
      debitAccountId: how.returned ? other.id : shop.id,
      creditAccountId: how.returned ? shop.id : other.id,
      amountMinor: part.amountMinor,
      currency: m.currency,
      reason: how.returned ? `${part.reason}_reversal` : part.reason,
      reference: `payment:${m.paymentId}`,
      metadata: m.metadata,
    });
  }
  if (transfers.length > 0) assertMoved(await deps.ledger.createTransfers(q, transfers));
}

/**
 * Records the commission of one capture: computes it, stores the `commissions` row and moves
 * shop_payable -> platform_revenue (commission) and shop_payable -> tax_payable(region) (VAT).
 * Idempotent per `captureRef`: a second call returns the first row (and re-applies its transfers,
 * which the ledger answers `exists`), whatever the rates are by then.
 */
export async function recordCommission(
  q: Queryable,
  input: RecordCommissionInput,
  deps: CommissionDeps = DEFAULT_DEPS,
): Promise<CommissionRecord> {
  assertAmount(input.amountMinor);
  // Concurrent calls for one capture (a webhook and the API): the second waits, then finds the row.
  await q.query(`SELECT pg_advisory_xact_lock(hashtextextended('commission:' || $1, 0))`, [input.captureRef]);
  const existing = await q.query<CommissionRow>(
    `SELECT ${COMMISSION_COLUMNS} FROM commissions WHERE capture_ref = $1`,
    [input.captureRef],
  );
  let record: CommissionRecord;
  if (existing.rows[0]) {
    record = toCommissionRecord(existing.rows[0]);
    if (record.paymentId !== input.paymentId || record.amountMinor !== input.amountMinor)
      throw new CommissionError(
        'CAPTURE_REF_CONFLICT',
        `capture ${input.captureRef} was recorded for payment ${record.paymentId}, ${record.amountMinor}`,
      );
  } else {
    const computed = await computeCommission(q, input);
    const fee = input.applicationFeeMinor;
    const quote =
      fee === undefined || fee === computed.commissionMinor + computed.vatMinor
        ? computed
        : { ...computed, ...splitFee(input.amountMinor, fee, computed.vatRateBps) };
    const { rows } = await q.query<CommissionRow>(
      `INSERT INTO commissions (tenant_id, partner_id, payment_id, capture_ref, amount_minor, currency, tier,
         tier_rate_bps, bonus_bps, rate_bps, commission_minor, region, vat_rate_bps, vat_minor, net_minor, captured_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
       RETURNING ${COMMISSION_COLUMNS}`,
      [
        input.shopTenantId,
        input.partnerId,
        input.paymentId,
        input.captureRef,
        input.amountMinor,
        input.currency,
        quote.tier,
        quote.tierRateBps,
        quote.bonusBps,
        quote.rateBps,
        quote.commissionMinor,
        quote.region,
        quote.vatRateBps,
        quote.vatMinor,
        quote.netToShopMinor,
        input.at,
      ],
    );
    record = toCommissionRecord(rows[0]!);
  }
  await moveCommission(
    q,
    deps,
    { ...record, metadata: { commissionId: record.id, captureRef: record.captureRef } },
    { returned: false, key: record.captureRef },
  );
  return record;
}

interface ReversalRow {
  id: string;
  tenant_id: string;
  partner_id: string;
  payment_id: string;
  refund_ref: string;
  refunded_minor: string | number;
  currency: string;
  commission_minor: string | number;
  vat_minor: string | number;
  region: string;
  reversed_at: Date | string;
}

const REVERSAL_COLUMNS = `id, tenant_id, partner_id, payment_id, refund_ref, refunded_minor, currency,
  commission_minor, vat_minor, region, reversed_at`;

function toReversal(r: ReversalRow): CommissionReversal {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    partnerId: r.partner_id,
    paymentId: r.payment_id,
    refundRef: r.refund_ref,
    refundedMinor: Number(r.refunded_minor),
    currency: r.currency,
    commissionMinor: Number(r.commission_minor),
    vatMinor: Number(r.vat_minor),
    region: r.region,
    reversedAt: new Date(r.reversed_at),
  };
}

/**
 * Returns the commission and VAT on a refund, pro rata over the payment's captures: cumulatively
 * (what all refunds so far stand for, less what earlier reversals returned), so a payment refunded
 * in full, in any number of steps, returns exactly what was taken. Idempotent per `refundRef`.
 * Null when the payment has no commission (a wallet top-up, a payment not captured).
 */
export async function reverseCommission(
  q: Queryable,
  input: ReverseCommissionInput,
  deps: CommissionDeps = DEFAULT_DEPS,
): Promise<CommissionReversal | null> {
  assertAmount(input.refundedMinor);
  // Serialises the refunds of one payment (the cumulative arithmetic needs the ones before).
  await q.query(`SELECT pg_advisory_xact_lock(hashtextextended('commission-payment:' || $1, 0))`, [input.paymentId]);
  const existing = await q.query<ReversalRow>(
    `SELECT ${REVERSAL_COLUMNS} FROM commission_reversals WHERE refund_ref = $1`,
    [input.refundRef],
  );
  let reversal: CommissionReversal;
  if (existing.rows[0]) {
    reversal = toReversal(existing.rows[0]);
  } else {
    const { rows: captured } = await q.query<CommissionRow>(
      `SELECT ${COMMISSION_COLUMNS} FROM commissions WHERE payment_id = $1 ORDER BY captured_at, id`,
      [input.paymentId],
    );
    if (captured.length === 0 || input.refundedMinor === 0) return null;
    const records = captured.map(toCommissionRecord);
    const first = records[0]!;
    const amount = records.reduce((s, c) => s + c.amountMinor, 0);
    const commission = records.reduce((s, c) => s + c.commissionMinor, 0);
    const vat = records.reduce((s, c) => s + c.vatMinor, 0);
    const { rows: before } = await q.query<{ refunded: string; commission: string; vat: string }>(
      `SELECT coalesce(sum(refunded_minor), 0)::text AS refunded, coalesce(sum(commission_minor), 0)::text AS commission,
              coalesce(sum(vat_minor), 0)::text AS vat
         FROM commission_reversals WHERE payment_id = $1`,
      [input.paymentId],
    );
    const prior = before[0]!;
    const refundedSoFar = Number(prior.refunded) + input.refundedMinor;
    const commissionBack = Math.max(0, proRata(commission, refundedSoFar, amount) - Number(prior.commission));
    const vatBack = Math.max(0, proRata(vat, refundedSoFar, amount) - Number(prior.vat));
    const { rows } = await q.query<ReversalRow>(
      `INSERT INTO commission_reversals (tenant_id, partner_id, payment_id, refund_ref, refunded_minor, currency,
         commission_minor, vat_minor, region, reversed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       RETURNING ${REVERSAL_COLUMNS}`,
      [
        first.tenantId,
        first.partnerId,
        input.paymentId,
        input.refundRef,
        input.refundedMinor,
        first.currency,
        commissionBack,
        vatBack,
        first.region,
        input.at ?? new Date(),
      ],
    );
    reversal = toReversal(rows[0]!);
  }
  await moveCommission(
    q,
    deps,
    { ...reversal, metadata: { reversalId: reversal.id, refundRef: reversal.refundRef } },
    { returned: true, key: reversal.refundRef },
  );
  return reversal;
}
