import type { Queryable } from '@clutch/db';
import { transferId } from '../ledger/ids.js';
import { ledger } from '../ledger/ledger.js';
import type { AccountRef, TransferInput } from '../ledger/types.js';
import type { PlanRow } from './repository.js';

/**
 * The ledger moves of installment plans (MONEY.md, docs/installments.md "Ledger"), each with a
 * transfer id derived from what happened, so a retried job or request never moves money twice:
 *
 * - plan created: installment_receivable(customer) -> shop_payable(shop), the financed amount (the
 *   shop is owed at once; the customer owes us);
 * - an installment's fee/interest, when it is collected (or owed at payoff), and a late fee when it
 *   is added: installment_receivable -> platform_revenue (what the customer owes grows by our revenue);
 * - a collection: provider_clearing(provider) -> installment_receivable, the amount charged;
 * - a plan cancelled because its first charge failed: shop_payable -> installment_receivable (undone).
 */

type Plan = Pick<
  PlanRow,
  'id' | 'tenantId' | 'partnerId' | 'customerTenantId' | 'customerUserId' | 'currency' | 'provider'
>;

const receivable = (p: Plan): AccountRef => ({
  tenantId: p.customerTenantId,
  ownerUserId: p.customerUserId,
  partnerId: null,
  qualifier: null,
  code: 'installment_receivable',
  currency: p.currency,
});
const shopPayable = (p: Plan): AccountRef => ({
  tenantId: p.tenantId,
  ownerUserId: null,
  partnerId: p.partnerId,
  qualifier: null,
  code: 'shop_payable',
  currency: p.currency,
});
const revenue = (p: Plan): AccountRef => ({
  tenantId: 'platform',
  ownerUserId: null,
  partnerId: null,
  qualifier: null,
  code: 'platform_revenue',
  currency: p.currency,
});
const badDebt = (p: Plan): AccountRef => ({
  tenantId: 'platform',
  ownerUserId: null,
  partnerId: null,
  qualifier: null,
  code: 'bad_debt',
  currency: p.currency,
});
const clearing = (p: Plan): AccountRef => ({
  tenantId: 'platform',
  ownerUserId: null,
  partnerId: null,
  qualifier: p.provider,
  code: 'provider_clearing',
  currency: p.currency,
});

export class LedgerRefused extends Error {
  constructor(
    readonly status: string,
    name: string,
  ) {
    super(`the ledger refused ${name}: ${status}`);
    this.name = 'LedgerRefused';
  }
}

async function move(
  q: Queryable,
  plan: Plan,
  name: string,
  from: AccountRef,
  to: AccountRef,
  amountMinor: number,
  reason: string,
): Promise<void> {
  if (amountMinor <= 0) return;
  const [debit, credit] = [await ledger.ensureAccount(q, from), await ledger.ensureAccount(q, to)];
  const transfer: TransferInput = {
    id: transferId(name),
    debitAccountId: debit.id,
    creditAccountId: credit.id,
    amountMinor,
    currency: plan.currency,
    reason,
    reference: `installment-plan:${plan.id}`,
  };
  const [result] = await ledger.createTransfers(q, [transfer]);
  if (!result || (result.status !== 'created' && result.status !== 'exists'))
    throw new LedgerRefused(result?.status ?? 'no answer', name);
}

export const books = {
  planCreated: (q: Queryable, plan: Plan, financedMinor: number) =>
    move(
      q,
      plan,
      `installment-plan:${plan.id}:financed`,
      receivable(plan),
      shopPayable(plan),
      financedMinor,
      'installment_financed',
    ),
  planUndone: (q: Queryable, plan: Plan, financedMinor: number) =>
    move(
      q,
      plan,
      `installment-plan:${plan.id}:undone`,
      shopPayable(plan),
      receivable(plan),
      financedMinor,
      'installment_cancelled',
    ),
  feeEarned: (q: Queryable, plan: Plan, installmentId: string, feeMinor: number) =>
    move(q, plan, `installment:${installmentId}:fee`, receivable(plan), revenue(plan), feeMinor, 'installment_fee'),
  lateFee: (q: Queryable, plan: Plan, installmentId: string, feeMinor: number) =>
    move(
      q,
      plan,
      `installment:${installmentId}:late-fee`,
      receivable(plan),
      revenue(plan),
      feeMinor,
      'installment_late_fee',
    ),
  collected: (q: Queryable, plan: Plan, paymentId: string, amountMinor: number) =>
    move(
      q,
      plan,
      `installment-payment:${paymentId}`,
      clearing(plan),
      receivable(plan),
      amountMinor,
      'installment_collected',
    ),
  /** A defaulted plan given up: what is still owed on it leaves the receivable for bad debt (an expense). */
  writtenOff: (q: Queryable, plan: Plan, amountMinor: number) =>
    move(
      q,
      plan,
      `installment-plan:${plan.id}:written-off`,
      badDebt(plan),
      receivable(plan),
      amountMinor,
      'installment_written_off',
    ),
};

/**
 * What the customer still owes on one plan: its own moves on the receivable (financed, fees earned,
 * late fees, less collections and an undo), all referenced `installment-plan:<id>`. The receivable
 * is one account per customer, so the plan's share is summed from its transfers, not read as a balance.
 */
export async function planOutstanding(q: Queryable, plan: Plan): Promise<number> {
  const account = await ledger.ensureAccount(q, receivable(plan));
  const { rows } = await q.query<{ owed: string | number }>(
    `SELECT coalesce(sum(CASE WHEN debit_account_id = $1 THEN amount ELSE -amount END), 0)::text AS owed
       FROM ledger_transfers
      WHERE reference = $2 AND kind = 'posted' AND (debit_account_id = $1 OR credit_account_id = $1)`,
    [account.id, `installment-plan:${plan.id}`],
  );
  return Number(rows[0]!.owed);
}

/** The customer's installment receivable (what they still owe on plans, in the plan's currency), for tests and views. */
export async function receivableBalance(q: Queryable, plan: Plan): Promise<number> {
  const account = await ledger.ensureAccount(q, receivable(plan));
  const [balance] = await ledger.balances(q, [account.id]);
  // A debit-normal asset: what is owed = debits - credits = -(credits - debits).
  return 0 - (balance?.postedMinor ?? 0) || 0;
}
