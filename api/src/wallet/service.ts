import { randomUUID } from 'node:crypto';
import type { Queryable } from '@clutch/db';
import type { Resource } from '@clutch/identity';
import type { Principal } from '../auth/principal.js';
import type { RequestPolicy } from '../auth/policy.js';
import type { Scope, SystemUse } from '../auth/scope.js';
import { requireRecentMfa } from '../auth/step-up.js';
import { apiError } from '../errors.js';
import { riskBlocked } from '../fraud/assess.js';
import type { RiskRequestContext } from '../fraud/request-context.js';
import type { AssessRisk, RiskAssessment } from '../fraud/types.js';
import { transferId } from '../ledger/ids.js';
import { accountsById, balanceOf, ledger, resolutionOf, transfersById } from '../ledger/ledger.js';
import type { LedgerAccount, LedgerTransfer, TransferResult } from '../ledger/types.js';
import { addMinor, limitsIn, type WalletLimits } from './limits.js';
import { WalletRepository, type WalletHolder } from './repository.js';

/** The caller of a wallet use case (the route hands it over). */
export interface WalletCaller {
  principal: Principal;
  policy: RequestPolicy;
  scope: Scope;
  administer(use: Omit<SystemUse, 'actor' | 'ip'>): Scope;
  /** What the request tells the risk check (address, its country, device). */
  request?: RiskRequestContext | undefined;
}

export interface WalletView {
  id: string;
  currency: string;
  /** Credited less debited, holds not counted. */
  postedMinor: number;
  /** What may be spent or held now: posted less held. */
  availableMinor: number;
  /** Held for bookings (pending debits). */
  heldMinor: number;
  createdAt: string;
}

export interface WalletEntry {
  transferId: string;
  seq: number;
  /** `in`: money came to the wallet; `out`: it left (or, for a hold, is reserved to leave). */
  direction: 'in' | 'out';
  amountMinor: number;
  currency: string;
  kind: LedgerTransfer['kind'];
  reason: string;
  reference: string | null;
  holdId: string | null;
  expiresAt: string | null;
  createdAt: string;
}

export interface HoldView {
  holdId: string;
  walletId: string;
  partnerId: string;
  amountMinor: number;
  currency: string;
  reference: string;
  expiresAt: string | null;
  status: 'held' | 'released';
  wallet: WalletView;
}

export interface TransferView {
  transferId: string;
  amountMinor: number;
  currency: string;
  recipientUserId: string;
  createdAt: string;
  riskDecision: RiskAssessment['decision'];
  wallet: WalletView;
}

const walletNotFound =
  (detail = 'You have no wallet in this currency; create one first') =>
  () =>
    apiError('WALLET_NOT_FOUND', detail);

function walletView(a: LedgerAccount): WalletView {
  const b = balanceOf(a);
  return {
    id: a.id,
    currency: a.currency,
    postedMinor: b.postedMinor,
    availableMinor: b.availableMinor,
    heldMinor: b.pendingDebitsMinor,
    createdAt: a.createdAt.toISOString(),
  };
}

/** The policy's view of a wallet: in BOOKING_FAMILY, so an owner's own wallet is theirs. */
export function walletResource(a: LedgerAccount): Resource {
  return { type: 'wallet', id: a.id, tenantId: a.tenantId, ownerUserId: a.ownerUserId };
}

function userOf(principal: Principal): { tenantId: string; userId: string } {
  if (principal.kind !== 'user')
    throw apiError('FORBIDDEN', 'Wallets belong to signed-in people and their organisations');
  return { tenantId: principal.tenantId, userId: principal.userId };
}

/** A ledger answer that moved nothing, as the problem the caller sees. */
function refused(result: TransferResult): never {
  switch (result.status) {
    case 'exceeds_credits':
      throw apiError('INSUFFICIENT_FUNDS', 'The wallet does not hold enough available money for this');
    case 'pending_already_posted':
    case 'pending_already_voided':
    case 'pending_expired':
      throw apiError('HOLD_ALREADY_RESOLVED', `The hold is ${result.status.replace('pending_already_', '')}`, {
        outcome: result.status,
      });
    case 'accounts_must_differ':
      throw apiError('BAD_REQUEST', 'A wallet cannot send money to itself');
    default:
      throw new Error(`ledger refused a wallet movement: ${result.status}`);
  }
}

