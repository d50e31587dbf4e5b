import type { Queryable } from '@clutch/db';
import { recordCommission, reverseCommission } from '../commissions/commission.js';
import { transferId } from '../ledger/ids.js';
import { ledger as defaultLedger } from '../ledger/ledger.js';
import type { AccountRef, Ledger, TransferResult } from '../ledger/types.js';
import type { PaymentRow } from './repository.js';
import { isCaptured } from './states.js';

/**
 * The ledger movements of a payment's change (MONEY.md, "the money flows"), derived from the row
 * before and after one compare-and-set, in the same transaction. The compare-and-set lets exactly
 * one transaction make each change, and every transfer id is derived from what happened
 * (`transferId('capture:' + paymentId + ':' + seq)`), so a replay (a retried job, a second webhook)
 * finds the transfer there (`exists`) and moves nothing.
 *
 * Installments and late fees move no money here: their ledger entries are the installments
 * domain's (provider_clearing -> installment_receivable, booked when it sees `captured`).
 */
export interface MoneyDeps {
  ledger: Ledger;
  /** False: capture records no commission (tests of the payments alone). Default true. */
  commission?: boolean | undefined;
}

export const DEFAULT_MONEY: MoneyDeps = { ledger: defaultLedger };

/** Stripe lets a card authorisation lapse after 7 days; a hold without a stated expiry uses that. */
const DEFAULT_HOLD_SECONDS = 7 * 24 * 3600;

export class LedgerRefused extends Error {
  constructor(
    readonly result: TransferResult,
    what: string,
  ) {
    super(`the ledger refused ${what}: ${result.status}`);
    this.name = 'LedgerRefused';
  }
}

function ok(result: TransferResult | undefined, what: string): void {
  if (!result) throw new Error(`the ledger gave no answer for ${what}`);
  if (result.status !== 'created' && result.status !== 'exists') throw new LedgerRefused(result, what);
}

const movesMoney = (p: PaymentRow): boolean => p.purpose !== 'installment' && p.purpose !== 'late_fee';

/** Where the money comes from: the provider's balance, the shop's till, or the customer's wallet. */
export function sourceAccount(p: PaymentRow): AccountRef {
  const base = { currency: p.currency, ownerUserId: null, partnerId: null, qualifier: null };
  if (p.provider === 'cash') return { ...base, code: 'shop_cash', tenantId: p.tenantId, partnerId: p.partnerId };
  if (p.provider === 'wallet')
    return { ...base, code: 'customer_wallet', tenantId: p.customerTenantId, ownerUserId: p.customerUserId };
  return { ...base, code: 'provider_clearing', tenantId: 'platform', qualifier: p.provider };
}

/** Where it goes: the customer's wallet for a top-up, else what the platform owes the shop. */
export function destinationAccount(p: PaymentRow): AccountRef {
  const base = { currency: p.currency, ownerUserId: null, partnerId: null, qualifier: null };
  if (p.purpose === 'wallet_topup')
    return { ...base, code: 'customer_wallet', tenantId: p.customerTenantId, ownerUserId: p.customerUserId };
  return { ...base, code: 'shop_payable', tenantId: p.tenantId, partnerId: p.partnerId };
}

/**
 * A Connect destination charge (migration 045): Stripe moves the shop's share to its connected
 * account at capture and keeps the application fee for the platform.
 */
export const isDestinationCharge = (p: PaymentRow): boolean =>
  p.provider === 'stripe' && p.connectAccount !== null && movesMoney(p) && p.purpose !== 'wallet_topup';

/** The hold's transfer id (renewals count up: a renewed hold is a new pending transfer). */
export const holdTransferId = (paymentId: string, renewal = 0): string =>
  transferId(`hold:${paymentId}${renewal > 0 ? `:${renewal}` : ''}`);

/** Whether the change from `before` to `after` opens a hold (an authorised card, a wallet hold). */
export function opensHold(before: PaymentRow, after: Pick<PaymentRow, 'status'>): boolean {
  return (
    movesMoney(before) &&
    before.provider !== 'cash' &&
    before.captureMethod === 'manual' &&
    after.status === 'authorized' &&
    before.status !== 'authorized' &&
    before.holdTransferId === null
  );
}

