import type { Queryable } from '@clutch/db';

/**
 * The platform's double-entry ledger (docs/payments.md draws the accounts and the money flows).
 * Modelled on TigerBeetle's: accounts with posted and pending debits and credits, transfers that are
 * immutable once written, pending transfers (holds) that resolve at most once (post, void or expire),
 * and balance limits on the account itself, checked in the same statement that moves the money.
 * Every transfer is a pair of postings (debit one account, credit another, same amount and currency),
 * so the postings of a currency always sum to zero. Transfers are hash-chained (each carries the hash
 * of the one before) and `verifyLedger` recomputes the chain.
 *
 * Every function takes the caller's transaction (`Queryable`), tenant-confined or system, so a money
 * movement commits or rolls back with the business change that caused it (one transaction per use
 * case). The caller decides who may move money (the policy function); the ledger decides whether the
 * movement is possible.
 */

/** What an account is for; docs/payments.md, "Accounts". One per holder, code and currency. */
export type AccountCode =
  /** A customer's (owner's or fleet's) stored money. Liability; may not go below zero. */
  | 'customer_wallet'
  /** What the platform owes a shop: captures less commission, less refunds, less payouts. Liability. */
  | 'shop_payable'
  /** Money held for us at a provider (Stripe balance, PayPal): the platform's asset. One per provider. */
  | 'provider_clearing'
  /** Cash a shop took at the counter on our books (pay-at-shop), so its commission can be charged. */
  | 'shop_cash'
  /** Commission and fees: the platform's revenue. The hot account every capture credits. */
  | 'platform_revenue'
  /** VAT collected on commissions, per region, until it is paid to the tax authority. */
  | 'tax_payable'
  /** Installment plans: what a customer still owes, and the late fees charged on it. */
  | 'installment_receivable'
  /** Money on its way to a partner's bank (Connect transfer made, payout not yet paid). */
  | 'payouts_in_transit'
  /** Receivables written off (a defaulted installment plan given up): the platform's expense (migration 045). */
  | 'bad_debt';

export interface AccountRef {
  /** The holder's tenant (`platform` for the platform's own accounts). Row-level security uses it. */
  tenantId: string;
  /** A wallet's person; null for organisation and platform accounts. */
  ownerUserId: string | null;
  /** A shop's location (`partners.id`) for shop accounts; null otherwise. */
  partnerId: string | null;
  /** `stripe` | `paypal` | `cash` for provider_clearing; a region (`EG`, `SA`, `AE`) for tax_payable; else null. */
  qualifier: string | null;
  code: AccountCode;
  currency: string;
}

export interface LedgerAccount extends AccountRef {
  id: string;
  /** Debits (posted + pending) may not exceed posted credits: a wallet or payable never goes negative. */
  debitsMustNotExceedCredits: boolean;
  /** The mirror image, for asset accounts that must not go negative. */
  creditsMustNotExceedDebits: boolean;
  debitsPendingMinor: number;
  debitsPostedMinor: number;
  creditsPendingMinor: number;
  creditsPostedMinor: number;
  createdAt: Date;
}

export interface TransferInput {
  /**
   * A uuid the caller chooses, derived from the business operation (e.g. uuidv5 of `capture:<payment>`):
   * the ledger's idempotency key. The same id again with the same fields answers `exists`; with
   * different fields `exists_with_different_fields`. Nothing moves twice.
   */
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  /** Integer minor units, > 0. */
  amountMinor: number;
  currency: string;
  /** Why the money moved: `booking_hold`, `capture`, `commission`, `vat`, `refund`, `payout`, `wallet_transfer`, ... */
  reason: string;
  /** A hold: reserves the amount on both accounts until posted, voided or expired. */
  pending?: { timeoutSeconds: number } | undefined;
  /** The business record it belongs to (`payment:<id>`, `booking:<id>`), for history and reconciliation. */
  reference?: string | undefined;
  metadata?: Record<string, string> | undefined;
}

export interface ResolvePendingInput {
  /** The resolving transfer's own id (idempotency key, as above). */
  id: string;
  pendingId: string;
  action: 'post' | 'void';
  /** `post` only: at most the held amount (a partial capture); the rest returns. Absent: all of it. */
  amountMinor?: number | undefined;
  reason?: string | undefined;
}

/** One answer per input, in input order. Only `created` moved money. */
export type TransferResult =
  | { id: string; status: 'created'; transfer: LedgerTransfer }
  | { id: string; status: 'exists'; transfer: LedgerTransfer }
  | {
      id: string;
      status:
        | 'exists_with_different_fields'
        | 'exceeds_credits'
        | 'exceeds_debits'
        | 'accounts_must_differ'
        | 'currency_mismatch'
        | 'account_not_found'
        | 'pending_not_found'
        | 'pending_already_posted'
        | 'pending_already_voided'
        | 'pending_expired'
        | 'amount_exceeds_pending'
        | 'invalid_amount';
    };

export interface LedgerTransfer {
  id: string;
  /** Position in the ledger's hash chain (gapless, from 1). */
  seq: number;
  debitAccountId: string;
  creditAccountId: string;
  amountMinor: number;
  currency: string;
  reason: string;
  kind: 'posted' | 'pending' | 'post_pending' | 'void_pending' | 'expire_pending';
  pendingId: string | null;
  /** For `pending`: when it expires if nobody resolves it. */
  timeoutAt: Date | null;
  reference: string | null;
  metadata: Record<string, string>;
  createdAt: Date;
  /** Hex sha-256 of the previous transfer's hash and this transfer's fields. */
  hash: string;
}

export interface Balance {
  accountId: string;
  currency: string;
  /** credits_posted - debits_posted (liability view: a wallet's money). */
  postedMinor: number;
  /** What may still be spent: posted less pending debits. */
  availableMinor: number;
  pendingDebitsMinor: number;
  pendingCreditsMinor: number;
}

/** What api/src/ledger/ledger.ts exports (the ledger helper owns the implementation). */
export interface Ledger {
  /** Finds or opens the account; limits are set by its code (docs/payments.md). */
  ensureAccount(q: Queryable, ref: AccountRef): Promise<LedgerAccount>;
  createTransfers(q: Queryable, transfers: readonly TransferInput[]): Promise<TransferResult[]>;
  resolvePending(q: Queryable, inputs: readonly ResolvePendingInput[]): Promise<TransferResult[]>;
  /** Voids every pending transfer whose timeout passed (the job queue's sweeper); returns how many. */
  expirePending(q: Queryable, now?: Date): Promise<number>;
  balances(q: Queryable, accountIds: readonly string[]): Promise<Balance[]>;
  /** Transfers touching an account, newest first, cursor-paged. */
  history(
    q: Queryable,
    accountId: string,
    page: { limit: number; before?: number | undefined },
  ): Promise<{ transfers: LedgerTransfer[]; next: number | null }>;
  /** Recomputes the hash chain and the account totals from the transfers; reports the first break. */
  verify(q: Queryable): Promise<{ ok: boolean; transfers: number; problems: string[] }>;
}
