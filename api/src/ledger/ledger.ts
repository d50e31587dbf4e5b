import type { Queryable } from '@clutch/db';
import type {
  AccountRef,
  Balance,
  Ledger,
  LedgerAccount,
  LedgerTransfer,
  ResolvePendingInput,
  TransferInput,
  TransferResult,
} from './types.js';
import { transferId } from './ids.js';
import { verifyLedger } from './verify.js';

/**
 * The ledger over the caller's transaction (types.ts is the contract, docs/ledger.md the design).
 * Every write is one call of the SQL function `ledger_apply` (migration 031): SECURITY DEFINER, so it
 * works in a tenant-confined transaction (role clutch_app) as well as a system one, and decides each
 * operation in order against the totals the ones before it left, then writes the batch with a
 * constant number of statements.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CURRENCY = /^[A-Z]{3}$/;
const CODES = new Set([
  'customer_wallet',
  'shop_payable',
  'provider_clearing',
  'shop_cash',
  'platform_revenue',
  'tax_payable',
  'installment_receivable',
  'payouts_in_transit',
  'bad_debt',
]);
/** Postgres int4 (timeout_seconds). */
const MAX_TIMEOUT_SECONDS = 2_147_483_647;

/** A malformed input (not a business outcome): a programming error of the caller, thrown. */
export class LedgerInputError extends Error {
  override name = 'LedgerInputError';
}

function requireUuid(value: string | null, what: string): void {
  if (value !== null && !UUID.test(value)) throw new LedgerInputError(`${what} is not a uuid: ${String(value)}`);
}

/** Whole minor units the ledger can add exactly (in TypeScript and in bigint SQL). */
export function isValidAmount(amount: unknown): amount is number {
  return typeof amount === 'number' && Number.isSafeInteger(amount) && amount > 0;
}

/** Throws on input no transfer could be made of; amounts are answered with `invalid_amount` instead. */
export function checkTransferInput(t: TransferInput): void {
  requireUuid(t.id, 'transfer id');
  requireUuid(t.debitAccountId, 'debit account');
  requireUuid(t.creditAccountId, 'credit account');
  if (!CURRENCY.test(t.currency)) throw new LedgerInputError(`not an ISO currency: ${t.currency}`);
  if (!t.reason) throw new LedgerInputError('a transfer needs a reason');
  const timeout = t.pending?.timeoutSeconds;
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout >= 0 && timeout <= MAX_TIMEOUT_SECONDS))
    throw new LedgerInputError(`invalid pending timeout: ${timeout}`);
  for (const [k, v] of Object.entries(t.metadata ?? {}))
    if (typeof v !== 'string') throw new LedgerInputError(`metadata ${k} is not a string`);
}

export function checkResolveInput(r: ResolvePendingInput): void {
  requireUuid(r.id, 'transfer id');
  requireUuid(r.pendingId, 'pending id');
  if (r.action !== 'post' && r.action !== 'void') throw new LedgerInputError(`unknown action: ${String(r.action)}`);
  if (r.reason !== undefined && !r.reason) throw new LedgerInputError('an empty reason');
}

/** One operation of `ledger_apply` (migration 031). */
export interface LedgerOp {
  op: 'transfer' | 'post' | 'void' | 'expire';
  id: string;
  debit?: string;
  credit?: string;
  amount?: number | null;
  currency?: string;
  reason?: string | null;
  timeout_seconds?: number | null;
  reference?: string | null;
  metadata?: Record<string, string>;
  pending_id?: string;
}

export function transferOp(t: TransferInput): LedgerOp {
  return {
    op: 'transfer',
    id: t.id,
    debit: t.debitAccountId,
    credit: t.creditAccountId,
    amount: isValidAmount(t.amountMinor) ? t.amountMinor : null,
    currency: t.currency,
    reason: t.reason,
    timeout_seconds: t.pending ? t.pending.timeoutSeconds : null,
    reference: t.reference ?? null,
    metadata: t.metadata ?? {},
  };
}

export function resolveOp(r: ResolvePendingInput): LedgerOp {
  return {
    op: r.action,
    id: r.id,
    pending_id: r.pendingId,
    // Given but not a valid amount: null with `amountGiven`, so SQL answers invalid_amount.
    amount: r.amountMinor === undefined ? null : isValidAmount(r.amountMinor) ? r.amountMinor : -1,
    reason: r.reason ?? null,
  };
}

