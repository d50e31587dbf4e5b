import { randomUUID } from 'node:crypto';
import type { Queryable } from '@clutch/db';
import type { Translator } from '@clutch/i18n';
import type { Principal } from '../auth/principal.js';
import type { RequestPolicy } from '../auth/policy.js';
import { actorOf, type Scope } from '../auth/scope.js';
import { renderPayoutStatement } from '../documents/payout-statement.js';
import { apiError } from '../errors.js';
import type { Page, PageRequest } from '../http/pagination.js';
import { ledger as defaultLedger } from '../ledger/ledger.js';
import type { Ledger } from '../ledger/types.js';
import { ProviderError, type PayoutProvider } from '../payments/providers/provider.js';
import { toIso } from '../shared/time.js';
import { CommissionError, computeCommission, type CommissionQuote, type CommissionRecord } from './commission.js';
import { runPayoutsNow, type PayoutOutcome } from './payouts.js';
import {
  analytics,
  bonuses,
  findPartner,
  findPayout,
  insertPayoutAccount,
  listCommissions,
  listPayoutAccounts,
  listPayouts,
  payoutAccount,
  payoutLines,
  replaceTiers,
  tiers,
  upsertBonus,
  upsertVatRate,
  vatRates,
  type CommissionListRow,
  type Period,
  type PayoutRow,
  type TierInput,
  type TierRow,
} from './repository.js';

export interface CommissionsServiceDeps {
  /** Stripe Connect; absent, payouts and payout accounts answer 503 PROVIDER_UNAVAILABLE. */
  payouts?: PayoutProvider | undefined;
  ledger?: Ledger | undefined;
  now?: () => Date;
}

/** Who is asking, as the routes hand it over. */
export interface Caller {
  scope: Scope;
  principal: Principal;
  policy: RequestPolicy;
}

export const COMMISSION_PAGE = { defaultLimit: 50, maxLimit: 200 } as const;

/** A commission as the routes show it: the stored record, with its shop's name and what refunds returned. */
export interface CommissionView extends Omit<CommissionRecord, 'tenantId' | 'capturedAt'> {
  partnerName: string;
  reversedCommissionMinor: number;
  reversedVatMinor: number;
  capturedAt: string;
}

export interface PayoutView {
  id: string;
  partnerId: string;
  partnerName: string | null;
  amountMinor: number;
  currency: string;
  status: 'pending' | 'paid' | 'failed';
  provider: string;
  transferRef: string | null;
  periodStart: string;
  periodEnd: string;
  failure: string | null;
  createdAt: string;
  completedAt: string | null;
}

export interface TierView {
  partnerId: string | null;
  currency: string | null;
  tier: string;
  minVolumeMinor: number;
  rateBps: number;
}

export interface TiersDocument {
  tiers: TierView[];
  bonuses: {
    key: string;
    kind: 'rating' | 'on_time';
    minValue: number;
    minCount: number;
    reductionBps: number;
    active: boolean;
  }[];
  vatRates: { region: string; rateBps: number }[];
}

export interface PutTiersInput {
  partnerId: string | null;
  tiers: TierInput[];
  bonuses?: TiersDocument['bonuses'] | undefined;
  vatRates?: TiersDocument['vatRates'] | undefined;
}

function commissionView(r: CommissionListRow): CommissionView {
  return {
    id: r.id,
    partnerId: r.partner_id,
    partnerName: r.partner_name,
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
    reversedCommissionMinor: Number(r.reversed_commission_minor),
    reversedVatMinor: Number(r.reversed_vat_minor),
    payoutId: r.payout_id,
    capturedAt: toIso(r.captured_at) ?? '',
  };
}

export function payoutView(r: PayoutRow): PayoutView {
  return {
    id: r.id,
    partnerId: r.partner_id,
    partnerName: r.partner_name ?? null,
    amountMinor: Number(r.amount_minor),
    currency: r.currency,
    status: r.status,
    provider: r.provider,
    transferRef: r.transfer_ref,
    periodStart: toIso(r.period_start) ?? '',
    periodEnd: toIso(r.period_end) ?? '',
    failure: r.failure,
    createdAt: toIso(r.created_at) ?? '',
    completedAt: toIso(r.completed_at),
  };
}

function tierView(r: TierRow): TierView {
  return {
    partnerId: r.partner_id,
    currency: r.currency,
    tier: r.tier,
    minVolumeMinor: Number(r.min_volume_minor),
    rateBps: r.rate_bps,
  };
}

