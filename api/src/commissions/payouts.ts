import type { Queryable } from '@clutch/db';
import { localParts, zonedInstant } from '../bookings/zoned-time.js';
import { transferId } from '../ledger/ids.js';
import type { AccountRef, Ledger } from '../ledger/types.js';
import { ProviderError, type PayoutProvider } from '../payments/providers/provider.js';
import {
  findPayoutByRunKey,
  insertPayout,
  lastPaidPayoutEnd,
  markPayoutFailed,
  markPayoutPaid,
  payablePartners,
  pendingPayout,
  type PayoutRow,
} from './repository.js';

/**
 * Payouts to partners (docs/commissions.md, "Payouts"): a partner's positive shop_payable balance
 * goes to its connected account by a Connect transfer, in three steps, each safe to repeat:
 *
 *   1. a transaction writes the `payouts` row (`pending`, the amount fixed);
 *   2. the provider's transfer, with the payout id as its idempotency key;
 *   3. a transaction moves shop_payable -> provider_clearing(stripe) (transfer id from the payout id)
 *      and marks the row `paid`.
 *
 * A run that dies between the steps is repeated by the job queue: it finds the pending row (step 1
 * is not repeated; at most one pending payout per partner and currency), the provider answers the
 * first transfer again for the same key (not a second one), and the ledger answers `exists`.
 * A zero or negative balance (a shop that took cash and owes us the commission) pays nothing and
 * carries over to the next run.
 */

/** Runs `fn` in one system transaction (the job's database, or an audited scope's `run`). */
export type RunTransaction = <T>(fn: (q: Queryable) => Promise<T>) => Promise<T>;

export interface PayoutDeps {
  tx: RunTransaction;
  ledger: Ledger;
  provider: PayoutProvider;
  now: () => Date;
  /** Who runs it (`system:payouts` for the weekly job, `user:<id>` for the route). */
  actor: string;
}

export interface PayoutOutcome {
  partnerId: string;
  currency: string;
  status: 'paid' | 'failed' | 'skipped';
  /** Why nothing was paid: `balance_not_positive`, `already_paid` (this run's key was used). */
  reason?: string;
  payout?: PayoutRow;
}

export function shopPayableRef(tenantId: string, partnerId: string, currency: string): AccountRef {
  return { tenantId, ownerUserId: null, partnerId, qualifier: null, code: 'shop_payable', currency };
}

export function clearingRef(currency: string): AccountRef {
  return {
    tenantId: 'platform',
    ownerUserId: null,
    partnerId: null,
    qualifier: 'stripe',
    code: 'provider_clearing',
    currency,
  };
}