export interface WalletServiceOptions {
  limits: WalletLimits;
  assessRisk: AssessRisk;
  now?: () => Date;
}

/**
 * Wallets (docs/ledger.md, "Wallet"): stored money of a car owner or a fleet, one per currency, on
 * the ledger's `customer_wallet` accounts (which may never be overdrawn). Top-ups are payments
 * (P3, purpose `wallet_topup`); here: open, read, hold for a shop, release, and send to another
 * person's wallet within limits, with a step-up above a threshold, an audit row and an inline risk
 * check.
 */
export class WalletService {
  private readonly now: () => Date;

  constructor(private readonly options: WalletServiceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async create(caller: WalletCaller, currency: string): Promise<WalletView> {
    const user = userOf(caller.principal);
    return caller.scope.run(async (q) => {
      const repo = new WalletRepository(q);
      const wallet = await repo.open(await repo.holderOf(user), currency);
      await caller.policy.require('wallet:write', walletResource(wallet));
      return walletView(wallet);
    });
  }

  async balance(caller: WalletCaller, currency?: string): Promise<WalletView[]> {
    const user = userOf(caller.principal);
    return caller.scope.run(async (q) => {
      const repo = new WalletRepository(q);
      const wallets = await repo.wallets(await repo.holderOf(user), currency);
      for (const w of wallets) await caller.policy.require('wallet:read', walletResource(w), walletNotFound());
      if (currency !== undefined && wallets.length === 0) throw walletNotFound()();
      return wallets.map(walletView);
    });
  }

  async history(
    caller: WalletCaller,
    input: { currency: string; limit: number; cursor?: number | undefined },
  ): Promise<{ items: WalletEntry[]; next: string | null }> {
    const user = userOf(caller.principal);
    return caller.scope.run(async (q) => {
      const wallet = await this.own(caller, q, user, input.currency, 'wallet:read');
      const page = await ledger.history(q, wallet.id, { limit: input.limit, before: input.cursor });
      return {
        items: page.transfers.map((t) => ({
          transferId: t.id,
          seq: t.seq,
          direction: t.creditAccountId === wallet.id ? ('in' as const) : ('out' as const),
          amountMinor: t.amountMinor,
          currency: t.currency,
          kind: t.kind,
          reason: t.reason,
          reference: t.reference,
          holdId: t.kind === 'pending' ? t.id : t.pendingId,
          expiresAt: t.timeoutAt?.toISOString() ?? null,
          createdAt: t.createdAt.toISOString(),
        })),
        next: page.next === null ? null : String(page.next),
      };
    });
  }

  /** Reserves money of the caller's wallet for a shop (a booking's, or one named): a ledger hold. */
  async hold(
    caller: WalletCaller,
    input: {
      amountMinor: number;
      currency: string;
      bookingId?: string | undefined;
      partnerId?: string | undefined;
      reference?: string | undefined;
      expiresInSeconds: number;
    },
  ): Promise<HoldView> {
    const user = userOf(caller.principal);
    const outcome = await caller.scope.run(async (q) => {
      const repo = new WalletRepository(q);
      const wallet = await this.own(caller, q, user, input.currency, 'wallet:write');
      const shop = input.bookingId ? await repo.shopOfBooking(input.bookingId) : await repo.shop(input.partnerId!);
      if (!shop)
        throw input.bookingId
          ? apiError('BOOKING_NOT_FOUND', `Booking ${input.bookingId} not found`)
          : apiError('PARTNER_NOT_FOUND', `Shop ${input.partnerId} not found`);
      const risk = await this.options.assessRisk(q, {
        kind: 'payment',
        tenantId: user.tenantId,
        userId: user.userId,
        amountMinor: input.amountMinor,
        currency: input.currency,
        ...caller.request,
        at: this.now(),
      });
      if (risk.decision === 'block') return { blocked: risk };
      const payable = await ledger.ensureAccount(q, {
        tenantId: shop.tenantId,
        ownerUserId: null,
        partnerId: shop.partnerId,
        qualifier: null,
        code: 'shop_payable',
        currency: input.currency,
      });
      const reference = input.bookingId ? `booking:${input.bookingId}` : (input.reference ?? `shop:${shop.partnerId}`);
      const [result] = await ledger.createTransfers(q, [
        {
          id: randomUUID(),
          debitAccountId: wallet.id,
          creditAccountId: payable.id,
          amountMinor: input.amountMinor,
          currency: input.currency,
          reason: 'wallet_hold',
          pending: { timeoutSeconds: input.expiresInSeconds },
          reference,
          metadata: { riskAssessmentId: risk.id },
        },
      ]);
      if (result!.status !== 'created') refused(result!);
      const [after] = await ledger.balances(q, [wallet.id]);
      const t = result.transfer;
      return {
        hold: {
          holdId: t.id,
          walletId: wallet.id,
          partnerId: shop.partnerId,
          amountMinor: t.amountMinor,
          currency: t.currency,
          reference,
          expiresAt: t.timeoutAt?.toISOString() ?? null,
          status: 'held' as const,
          wallet: { ...walletView(wallet), ...viewOfBalance(after!) },
        },
      };
    });
    if (outcome.blocked) throw riskBlocked(outcome.blocked);
    return outcome.hold!;
  }

  /** Voids a hold of the caller's wallet: the money is available again. Releasing twice is harmless. */
  async release(caller: WalletCaller, holdId: string): Promise<HoldView> {
    const user = userOf(caller.principal);
    return caller.scope.run(async (q) => {
      const notFound = walletNotFound(`Hold ${holdId} not found`);
      const [hold] = await transfersById(q, [holdId]);
      if (!hold || hold.kind !== 'pending') throw notFound();
      const repo = new WalletRepository(q);
      const holder = await repo.holderOf(user);
      const [wallet] = (await repo.wallets(holder, hold.currency)).filter((w) => w.id === hold.debitAccountId);
      if (!wallet) throw notFound();
      await caller.policy.require('wallet:write', walletResource(wallet), notFound);
      const releaseId = transferId(`wallet-release:${holdId}`);
      const [result] = await ledger.resolvePending(q, [
        { id: releaseId, pendingId: holdId, action: 'void', reason: 'wallet_release' },
      ]);
      if (result!.status !== 'created' && result!.status !== 'exists') {
        // Released by us before (a retry) is done; captured or expired is not ours to undo.
        const resolution = await resolutionOf(q, holdId);
        if (resolution?.id !== releaseId) refused(result!);
      }
      const [after] = await ledger.balances(q, [wallet.id]);
      const [payable] = await accountsById(q, [hold.creditAccountId]);
      return {
        holdId,
        walletId: wallet.id,
        partnerId: payable?.partnerId ?? '',
        amountMinor: hold.amountMinor,
        currency: hold.currency,
        reference: hold.reference ?? '',
        expiresAt: hold.timeoutAt?.toISOString() ?? null,
        status: 'released' as const,
        wallet: { ...walletView(wallet), ...viewOfBalance(after!) },
      };
    });
  }

  /**
   * Sends money to another person's wallet of the same currency (opened for them if they have
   * none): within the per-transfer and daily limits, with a recent second factor above the
   * step-up threshold, past the risk check, and recorded in the audit log with the money.
   */
  async transfer(
    caller: WalletCaller,
    input: {
      amountMinor: number;
      currency: string;
      toUserId?: string | undefined;
      toEmail?: string | undefined;
      note?: string | undefined;
    },
  ): Promise<TransferView> {
    const user = userOf(caller.principal);
    const limits = limitsIn(this.options.limits, input.currency);
    if (input.amountMinor > limits.perTransferMinor)
      throw apiError(
        'TRANSFER_LIMIT_EXCEEDED',
        `One transfer may move at most ${limits.perTransferMinor} minor units`,
        {
          limit: 'per_transfer',
          limitMinor: limits.perTransferMinor,
        },
      );
    // Read and judge as the caller first: their own wallet, their permission.
    const wallet = await caller.scope.run((q) => this.own(caller, q, user, input.currency, 'wallet:write'));
    if (input.amountMinor > limits.stepUpAboveMinor) requireRecentMfa(caller.principal);
    const at = this.now();
    const id = randomUUID();
    // The move runs as the platform (the recipient's wallet is another holder's) in an audited scope.
    const scope = caller.administer({
      action: 'wallet.transfer',
      tenantId: user.tenantId,
      target: wallet.id,
      detail: { amountMinor: input.amountMinor, currency: input.currency, transferId: id },
    });
    const outcome = await scope.run(async (q) => {
      const repo = new WalletRepository(q);
      const recipient = await repo.recipient({ userId: input.toUserId, email: input.toEmail });
      if (!recipient) throw apiError('USER_NOT_FOUND', 'No active user with that id or e-mail');
      await repo.lockWallet(wallet.id);
      const sent = await repo.sentSince(wallet.id, new Date(at.getTime() - 24 * 3600 * 1000));
      if (sent.count + 1 > limits.dailyCount)
        throw apiError('TRANSFER_LIMIT_EXCEEDED', `At most ${limits.dailyCount} transfers in 24 hours`, {
          limit: 'daily_count',
          limitCount: limits.dailyCount,
        });
      if (addMinor(sent.sumMinor, input.amountMinor, input.currency) > BigInt(limits.dailySumMinor))
        throw apiError('TRANSFER_LIMIT_EXCEEDED', `At most ${limits.dailySumMinor} minor units in 24 hours`, {
          limit: 'daily_sum',
          limitMinor: limits.dailySumMinor,
          sentMinor: sent.sumMinor,
        });
      const risk = await this.options.assessRisk(q, {
        kind: 'wallet_transfer',
        tenantId: user.tenantId,
        userId: user.userId,
        amountMinor: input.amountMinor,
        currency: input.currency,
        reference: `wallet-transfer:${id}`,
        ...caller.request,
        at,
      });
      if (risk.decision === 'block') return { blocked: risk };
      const to = await repo.open(recipient.holder, input.currency);
      const [result] = await ledger.createTransfers(q, [
        {
          id,
          debitAccountId: wallet.id,
          creditAccountId: to.id,
          amountMinor: input.amountMinor,
          currency: input.currency,
          reason: 'wallet_transfer',
          reference: `wallet-transfer:${id}`,
          metadata: { riskAssessmentId: risk.id },
        },
      ]);
      if (result!.status !== 'created') refused(result!);
      await repo.recordTransfer({
        id,
        tenantId: user.tenantId,
        senderUserId: user.userId,
        fromAccountId: wallet.id,
        toAccountId: to.id,
        recipientTenantId: recipient.holder.tenantId,
        recipientUserId: recipient.userId,
        amountMinor: input.amountMinor,
        currency: input.currency,
        note: input.note ?? null,
        riskAssessmentId: risk.id,
        at,
      });
      const [after] = await ledger.balances(q, [wallet.id]);
      return {
        view: {
          transferId: id,
          amountMinor: input.amountMinor,
          currency: input.currency,
          recipientUserId: recipient.userId,
          createdAt: at.toISOString(),
          riskDecision: risk.decision,
          wallet: { ...walletView(wallet), ...viewOfBalance(after!) },
        },
      };
    });
    if (outcome.blocked) throw riskBlocked(outcome.blocked);
    return outcome.view!;
  }

  /** The caller's wallet of a currency, which they may act on. */
  private async own(
    caller: WalletCaller,
    q: Queryable,
    user: { tenantId: string; userId: string },
    currency: string,
    permission: 'wallet:read' | 'wallet:write',
  ): Promise<LedgerAccount> {
    const repo = new WalletRepository(q);
    const holder: WalletHolder = await repo.holderOf(user);
    const [wallet] = await repo.wallets(holder, currency);
    if (!wallet) throw walletNotFound()();
    await caller.policy.require(permission, walletResource(wallet), walletNotFound());
    return wallet;
  }
}

function viewOfBalance(
  b: ReturnType<typeof balanceOf>,
): Pick<WalletView, 'postedMinor' | 'availableMinor' | 'heldMinor'> {
  return { postedMinor: b.postedMinor, availableMinor: b.availableMinor, heldMinor: b.pendingDebitsMinor };
}