const partnerNotFound = (id: string) => apiError('PARTNER_NOT_FOUND', `No partner ${id}`, { partnerId: id });

/**
 * Tiers must cover every volume: per currency (and for the currency-less rows), one band starts at
 * zero and no two start at the same volume.
 */
export function tierProblems(rows: readonly TierInput[]): string[] {
  const problems: string[] = [];
  const groups = new Map<string, number[]>();
  for (const r of rows) {
    const key = r.currency ?? '*';
    groups.set(key, [...(groups.get(key) ?? []), r.minVolumeMinor]);
  }
  for (const [currency, starts] of groups) {
    if (!starts.includes(0)) problems.push(`tiers of ${currency}: no band starts at 0`);
    if (new Set(starts).size !== starts.length)
      problems.push(`tiers of ${currency}: two bands start at the same volume`);
  }
  return problems;
}

/** Commissions, tiers, payouts and payout accounts (docs/commissions.md). */
export class CommissionsService {
  private readonly ledger: Ledger;
  private readonly now: () => Date;

  constructor(private readonly deps: CommissionsServiceDeps = {}) {
    this.ledger = deps.ledger ?? defaultLedger;
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * Where reads run: platform staff in an audited system scope (they read every partner's);
   * administrators unconfined; a partner's staff in their tenant (row-level security keeps other
   * organisations' rows out).
   */
  private reads(caller: Caller, action: string): Scope {
    return caller.scope.administration({ action, target: null, tenantId: null });
  }

  /** A partner the caller may see the commissions of, or 404 (another organisation's looks missing). */
  private async visiblePartner(scope: Scope, q: Queryable, partnerId: string) {
    const partner = await findPartner(q, partnerId);
    if (!partner || !scope.covers(partner.tenant_id)) throw partnerNotFound(partnerId);
    return partner;
  }

  async calculate(
    caller: Caller,
    input: { partnerId: string; amountMinor: number; currency?: string | undefined },
  ): Promise<CommissionQuote & { partnerId: string; amountMinor: number; currency: string }> {
    const scope = this.reads(caller, 'commission.calculate');
    return scope.run(async (q) => {
      const partner = await this.visiblePartner(scope, q, input.partnerId);
      const currency = input.currency ?? partner.currency;
      try {
        const quote = await computeCommission(q, {
          shopTenantId: partner.tenant_id,
          partnerId: partner.id,
          amountMinor: input.amountMinor,
          currency,
          at: this.now(),
        });
        return { partnerId: partner.id, amountMinor: input.amountMinor, currency, ...quote };
      } catch (err) {
        if (err instanceof CommissionError && err.code === 'PARTNER_NOT_FOUND') throw partnerNotFound(input.partnerId);
        throw err;
      }
    });
  }

  async history(
    caller: Caller,
    filter: { partnerId?: string | undefined; from?: Date | undefined; to?: Date | undefined },
    page: PageRequest,
  ): Promise<Page<CommissionView>> {
    if (filter.from && filter.to && filter.from > filter.to)
      throw apiError('TIME_RANGE_INVALID', '`from` is after `to`');
    const rows = await this.reads(caller, 'commission.history').run((q) => listCommissions(q, filter, page));
    return { items: rows.items.map(commissionView), next: rows.next };
  }

  async analytics(
    caller: Caller,
    filter: { period: Period; from?: Date | undefined; to?: Date | undefined; partnerId?: string | undefined },
  ) {
    const to = filter.to ?? this.now();
    const from = filter.from ?? new Date(to.getTime() - 90 * 86_400_000);
    if (from > to) throw apiError('TIME_RANGE_INVALID', '`from` is after `to`');
    const rows = await this.reads(caller, 'commission.analytics').run((q) =>
      analytics(q, { period: filter.period, from, to, partnerId: filter.partnerId }),
    );
    return {
      period: filter.period,
      from: from.toISOString(),
      to: to.toISOString(),
      rows: rows.map((r) => ({
        period: r.period,
        partnerId: r.partner_id,
        partnerName: r.partner_name,
        currency: r.currency,
        capturedMinor: Number(r.captured_minor),
        commissionMinor: Number(r.commission_minor),
        vatMinor: Number(r.vat_minor),
        netMinor: Number(r.net_minor),
        refundedMinor: Number(r.refunded_minor),
        reversedCommissionMinor: Number(r.reversed_commission_minor),
        reversedVatMinor: Number(r.reversed_vat_minor),
        paidOutMinor: Number(r.paid_out_minor),
      })),
    };
  }

  async getTiers(caller: Caller, partnerId: string | undefined): Promise<TiersDocument> {
    const scope = this.reads(caller, 'commission.tiers.read');
    return scope.run(async (q) => {
      if (partnerId !== undefined) await this.visiblePartner(scope, q, partnerId);
      const rows = await tiers(q, partnerId === undefined ? undefined : partnerId);
      // With a partner named: the defaults and its overrides.
      const shown = partnerId === undefined ? rows : [...(await tiers(q, null)), ...rows];
      return {
        tiers: shown.map(tierView),
        bonuses: (await bonuses(q)).map((b) => ({
          key: b.key,
          kind: b.kind,
          minValue: Number(b.min_value),
          minCount: b.min_count,
          reductionBps: b.reduction_bps,
          active: b.active,
        })),
        vatRates: (await vatRates(q)).map((v) => ({ region: v.region, rateBps: v.rate_bps })),
      };
    });
  }

  /** Replaces the defaults' or one partner's tiers (and upserts bonuses and VAT rates given): audited. */
  async putTiers(caller: Caller, input: PutTiersInput): Promise<TiersDocument> {
    const problems = tierProblems(input.tiers);
    if (input.partnerId === null && input.tiers.length === 0) problems.push('the defaults cannot be empty');
    if (problems.length > 0) throw apiError('COMMISSION_TIERS_INVALID', problems.join('; '), { problems });
    const scope = caller.scope.audited({
      action: 'commission.tiers.update',
      target: input.partnerId ?? 'defaults',
      tenantId: null,
      detail: {
        tiers: input.tiers.length,
        bonuses: input.bonuses?.map((b) => b.key) ?? [],
        vatRates: input.vatRates?.map((v) => `${v.region}:${v.rateBps}`) ?? [],
      },
    });
    await scope.run(async (q) => {
      let partner: { id: string; tenantId: string } | null = null;
      if (input.partnerId !== null) {
        const found = await findPartner(q, input.partnerId);
        if (!found) throw partnerNotFound(input.partnerId);
        partner = { id: found.id, tenantId: found.tenant_id };
      }
      await replaceTiers(q, partner, input.tiers);
      for (const b of input.bonuses ?? []) await upsertBonus(q, b);
      for (const v of input.vatRates ?? []) await upsertVatRate(q, v.region, v.rateBps);
    });
    return this.getTiers(caller, input.partnerId ?? undefined);
  }

  private provider(): PayoutProvider {
    if (!this.deps.payouts) throw apiError('PROVIDER_UNAVAILABLE', 'No payout provider (Stripe Connect) is configured');
    return this.deps.payouts;
  }

  /** A payout run now, for one partner or all (platform admin, audited; the route asks for step-up). */
  async payoutNow(
    caller: Caller,
    input: { partnerId?: string | undefined },
  ): Promise<{
    payouts: PayoutView[];
    skipped: { partnerId: string; currency: string; reason: string }[];
    errors: { partnerId: string; error: string }[];
  }> {
    const provider = this.provider();
    const scope = caller.scope.audited({
      action: 'commission.payout',
      target: input.partnerId ?? 'all',
      tenantId: null,
    });
    let named: { id: string; currency: string } | undefined;
    if (input.partnerId !== undefined) {
      const partnerId = input.partnerId;
      const found = await scope.run((q) => findPartner(q, partnerId));
      if (!found) throw partnerNotFound(partnerId);
      named = { id: found.id, currency: found.currency };
    }
    const result = await runPayoutsNow(
      { tx: (fn) => scope.run(fn), ledger: this.ledger, provider, now: this.now, actor: actorOf(caller.principal) },
      randomUUID(),
      { partnerId: input.partnerId },
    );
    const done = (o: PayoutOutcome) => o.payout !== undefined && o.status !== 'skipped';
    // The shop named has no active payout account: say so rather than answer with nothing.
    if (named && result.outcomes.length === 0 && result.errors.length === 0)
      result.outcomes.push({
        partnerId: named.id,
        currency: named.currency,
        status: 'skipped',
        reason: 'no_payout_account',
      });
    return {
      payouts: result.outcomes.filter(done).map((o) => payoutView(o.payout!)),
      skipped: result.outcomes
        .filter((o) => o.status === 'skipped')
        .map((o) => ({ partnerId: o.partnerId, currency: o.currency, reason: o.reason ?? 'skipped' })),
      errors: result.errors,
    };
  }

  async payouts(
    caller: Caller,
    filter: { partnerId?: string | undefined },
    page: PageRequest,
  ): Promise<Page<PayoutView>> {
    const rows = await this.reads(caller, 'commission.payouts').run((q) => listPayouts(q, filter, page));
    return { items: rows.items.map(payoutView), next: rows.next };
  }

  /** The payout statement PDF (the payout and the commissions and refunds it covers). */
  async statement(
    caller: Caller,
    payoutId: string,
    i18n: Translator,
    options: { compress?: boolean } = {},
  ): Promise<Buffer> {
    const scope = this.reads(caller, 'commission.payout-statement');
    const data = await scope.run(async (q) => {
      const payout = await findPayout(q, payoutId);
      if (!payout || !scope.covers(payout.tenant_id))
        throw apiError('PAYOUT_NOT_FOUND', `No payout ${payoutId}`, { payoutId });
      const partner = await findPartner(q, payout.partner_id);
      const lines = await payoutLines(q, payout.id);
      return { payout, partner: partner!, lines };
    });
    return renderPayoutStatement(
      {
        payout: payoutView(data.payout),
        shop: { name: data.partner.name, timeZone: data.partner.time_zone },
        commissions: data.lines.commissions.map(commissionView),
        reversals: data.lines.reversals.map((r) => ({
          refundRef: r.refund_ref,
          paymentId: r.payment_id,
          refundedMinor: Number(r.refunded_minor),
          commissionMinor: Number(r.commission_minor),
          vatMinor: Number(r.vat_minor),
          reversedAt: toIso(r.reversed_at) ?? '',
        })),
      },
      i18n,
      options,
    );
  }

  /** Payout accounts: a partner admin's own shops', every shop's for platform staff. */
  async payoutAccounts(caller: Caller, partnerId: string | undefined) {
    const rows = await this.reads(caller, 'commission.payout-accounts').run((q) => listPayoutAccounts(q, partnerId));
    return rows.map((r) => ({ ...accountView(r), partnerName: r.partner_name }));
  }

  /**
   * A partner admin connects its shop's payout account: a Connect account made through the provider
   * (idempotent per shop), stored `active`. The provider's onboarding link (identity checks, bank
   * details) is out of scope here (docs/commissions.md).
   */
  async connectAccount(
    caller: Caller,
    input: { partnerId: string; email?: string | undefined; country?: string | undefined },
  ): Promise<{ partnerId: string; provider: string; accountRef: string; status: string; createdAt: string }> {
    const provider = this.provider();
    const scope = this.reads(caller, 'commission.payout-account.read');
    const partner = await scope.run((q) => findPartner(q, input.partnerId));
    if (!partner || !scope.covers(partner.tenant_id)) throw partnerNotFound(input.partnerId);
    await caller.policy.require(
      'payments:write',
      { type: 'shop', id: partner.id, tenantId: partner.tenant_id, shopId: partner.id },
      () => partnerNotFound(input.partnerId),
    );
    const existing = await scope.run((q) => payoutAccount(q, partner.id));
    if (existing && existing.status !== 'disabled') return accountView(existing);
    let account: string;
    try {
      ({ account } = await provider.createConnectedAccount({
        idempotencyKey: `connect:${partner.id}`,
        email: input.email ?? partner.email ?? undefined,
        country: input.country ?? partner.country ?? 'EG',
        metadata: { partnerId: partner.id, tenantId: partner.tenant_id },
      }));
    } catch (err) {
      if (err instanceof ProviderError)
        throw apiError(
          err.code === 'PROVIDER_UNAVAILABLE' ? 'PROVIDER_UNAVAILABLE' : 'PAYOUT_ACCOUNT_REFUSED',
          err.message,
        );
      throw err;
    }
    const stored = await caller.scope
      .ownOrganisation({ action: 'commission.payout-account.connect', target: partner.id, tenantId: partner.tenant_id })
      .run((q) =>
        insertPayoutAccount(q, {
          tenantId: partner.tenant_id,
          partnerId: partner.id,
          accountRef: account,
          status: 'active',
          createdBy: actorOf(caller.principal),
        }),
      );
    return accountView(stored);
  }
}

function accountView(a: {
  partner_id: string;
  provider: string;
  account_ref: string;
  status: string;
  created_at: Date | string;
}) {
  return {
    partnerId: a.partner_id,
    provider: a.provider,
    accountRef: a.account_ref,
    status: a.status,
    createdAt: toIso(a.created_at) ?? '',
  };
}