interface ApplyRow {
  r_ord: number;
  r_status: string;
  t_id: string | null;
  t_seq: string | number | null;
  t_debit: string;
  t_credit: string;
  t_amount: string | number;
  t_currency: string;
  t_reason: string;
  t_kind: LedgerTransfer['kind'];
  t_pending_id: string | null;
  t_timeout_at: Date | string | null;
  t_reference: string | null;
  t_metadata: Record<string, string> | string;
  t_created_at: Date | string;
  t_hash: string;
}

const toDate = (v: Date | string): Date => (v instanceof Date ? v : new Date(v));

function transferOf(row: ApplyRow): LedgerTransfer {
  return {
    id: row.t_id!,
    seq: Number(row.t_seq),
    debitAccountId: row.t_debit,
    creditAccountId: row.t_credit,
    amountMinor: Number(row.t_amount),
    currency: row.t_currency,
    reason: row.t_reason,
    kind: row.t_kind,
    pendingId: row.t_pending_id,
    timeoutAt: row.t_timeout_at === null ? null : toDate(row.t_timeout_at),
    reference: row.t_reference,
    metadata: typeof row.t_metadata === 'string' ? JSON.parse(row.t_metadata) : row.t_metadata,
    createdAt: toDate(row.t_created_at),
    hash: row.t_hash,
  };
}

/**
 * Runs one batch through `ledger_apply` and answers in input order. `at` is the ledger's clock
 * (expiry decisions, created_at); the database's now() when absent.
 */
export async function applyOps(q: Queryable, ops: readonly LedgerOp[], at?: Date): Promise<TransferResult[]> {
  if (ops.length === 0) return [];
  const { rows } = await q.query<ApplyRow>(`SELECT * FROM ledger_apply($1::jsonb, coalesce($2::timestamptz, now()))`, [
    JSON.stringify(ops),
    at ?? null,
  ]);
  return rows.map((row, i) => {
    const id = ops[i]!.id;
    if (row.r_status === 'created' || row.r_status === 'exists')
      return { id, status: row.r_status, transfer: transferOf(row) };
    return { id, status: row.r_status } as TransferResult;
  });
}

interface AccountRow {
  id: string;
  tenant_id: string;
  owner_user_id: string | null;
  partner_id: string | null;
  qualifier: string | null;
  code: LedgerAccount['code'];
  currency: string;
  debits_must_not_exceed_credits: boolean;
  credits_must_not_exceed_debits: boolean;
  debits_pending: string | number;
  debits_posted: string | number;
  credits_pending: string | number;
  credits_posted: string | number;
  created_at: Date | string;
}

function accountOf(row: AccountRow): LedgerAccount {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    ownerUserId: row.owner_user_id,
    partnerId: row.partner_id,
    qualifier: row.qualifier,
    code: row.code,
    currency: row.currency,
    debitsMustNotExceedCredits: row.debits_must_not_exceed_credits,
    creditsMustNotExceedDebits: row.credits_must_not_exceed_debits,
    debitsPendingMinor: Number(row.debits_pending),
    debitsPostedMinor: Number(row.debits_posted),
    creditsPendingMinor: Number(row.credits_pending),
    creditsPostedMinor: Number(row.credits_posted),
    createdAt: toDate(row.created_at),
  };
}

async function ensureAccount(q: Queryable, ref: AccountRef): Promise<LedgerAccount> {
  if (!CODES.has(ref.code)) throw new LedgerInputError(`unknown account code: ${ref.code}`);
  if (!CURRENCY.test(ref.currency)) throw new LedgerInputError(`not an ISO currency: ${ref.currency}`);
  if (!ref.tenantId) throw new LedgerInputError('an account needs a tenant');
  requireUuid(ref.ownerUserId, 'owner user');
  requireUuid(ref.partnerId, 'partner');
  const { rows } = await q.query<AccountRow>(`SELECT * FROM ledger_ensure_account($1, $2, $3, $4, $5, $6)`, [
    ref.tenantId,
    ref.ownerUserId,
    ref.partnerId,
    ref.qualifier,
    ref.code,
    ref.currency,
  ]);
  return accountOf(rows[0]!);
}

/** Accounts by id, whoever holds them (for callers that already decided they may see them). */
export async function accountsById(q: Queryable, ids: readonly string[]): Promise<LedgerAccount[]> {
  ids.forEach((id) => requireUuid(id, 'account'));
  const { rows } = await q.query<AccountRow>(`SELECT * FROM ledger_accounts_by_id($1::uuid[])`, [ids]);
  return rows.map(accountOf);
}

const TRANSFER_COLUMNS = `id AS t_id, seq AS t_seq, debit_account_id AS t_debit, credit_account_id AS t_credit,
  amount AS t_amount, currency AS t_currency, reason AS t_reason, kind AS t_kind, pending_id AS t_pending_id,
  timeout_at AS t_timeout_at, reference AS t_reference, metadata AS t_metadata, created_at AS t_created_at,
  encode(hash, 'hex') AS t_hash`;