function addDays(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Monday of the week `at` falls in, in the shop's time zone (YYYY-MM-DD), and that Monday's midnight. */
export function localWeekStart(at: Date, timeZone: string): { day: string; instant: Date } {
  const local = localParts(at.getTime(), timeZone);
  const day = addDays(local.day, 1 - local.weekday);
  return { day, instant: new Date(zonedInstant(day, 0, timeZone)) };
}

/** Steps 2 and 3 for a pending payout (also the resumption of one a crash left behind). */
async function complete(deps: PayoutDeps, payout: PayoutRow): Promise<PayoutOutcome> {
  const base = { partnerId: payout.partner_id, currency: payout.currency };
  let transferRef: string;
  try {
    const done = await deps.provider.transfer({
      idempotencyKey: `payout:${payout.id}`,
      destination: payout.account_ref,
      amount: { amountMinor: Number(payout.amount_minor), currency: payout.currency },
      metadata: { payoutId: payout.id, partnerId: payout.partner_id },
    });
    transferRef = done.transferRef;
  } catch (err) {
    // A refusal is final for this payout (the balance stays and goes with the next run); an outage
    // or a network error leaves it pending, for the retry to find.
    if (err instanceof ProviderError && (err.code === 'PROVIDER_DECLINED' || err.code === 'PROVIDER_INVALID_REQUEST')) {
      await deps.tx((q) => markPayoutFailed(q, payout.id, `${err.code}: ${err.message}`));
      return { ...base, status: 'failed', reason: err.code, payout: { ...payout, status: 'failed' } };
    }
    throw err;
  }
  const paid = await deps.tx(async (q) => {
    const shop = await deps.ledger.ensureAccount(
      q,
      shopPayableRef(payout.tenant_id, payout.partner_id, payout.currency),
    );
    const clearing = await deps.ledger.ensureAccount(q, clearingRef(payout.currency));
    const id = transferId('payout:' + payout.id);
    const [result] = await deps.ledger.createTransfers(q, [
      {
        id,
        debitAccountId: shop.id,
        creditAccountId: clearing.id,
        amountMinor: Number(payout.amount_minor),
        currency: payout.currency,
        reason: 'payout',
        reference: `payout:${payout.id}`,
        metadata: { payoutId: payout.id, transferRef },
      },
    ]);
    if (result?.status !== 'created' && result?.status !== 'exists')
      throw new Error(`ledger refused payout ${payout.id}: ${result?.status}`);
    return markPayoutPaid(q, payout.id, { transferRef, ledgerTransferId: id, at: deps.now() });
  });
  return { ...base, status: 'paid', payout: paid };
}

/**
 * Pays one partner's balance in one currency under `runKey` (one payout per key, ever): resumes a
 * pending payout first, skips when the key was used, pays nothing on a balance that is not positive.
 */
export async function payOut(
  deps: PayoutDeps,
  partner: { id: string; tenantId: string; currency: string; accountRef: string },
  runKey: string,
): Promise<PayoutOutcome> {
  const base = { partnerId: partner.id, currency: partner.currency };
  const step1 = await deps.tx(async (q): Promise<{ resume: PayoutRow } | { outcome: PayoutOutcome }> => {
    const pending = await pendingPayout(q, partner.id, partner.currency);
    if (pending) return { resume: pending };
    const used = await findPayoutByRunKey(q, runKey);
    if (used) return { outcome: { ...base, status: 'skipped', reason: 'already_paid', payout: used } };
    const account = await deps.ledger.ensureAccount(q, shopPayableRef(partner.tenantId, partner.id, partner.currency));
    const [balance] = await deps.ledger.balances(q, [account.id]);
    const amount = balance?.availableMinor ?? 0;
    if (amount <= 0) return { outcome: { ...base, status: 'skipped', reason: 'balance_not_positive' } };
    const now = deps.now();
    const periodStart = (await lastPaidPayoutEnd(q, partner.id, partner.currency)) ?? new Date(0);
    const payout = await insertPayout(q, {
      tenantId: partner.tenantId,
      partnerId: partner.id,
      runKey,
      accountRef: partner.accountRef,
      amountMinor: amount,
      currency: partner.currency,
      periodStart: periodStart > now ? now : periodStart,
      periodEnd: now,
      createdBy: deps.actor,
    });
    return { resume: payout };
  });
  if ('outcome' in step1) return step1.outcome;
  return complete(deps, step1.resume);
}

/**
 * The weekly run (the `commissions.payouts` cron, hourly): every partner with an active payout account
 * is paid once per week of its own time zone, in the first run after its local Monday 00:00
 * (run key `weekly:<partner>:<currency>:<Monday>`). One partner's failure does not stop the others.
 */
export async function runWeeklyPayouts(
  deps: PayoutDeps,
  options: { partnerId?: string | undefined } = {},
): Promise<{ outcomes: PayoutOutcome[]; errors: { partnerId: string; error: string }[] }> {
  const partners = await deps.tx((q) => payablePartners(q, options.partnerId));
  const outcomes: PayoutOutcome[] = [];
  const errors: { partnerId: string; error: string }[] = [];
  const now = deps.now();
  for (const p of partners) {
    const week = localWeekStart(now, p.time_zone);
    try {
      outcomes.push(
        await payOut(
          deps,
          { id: p.id, tenantId: p.tenant_id, currency: p.currency, accountRef: p.account_ref },
          `weekly:${p.id}:${p.currency}:${week.day}`,
        ),
      );
    } catch (err) {
      errors.push({ partnerId: p.id, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { outcomes, errors };
}

/** A payout run now (the route): every partner, or one, under a run key of its own. */
export async function runPayoutsNow(
  deps: PayoutDeps,
  runId: string,
  options: { partnerId?: string | undefined } = {},
): Promise<{ outcomes: PayoutOutcome[]; errors: { partnerId: string; error: string }[] }> {
  const partners = await deps.tx((q) => payablePartners(q, options.partnerId));
  const outcomes: PayoutOutcome[] = [];
  const errors: { partnerId: string; error: string }[] = [];
  for (const p of partners) {
    try {
      outcomes.push(
        await payOut(
          deps,
          { id: p.id, tenantId: p.tenant_id, currency: p.currency, accountRef: p.account_ref },
          `manual:${runId}:${p.id}:${p.currency}`,
        ),
      );
    } catch (err) {
      errors.push({ partnerId: p.id, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { outcomes, errors };
}