/**
 * Applies the ledger side of one change. `after` is the row the compare-and-set wrote. Returns the
 * commission recorded at a capture (to store on the row), if any.
 */
export async function moveMoney(
  q: Queryable,
  before: PaymentRow,
  after: PaymentRow,
  deps: MoneyDeps = DEFAULT_MONEY,
  now: Date = new Date(),
): Promise<{ commissionMinor?: number }> {
  if (!movesMoney(after)) return {};
  const { ledger } = deps;
  const reference = `payment:${after.id}`;
  const out: { commissionMinor?: number } = {};

  if (
    after.holdTransferId !== null &&
    before.holdTransferId !== after.holdTransferId &&
    after.status === 'authorized'
  ) {
    const [source, destination] = await Promise.all([
      ledger.ensureAccount(q, sourceAccount(after)),
      ledger.ensureAccount(q, destinationAccount(after)),
    ]);
    const expiry = after.authorizationExpiresAt;
    const timeoutSeconds = expiry
      ? Math.max(60, Math.floor((expiry.getTime() - now.getTime()) / 1000))
      : DEFAULT_HOLD_SECONDS;
    const [result] = await ledger.createTransfers(q, [
      {
        id: after.holdTransferId,
        debitAccountId: source.id,
        creditAccountId: destination.id,
        amountMinor: after.amountMinor,
        currency: after.currency,
        reason: after.purpose === 'booking' ? 'booking_hold' : 'payment_hold',
        pending: { timeoutSeconds },
        reference,
      },
    ]);
    ok(result, `the hold of payment ${after.id}`);
  }

  if (isCaptured(after.status) && before.capturedMinor === 0 && after.capturedMinor > 0) {
    const seq = after.captureSeq;
    const id = transferId(`capture:${after.id}:${seq}`);
    if (after.holdTransferId !== null) {
      const [result] = await ledger.resolvePending(q, [
        { id, pendingId: after.holdTransferId, action: 'post', amountMinor: after.capturedMinor, reason: 'capture' },
      ]);
      ok(result, `the capture of payment ${after.id}`);
    } else {
      const [source, destination] = await Promise.all([
        ledger.ensureAccount(q, sourceAccount(after)),
        ledger.ensureAccount(q, destinationAccount(after)),
      ]);
      const [result] = await ledger.createTransfers(q, [
        {
          id,
          debitAccountId: source.id,
          creditAccountId: destination.id,
          amountMinor: after.capturedMinor,
          currency: after.currency,
          reason: after.purpose === 'wallet_topup' ? 'wallet_topup' : 'capture',
          reference,
        },
      ]);
      ok(result, `the capture of payment ${after.id}`);
    }
    const fee = isDestinationCharge(after) ? (after.applicationFeeMinor ?? 0) : undefined;
    if (deps.commission !== false && after.partnerId !== null && after.purpose !== 'wallet_topup') {
      const record = await recordCommission(q, {
        paymentId: after.id,
        captureRef: `${after.id}:${seq}`,
        shopTenantId: after.tenantId,
        partnerId: after.partnerId,
        amountMinor: after.capturedMinor,
        currency: after.currency,
        at: now,
        // A destination charge's fee was fixed before the capture: the books keep what Stripe did.
        applicationFeeMinor: after.applicationFeeMinor ?? undefined,
      });
      // What the shop pays the platform on this capture: the commission and the VAT on it.
      out.commissionMinor = record.commissionMinor + record.vatMinor;
    }
    if (fee !== undefined) {
      // Stripe passed the rest to the shop's connected account at the capture: the shop's share
      // leaves shop_payable now (the weekly run finds nothing of it to pay). A capture made without
      // our fee (fee 0) passed everything on: the commission then stays owed in shop_payable.
      const [shop, clearing] = await Promise.all([
        ledger.ensureAccount(q, destinationAccount(after)),
        ledger.ensureAccount(q, sourceAccount(after)),
      ]);
      const passedOn = Math.max(0, after.capturedMinor - fee);
      if (passedOn > 0) {
        const connectId = transferId(`connect:${after.id}:${seq}`);
        const [result] = await ledger.createTransfers(q, [
          {
            id: connectId,
            debitAccountId: shop.id,
            creditAccountId: clearing.id,
            amountMinor: passedOn,
            currency: after.currency,
            reason: 'connect_transfer',
            reference,
            metadata: { connectAccount: after.connectAccount!, applicationFeeMinor: String(fee) },
          },
        ]);
        ok(result, `the Connect transfer of payment ${after.id}`);
        // The shop's payout for this capture (its payouts page and statement show it), once.
        await q.query('SELECT payout_record_connect($1, $2, $3, $4, $5, $6)', [
          after.id,
          seq,
          passedOn,
          connectId,
          now,
          'system:connect',
        ]);
      }
    }
  }

  if (after.status === 'cancelled' && before.status !== 'cancelled' && after.holdTransferId !== null) {
    const [result] = await ledger.resolvePending(q, [
      {
        id: transferId(`void:${after.holdTransferId}`),
        pendingId: after.holdTransferId,
        action: 'void',
        reason: 'cancel',
      },
    ]);
    // A hold the ledger already let expire returns nothing more.
    if (result?.status !== 'pending_expired') ok(result, `the release of payment ${after.id}`);
  }

  const refunded = after.refundedMinor - before.refundedMinor;
  if (refunded > 0) {
    const [source, destination] = await Promise.all([
      ledger.ensureAccount(q, sourceAccount(after)),
      ledger.ensureAccount(q, destinationAccount(after)),
    ]);
    // Named by the refunded total it reaches: each total is reached once per payment.
    const refundRef = `${after.id}:${after.refundedMinor}`;
    const [result] = await ledger.createTransfers(q, [
      {
        id: transferId(`refund:${refundRef}`),
        debitAccountId: destination.id,
        creditAccountId: source.id,
        amountMinor: refunded,
        currency: after.currency,
        reason: 'refund',
        reference,
      },
    ]);
    ok(result, `the refund of payment ${after.id}`);
    const reversal =
      deps.commission !== false && after.partnerId !== null && after.purpose !== 'wallet_topup'
        ? await reverseCommission(q, { paymentId: after.id, refundRef, refundedMinor: refunded, at: now })
        : null;
    if (isDestinationCharge(after) && after.capturedMinor > 0) {
      // Our refunds of a destination charge ask Stripe to reverse the transfer and refund the fee
      // in proportion (service.ts): the shop's share of this refund comes back from its connected
      // account, so what it owes us (shop_payable) is not charged for money Stripe already took.
      const fee = after.applicationFeeMinor ?? 0;
      // The fee was the commission and its VAT: what the commission reversal gave back is the fee
      // returned. Otherwise (a capture without our fee) Stripe returns its share of the fee it kept.
      const feeBack =
        reversal !== null && fee > 0 && fee === after.commissionMinor
          ? reversal.commissionMinor + reversal.vatMinor
          : feeShare(fee, after.refundedMinor, after.capturedMinor) -
            feeShare(fee, before.refundedMinor, after.capturedMinor);
      const back = refunded - feeBack;
      if (back > 0) {
        const [r] = await ledger.createTransfers(q, [
          {
            id: transferId(`connect-reversal:${refundRef}`),
            debitAccountId: source.id,
            creditAccountId: destination.id,
            amountMinor: back,
            currency: after.currency,
            reason: 'connect_reversal',
            reference,
            metadata: { connectAccount: after.connectAccount!, feeRefundedMinor: String(feeBack) },
          },
        ]);
        ok(r, `the Connect transfer reversal of payment ${after.id}`);
      }
    }
  }
  return out;
}

/**
 * A part of `total` in proportion to `refunded` of `captured`, rounded down, all of it once all is
 * refunded: how Stripe returns an application fee (emulators/src/stripe/state.ts does the same).
 */
function feeShare(total: number, refunded: number, captured: number): number {
  if (refunded >= captured) return total;
  return Number((BigInt(total) * BigInt(Math.max(0, refunded))) / BigInt(captured));
}