/** Transfers by id, newest first, whoever they concern (callers decide first who may see them). */
export async function transfersById(q: Queryable, ids: readonly string[]): Promise<LedgerTransfer[]> {
  ids.forEach((id) => requireUuid(id, 'transfer'));
  if (ids.length === 0) return [];
  const { rows } = await q.query<ApplyRow>(
    `SELECT ${TRANSFER_COLUMNS} FROM ledger_transfers_by_id($1::uuid[]) ORDER BY seq DESC`,
    [ids],
  );
  return rows.map(transferOf);
}

/** The resolution of a hold (post, void or expiry), if any. */
export async function resolutionOf(q: Queryable, pendingId: string): Promise<LedgerTransfer | null> {
  requireUuid(pendingId, 'pending id');
  const { rows } = await q.query<ApplyRow>(`SELECT ${TRANSFER_COLUMNS} FROM ledger_resolution_of($1::uuid)`, [
    pendingId,
  ]);
  return rows[0] ? transferOf(rows[0]) : null;
}

async function createTransfers(q: Queryable, transfers: readonly TransferInput[]): Promise<TransferResult[]> {
  transfers.forEach(checkTransferInput);
  return applyOps(q, transfers.map(transferOp));
}

async function resolvePending(q: Queryable, inputs: readonly ResolvePendingInput[]): Promise<TransferResult[]> {
  inputs.forEach(checkResolveInput);
  return applyOps(q, inputs.map(resolveOp));
}

/** The sweeper's batch size: one ledger_apply per batch. */
const EXPIRE_BATCH = 500;

async function expirePending(q: Queryable, now: Date = new Date()): Promise<number> {
  let expired = 0;
  for (;;) {
    const { rows } = await q.query<{ id: string }>(
      `SELECT ledger_expired_pending AS id FROM ledger_expired_pending($1, $2)`,
      [now, EXPIRE_BATCH],
    );
    if (rows.length === 0) return expired;
    // The expiry's id is derived from the hold's, so two sweepers racing expire it once.
    const results = await applyOps(
      q,
      rows.map((r) => ({ op: 'expire', id: expiryId(r.id), pending_id: r.id, amount: null, reason: 'expire_pending' })),
      now,
    );
    const created = results.filter((r) => r.status === 'created').length;
    expired += created;
    if (rows.length < EXPIRE_BATCH || created === 0) return expired;
  }
}

async function balances(q: Queryable, accountIds: readonly string[]): Promise<Balance[]> {
  const accounts = await accountsById(q, accountIds);
  const byId = new Map(accounts.map((a) => [a.id, a]));
  return accountIds.flatMap((id) => {
    const a = byId.get(id);
    return a ? [balanceOf(a)] : [];
  });
}

/** The liability view (wallets, payables): credits less debits. */
export function balanceOf(a: LedgerAccount): Balance {
  const posted = a.creditsPostedMinor - a.debitsPostedMinor;
  return {
    accountId: a.id,
    currency: a.currency,
    postedMinor: posted,
    availableMinor: posted - a.debitsPendingMinor,
    pendingDebitsMinor: a.debitsPendingMinor,
    pendingCreditsMinor: a.creditsPendingMinor,
  };
}

async function history(
  q: Queryable,
  accountId: string,
  page: { limit: number; before?: number | undefined },
): Promise<{ transfers: LedgerTransfer[]; next: number | null }> {
  requireUuid(accountId, 'account');
  const limit = Math.max(1, Math.min(200, Math.trunc(page.limit)));
  // The postings are read as the caller (row-level security: the holder's tenant, a confined owner
  // only their own); the transfers they belong to through the ledger's function.
  const { rows } = await q.query<{ transfer_id: string }>(
    `SELECT transfer_id FROM ledger_postings
      WHERE account_id = $1 AND ($2::bigint IS NULL OR seq < $2)
      ORDER BY seq DESC LIMIT $3`,
    [accountId, page.before ?? null, limit + 1],
  );
  const ids = rows.slice(0, limit).map((r) => r.transfer_id);
  const transfers = await transfersById(q, ids);
  return { transfers, next: rows.length > limit ? transfers[transfers.length - 1]!.seq : null };
}

/** The ledger (types.ts documents the contract; docs/ledger.md the design). */
export const ledger: Ledger = {
  ensureAccount,
  createTransfers,
  resolvePending,
  expirePending,
  balances,
  history,
  verify: verifyLedger,
};

const expiryId = (pendingId: string): string => transferId(`expire:${pendingId}`);
