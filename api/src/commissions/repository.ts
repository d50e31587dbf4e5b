import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';

/** SQL of the commissions domain (commissions, tiers, bonuses, VAT rates, payouts, payout accounts). */

export const COMMISSIONS_LISTING: Listing = { name: 'commissions', key: 'captured_at', id: 'id', idType: 'uuid' };
export const PAYOUTS_LISTING: Listing = { name: 'payouts', key: 'created_at', id: 'id', idType: 'uuid' };

export interface CommissionListRow {
  id: string;
  tenant_id: string;
  partner_id: string;
  partner_name: string;
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
  reversed_commission_minor: string | number;
  reversed_vat_minor: string | number;
  payout_id: string | null;
  captured_at: Date | string;
}

export interface CommissionFilter {
  partnerId?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

export function listCommissions(
  q: Queryable,
  filter: CommissionFilter,
  page: PageRequest,
): Promise<Page<CommissionListRow>> {
  // Reversals are per payment (a refund is of the payment, not of one capture): each row shows what
  // the refunds of its payment returned so far.
  return keysetPage<CommissionListRow>(
    q,
    COMMISSIONS_LISTING,
    {
      sql: `SELECT c.id, c.tenant_id, c.partner_id, p.name AS partner_name, c.payment_id, c.capture_ref,
                   c.amount_minor, c.currency, c.tier, c.tier_rate_bps, c.bonus_bps, c.rate_bps, c.commission_minor,
                   c.region, c.vat_rate_bps, c.vat_minor, c.net_minor, c.payout_id, c.captured_at,
                   coalesce(r.commission, 0) AS reversed_commission_minor, coalesce(r.vat, 0) AS reversed_vat_minor
              FROM commissions c
              JOIN partners p ON p.id = c.partner_id
              LEFT JOIN LATERAL (
                SELECT sum(cr.commission_minor)::bigint AS commission, sum(cr.vat_minor)::bigint AS vat
                  FROM commission_reversals cr WHERE cr.payment_id = c.payment_id) r ON true
             WHERE ($1::uuid IS NULL OR c.partner_id = $1)
               AND ($2::timestamptz IS NULL OR c.captured_at >= $2)
               AND ($3::timestamptz IS NULL OR c.captured_at < $3)`,
      params: [filter.partnerId ?? null, filter.from ?? null, filter.to ?? null],
    },
    page,
  );
}

export interface AnalyticsRow {
  period: string;
  partner_id: string;
  partner_name: string;
  currency: string;
  captured_minor: string;
  commission_minor: string;
  vat_minor: string;
  net_minor: string;
  refunded_minor: string;
  reversed_commission_minor: string;
  reversed_vat_minor: string;
  paid_out_minor: string;
}

export type Period = 'day' | 'week' | 'month';

/**
 * Sums per period (UTC, weeks from Monday) and shop: captures, commission, VAT, net, refunds and
 * what they returned, and payouts made. Row-level security confines a partner to its own shops.
 */
export async function analytics(
  q: Queryable,
  filter: { period: Period; from: Date; to: Date; partnerId?: string | undefined },
): Promise<AnalyticsRow[]> {
  const { rows } = await q.query<AnalyticsRow>(
    `WITH facts AS (
       SELECT date_trunc($1, captured_at AT TIME ZONE 'UTC') AS period, partner_id, currency,
              amount_minor AS captured, commission_minor AS commission, vat_minor AS vat, net_minor AS net,
              0::bigint AS refunded, 0::bigint AS rev_commission, 0::bigint AS rev_vat, 0::bigint AS paid_out
         FROM commissions WHERE captured_at >= $2 AND captured_at < $3 AND ($4::uuid IS NULL OR partner_id = $4)
       UNION ALL
       SELECT date_trunc($1, reversed_at AT TIME ZONE 'UTC'), partner_id, currency, 0, 0, 0, 0,
              refunded_minor, commission_minor, vat_minor, 0
         FROM commission_reversals WHERE reversed_at >= $2 AND reversed_at < $3 AND ($4::uuid IS NULL OR partner_id = $4)
       UNION ALL
       SELECT date_trunc($1, completed_at AT TIME ZONE 'UTC'), partner_id, currency, 0, 0, 0, 0, 0, 0, 0, amount_minor
         FROM payouts WHERE status = 'paid' AND completed_at >= $2 AND completed_at < $3 AND ($4::uuid IS NULL OR partner_id = $4)
     )
     SELECT to_char(f.period, 'YYYY-MM-DD') AS period, f.partner_id, p.name AS partner_name, f.currency,
            sum(captured)::text AS captured_minor, sum(commission)::text AS commission_minor, sum(vat)::text AS vat_minor,
            sum(net)::text AS net_minor, sum(refunded)::text AS refunded_minor,
            sum(rev_commission)::text AS reversed_commission_minor, sum(rev_vat)::text AS reversed_vat_minor,
            sum(paid_out)::text AS paid_out_minor
       FROM facts f JOIN partners p ON p.id = f.partner_id
      GROUP BY f.period, f.partner_id, p.name, f.currency
      ORDER BY f.period, p.name, f.partner_id, f.currency`,
    [filter.period, filter.from, filter.to, filter.partnerId ?? null],
  );
  return rows;
}

export interface PartnerRow {
  id: string;
  tenant_id: string;
  name: string;
  currency: string;
  time_zone: string;
  email: string | null;
  country: string | null;
}

export async function findPartner(q: Queryable, partnerId: string): Promise<PartnerRow | undefined> {
  const { rows } = await q.query<PartnerRow>(
    `SELECT id, tenant_id, name, currency, time_zone, email, upper(address->>'country') AS country FROM partners WHERE id = $1`,
    [partnerId],
  );
  return rows[0];
}

export interface TierRow {
  id: string;
  tenant_id: string;
  partner_id: string | null;
  currency: string | null;
  tier: string;
  min_volume_minor: string | number;
  rate_bps: number;
}

export async function tiers(q: Queryable, partnerId: string | null | undefined): Promise<TierRow[]> {
  // undefined: every row the caller can see; null: the defaults; a partner: its overrides.
  const { rows } = await q.query<TierRow>(
    `SELECT id, tenant_id, partner_id, currency, tier, min_volume_minor, rate_bps FROM commission_tiers
      WHERE $1::boolean OR partner_id IS NOT DISTINCT FROM $2::uuid
      ORDER BY partner_id NULLS FIRST, currency NULLS FIRST, min_volume_minor`,
    [partnerId === undefined, partnerId ?? null],
  );
  return rows;
}

export interface TierInput {
  currency: string | null;
  tier: string;
  minVolumeMinor: number;
  rateBps: number;
}

/** Replaces the defaults (partner null) or one partner's overrides with `rows` (system scope). */
export async function replaceTiers(
  q: Queryable,
  partner: { id: string; tenantId: string } | null,
  rows: readonly TierInput[],
): Promise<void> {
  await q.query(`DELETE FROM commission_tiers WHERE partner_id IS NOT DISTINCT FROM $1::uuid`, [partner?.id ?? null]);
  for (const r of rows)
    await q.query(
      `INSERT INTO commission_tiers (tenant_id, partner_id, currency, tier, min_volume_minor, rate_bps)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [partner?.tenantId ?? 'platform', partner?.id ?? null, r.currency, r.tier, r.minVolumeMinor, r.rateBps],
    );
}

export interface BonusRow {
  key: string;
  kind: 'rating' | 'on_time';
  min_value: string;
  min_count: number;
  reduction_bps: number;
  active: boolean;
}

export async function bonuses(q: Queryable): Promise<BonusRow[]> {
  const { rows } = await q.query<BonusRow>(
    `SELECT key, kind, min_value::text AS min_value, min_count, reduction_bps, active FROM commission_bonuses ORDER BY key`,
  );
  return rows;
}

export async function upsertBonus(
  q: Queryable,
  b: {
    key: string;
    kind: 'rating' | 'on_time';
    minValue: number;
    minCount: number;
    reductionBps: number;
    active: boolean;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO commission_bonuses (key, kind, min_value, min_count, reduction_bps, active) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (key) DO UPDATE SET kind = EXCLUDED.kind, min_value = EXCLUDED.min_value, min_count = EXCLUDED.min_count,
       reduction_bps = EXCLUDED.reduction_bps, active = EXCLUDED.active, updated_at = now()`,
    [b.key, b.kind, b.minValue, b.minCount, b.reductionBps, b.active],
  );
}

export async function vatRates(q: Queryable): Promise<{ region: string; rate_bps: number }[]> {
  const { rows } = await q.query<{ region: string; rate_bps: number }>(
    `SELECT region, rate_bps FROM vat_rates ORDER BY region`,
  );
  return rows;
}

export async function upsertVatRate(q: Queryable, region: string, rateBps: number): Promise<void> {
  await q.query(
    `INSERT INTO vat_rates (region, rate_bps) VALUES ($1, $2)
     ON CONFLICT (region) DO UPDATE SET rate_bps = EXCLUDED.rate_bps, updated_at = now()`,
    [region, rateBps],
  );
}

export interface PayoutAccountRow {
  tenant_id: string;
  partner_id: string;
  provider: 'stripe';
  account_ref: string;
  status: 'pending' | 'active' | 'disabled';
  created_at: Date | string;
}

export async function payoutAccount(q: Queryable, partnerId: string): Promise<PayoutAccountRow | undefined> {
  const { rows } = await q.query<PayoutAccountRow>(
    `SELECT tenant_id, partner_id, provider, account_ref, status, created_at FROM partner_payout_accounts
      WHERE partner_id = $1 AND provider = 'stripe'`,
    [partnerId],
  );
  return rows[0];
}

/** Payout accounts the caller can see (row-level security: a partner its own), by shop. */
export async function listPayoutAccounts(
  q: Queryable,
  partnerId: string | undefined,
): Promise<(PayoutAccountRow & { partner_name: string })[]> {
  const { rows } = await q.query<PayoutAccountRow & { partner_name: string }>(
    `SELECT a.tenant_id, a.partner_id, a.provider, a.account_ref, a.status, a.created_at, p.name AS partner_name
       FROM partner_payout_accounts a JOIN partners p ON p.id = a.partner_id
      WHERE $1::uuid IS NULL OR a.partner_id = $1
      ORDER BY p.name, a.partner_id, a.provider`,
    [partnerId ?? null],
  );
  return rows;
}

export async function insertPayoutAccount(
  q: Queryable,
  a: { tenantId: string; partnerId: string; accountRef: string; status: 'pending' | 'active'; createdBy: string },
): Promise<PayoutAccountRow> {
  const { rows } = await q.query<PayoutAccountRow>(
    `INSERT INTO partner_payout_accounts (tenant_id, partner_id, provider, account_ref, status, created_by)
     VALUES ($1, $2, 'stripe', $3, $4, $5)
     ON CONFLICT (partner_id, provider) DO UPDATE SET account_ref = EXCLUDED.account_ref, status = EXCLUDED.status, updated_at = now()
     RETURNING tenant_id, partner_id, provider, account_ref, status, created_at`,
    [a.tenantId, a.partnerId, a.accountRef, a.status, a.createdBy],
  );
  return rows[0]!;
}

export interface PayoutRow {
  id: string;
  tenant_id: string;
  partner_id: string;
  partner_name?: string;
  run_key: string;
  provider: 'stripe';
  account_ref: string;
  amount_minor: string | number;
  currency: string;
  status: 'pending' | 'paid' | 'failed';
  transfer_ref: string | null;
  ledger_transfer_id: string | null;
  period_start: Date | string;
  period_end: Date | string;
  failure: string | null;
  created_by: string;
  created_at: Date | string;
  completed_at: Date | string | null;
}

const PAYOUT_COLUMNS = `id, tenant_id, partner_id, run_key, provider, account_ref, amount_minor, currency, status, transfer_ref,
  ledger_transfer_id, period_start, period_end, failure, created_by, created_at, completed_at`;

export function listPayouts(
  q: Queryable,
  filter: { partnerId?: string | undefined },
  page: PageRequest,
): Promise<Page<PayoutRow>> {
  return keysetPage<PayoutRow>(
    q,
    PAYOUTS_LISTING,
    {
      sql: `SELECT ${PAYOUT_COLUMNS.replace(/(\w+)/g, 'po.$1')}, p.name AS partner_name
              FROM payouts po JOIN partners p ON p.id = po.partner_id
             WHERE $1::uuid IS NULL OR po.partner_id = $1`,
      params: [filter.partnerId ?? null],
    },
    page,
  );
}

export async function findPayout(q: Queryable, id: string): Promise<PayoutRow | undefined> {
  const { rows } = await q.query<PayoutRow>(`SELECT ${PAYOUT_COLUMNS} FROM payouts WHERE id = $1`, [id]);
  return rows[0];
}

export async function findPayoutByRunKey(q: Queryable, runKey: string): Promise<PayoutRow | undefined> {
  const { rows } = await q.query<PayoutRow>(`SELECT ${PAYOUT_COLUMNS} FROM payouts WHERE run_key = $1`, [runKey]);
  return rows[0];
}

export async function pendingPayout(q: Queryable, partnerId: string, currency: string): Promise<PayoutRow | undefined> {
  const { rows } = await q.query<PayoutRow>(
    `SELECT ${PAYOUT_COLUMNS} FROM payouts WHERE partner_id = $1 AND currency = $2 AND status = 'pending'`,
    [partnerId, currency],
  );
  return rows[0];
}

export async function lastPaidPayoutEnd(q: Queryable, partnerId: string, currency: string): Promise<Date | null> {
  const { rows } = await q.query<{ end: Date | string | null }>(
    `SELECT max(period_end) AS end FROM payouts WHERE partner_id = $1 AND currency = $2 AND status = 'paid'`,
    [partnerId, currency],
  );
  const end = rows[0]?.end;
  return end ? new Date(end) : null;
}

export async function insertPayout(
  q: Queryable,
  p: {
    tenantId: string;
    partnerId: string;
    runKey: string;
    accountRef: string;
    amountMinor: number;
    currency: string;
    periodStart: Date;
    periodEnd: Date;
    createdBy: string;
  },
): Promise<PayoutRow> {
  const { rows } = await q.query<PayoutRow>(
    `INSERT INTO payouts (tenant_id, partner_id, run_key, provider, account_ref, amount_minor, currency, period_start, period_end, created_by)
     VALUES ($1, $2, $3, 'stripe', $4, $5, $6, $7, $8, $9)
     RETURNING ${PAYOUT_COLUMNS}`,
    [
      p.tenantId,
      p.partnerId,
      p.runKey,
      p.accountRef,
      p.amountMinor,
      p.currency,
      p.periodStart,
      p.periodEnd,
      p.createdBy,
    ],
  );
  return rows[0]!;
}

/** Marks a payout paid and the commissions and reversals it covers (those of its period not yet covered). */
export async function markPayoutPaid(
  q: Queryable,
  id: string,
  done: { transferRef: string; ledgerTransferId: string; at: Date },
): Promise<PayoutRow> {
  const { rows } = await q.query<PayoutRow>(
    `UPDATE payouts SET status = 'paid', transfer_ref = $2, ledger_transfer_id = $3, completed_at = $4, failure = NULL
      WHERE id = $1 AND status = 'pending' RETURNING ${PAYOUT_COLUMNS}`,
    [id, done.transferRef, done.ledgerTransferId, done.at],
  );
  // Already completed by a concurrent attempt: nothing more to mark.
  if (!rows[0]) return (await findPayout(q, id))!;
  const payout = rows[0];
  await q.query(
    `UPDATE commissions SET payout_id = $1
      WHERE partner_id = $2 AND currency = $3 AND payout_id IS NULL AND captured_at < $4`,
    [id, payout.partner_id, payout.currency, payout.period_end],
  );
  await q.query(
    `UPDATE commission_reversals SET payout_id = $1
      WHERE partner_id = $2 AND currency = $3 AND payout_id IS NULL AND reversed_at < $4`,
    [id, payout.partner_id, payout.currency, payout.period_end],
  );
  return payout;
}

export async function markPayoutFailed(q: Queryable, id: string, failure: string): Promise<void> {
  await q.query(`UPDATE payouts SET status = 'failed', failure = $2 WHERE id = $1 AND status = 'pending'`, [
    id,
    failure.slice(0, 1000),
  ]);
}

/** What a payout statement lists: the commissions and reversals it covers. */
export async function payoutLines(
  q: Queryable,
  payoutId: string,
): Promise<{
  commissions: CommissionListRow[];
  reversals: {
    refund_ref: string;
    payment_id: string;
    refunded_minor: string;
    commission_minor: string;
    vat_minor: string;
    reversed_at: Date | string;
  }[];
}> {
  const commissions = await q.query<CommissionListRow>(
    `SELECT c.id, c.tenant_id, c.partner_id, p.name AS partner_name, c.payment_id, c.capture_ref, c.amount_minor, c.currency,
            c.tier, c.tier_rate_bps, c.bonus_bps, c.rate_bps, c.commission_minor, c.region, c.vat_rate_bps, c.vat_minor,
            c.net_minor, 0 AS reversed_commission_minor, 0 AS reversed_vat_minor, c.payout_id, c.captured_at
       FROM commissions c JOIN partners p ON p.id = c.partner_id
      WHERE c.payout_id = $1 ORDER BY c.captured_at, c.id`,
    [payoutId],
  );
  const reversals = await q.query<{
    refund_ref: string;
    payment_id: string;
    refunded_minor: string;
    commission_minor: string;
    vat_minor: string;
    reversed_at: Date | string;
  }>(
    `SELECT refund_ref, payment_id, refunded_minor::text, commission_minor::text, vat_minor::text, reversed_at
       FROM commission_reversals WHERE payout_id = $1 ORDER BY reversed_at, id`,
    [payoutId],
  );
  return { commissions: commissions.rows, reversals: reversals.rows };
}

/** Partners with a payout account (the weekly run's candidates), with their shop's time zone. */
export async function payablePartners(
  q: Queryable,
  partnerId?: string,
): Promise<
  { id: string; tenant_id: string; name: string; currency: string; time_zone: string; account_ref: string }[]
> {
  const { rows } = await q.query<{
    id: string;
    tenant_id: string;
    name: string;
    currency: string;
    time_zone: string;
    account_ref: string;
  }>(
    `SELECT p.id, p.tenant_id, p.name, p.currency, p.time_zone, a.account_ref
       FROM partners p JOIN partner_payout_accounts a ON a.partner_id = p.id AND a.provider = 'stripe' AND a.status = 'active'
      WHERE $1::uuid IS NULL OR p.id = $1
      ORDER BY p.id`,
    [partnerId ?? null],
  );
  return rows;
}
