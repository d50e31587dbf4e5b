import { randomId } from '../http.js';
import type { FormObject, FormValue } from './form.js';
import {
  TEST_CARDS,
  type Account,
  type BalanceTransaction,
  type BalanceTransactionType,
  type Charge,
  type Dispute,
  type Metadata,
  type PaymentIntent,
  type Payout,
  type Refund,
  type StripeError,
  type StripeEvent,
  type Transfer,
  type TransferReversal,
} from './objects.js';

/** An API error: HTTP status plus Stripe's `{ error: {...} }` body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: StripeError,
  ) {
    super(error.message);
  }
}

export const PLATFORM = 'platform';
const DAY_SECONDS = 86_400;

export interface RequestContext {
  requestId: string;
  idempotencyKey: string | null;
  /** `Stripe-Account`: acting on a connected account's behalf. */
  account: string | null;
}

export interface StateOptions {
  now: () => Date;
  authorizationDays: number;
  apiVersion: string;
  onEvent: (event: StripeEvent) => void;
}

/**
 * The emulator's books and the PaymentIntent state machine. Pure bookkeeping, no HTTP: every method
 * either changes state and returns the object or throws an `ApiError` without changing anything.
 */
export class StripeState {
  readonly paymentIntents = new Map<string, PaymentIntent>();
  readonly charges = new Map<string, Charge>();
  readonly refunds = new Map<string, Refund>();
  readonly accounts = new Map<string, Account>();
  readonly transfers = new Map<string, Transfer>();
  readonly payouts = new Map<string, Payout>();
  readonly disputes = new Map<string, Dispute>();
  /** Which balance a payout left: a connected account's payouts belong to (and are announced for) it. */
  private readonly payoutBalance = new Map<string, string>();
  readonly events: StripeEvent[] = [];
  /** Balance transactions per balance (`platform` or a connected account id), in creation order. */
  readonly balanceTransactions = new Map<string, BalanceTransaction[]>();

  constructor(private readonly options: StateOptions) {}

  unixNow(): number {
    return Math.floor(this.options.now().getTime() / 1000);
  }

  // ---- PaymentIntents ------------------------------------------------------------------------------

  createPaymentIntent(p: FormObject, ctx: RequestContext): PaymentIntent {
    const amount = positiveInt(p.amount, 'amount');
    const currency = currencyParam(p.currency);
    const captureMethod = str(p.capture_method) ?? 'automatic';
    if (!['automatic', 'automatic_async', 'manual'].includes(captureMethod)) {
      throw invalid(`Invalid capture_method: must be one of automatic, automatic_async, or manual`, 'capture_method');
    }
    const destination = obj(p.transfer_data)?.destination;
    if (destination !== undefined) this.account(str(destination) ?? '', 'transfer_data[destination]');
    const fee =
      p.application_fee_amount === undefined
        ? null
        : nonNegativeInt(p.application_fee_amount, 'application_fee_amount');
    if (fee !== null && destination === undefined) {
      throw invalid(
        'Can only apply an application_fee_amount when the PaymentIntent is attempting a direct payment (using an OAuth key or Stripe-Account header) or destination payment (using `transfer_data[destination]`).',
        'application_fee_amount',
      );
    }
    if (fee !== null && fee > amount)
      throw invalid('application_fee_amount cannot exceed amount', 'application_fee_amount');
    const paymentMethod = str(p.payment_method) ?? null;
    if (paymentMethod !== null) this.card(paymentMethod);
    const id = randomId('pi');
    const pi: PaymentIntent = {
      id,
      object: 'payment_intent',
      amount,
      amount_capturable: 0,
      amount_received: 0,
      application_fee_amount: fee,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: captureMethod as PaymentIntent['capture_method'],
      client_secret: `${id}_secret_${randomId('', 25)}`,
      confirmation_method: str(p.confirmation_method) === 'manual' ? 'manual' : 'automatic',
      created: this.unixNow(),
      currency,
      description: str(p.description) ?? null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: metadataParam(p.metadata),
      next_action: null,
      payment_method: paymentMethod,
      payment_method_types: ['card'],
      status: paymentMethod ? 'requires_confirmation' : 'requires_payment_method',
      transfer_data: destination !== undefined ? { destination: str(destination) as string } : null,
    };
    this.paymentIntents.set(id, pi);
    this.emit('payment_intent.created', pi, ctx);
    if (isTrue(p.confirm))
      return this.confirmPaymentIntent(id, p.off_session === undefined ? {} : { off_session: p.off_session }, ctx, pi);
    return pi;
  }

  paymentIntent(id: string): PaymentIntent {
    const pi = this.paymentIntents.get(id);
    if (!pi) throw missing('payment_intent', id);
    return pi;
  }

  updatePaymentIntent(id: string, p: FormObject): PaymentIntent {
    const pi = this.paymentIntent(id);
    if (p.metadata !== undefined) pi.metadata = { ...pi.metadata, ...metadataParam(p.metadata) };
    if (p.description !== undefined) pi.description = str(p.description) ?? null;
    if (p.amount !== undefined) {
      if (!['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(pi.status)) {
        throw unexpectedState(pi, 'update the amount of');
      }
      pi.amount = positiveInt(p.amount, 'amount');
    }
    return pi;
  }

  /**
   * Confirms with the given (or attached) payment method. A decline is stored on the PaymentIntent
   * (`last_payment_error`, back to `requires_payment_method`) and answered as a 402 card_error.
   */
  confirmPaymentIntent(id: string, p: FormObject, ctx: RequestContext, known?: PaymentIntent): PaymentIntent {
    const pi = known ?? this.paymentIntent(id);
    if (!['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(pi.status)) {
      throw unexpectedState(pi, 'confirm');
    }
    const method = str(p.payment_method) ?? pi.payment_method;
    if (!method) {
      throw invalid(
        "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with cus_xxx, specify a payment method attached to this customer along with the customer ID.",
        'payment_method',
        'payment_intent_unexpected_state',
      );
    }
    const card = this.card(method);
    pi.payment_method = method;
    pi.last_payment_error = null;
    if (card.outcome === 'authenticate' && pi.status !== 'requires_action' && isTrue(p.off_session)) {
      // Nobody is there to authenticate an off-session charge: Stripe declines it.
      return this.decline(pi, 'authentication_required', ctx, 'authentication_required');
    }
    if (card.outcome === 'authenticate' && pi.status !== 'requires_action') {
      pi.status = 'requires_action';
      pi.next_action = { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect' } };
      this.emit('payment_intent.requires_action', pi, ctx);
      return pi;
    }
    if (card.outcome === 'decline') return this.decline(pi, card.declineCode ?? 'generic_decline', ctx);
    return this.authorizeCharge(pi, ctx);
  }

  /** The test-only stand-in for the payer finishing (or failing) 3D Secure. */
  authenticate(id: string, outcome: 'succeed' | 'fail', ctx: RequestContext): PaymentIntent {
    const pi = this.paymentIntent(id);
    if (pi.status !== 'requires_action') throw unexpectedState(pi, 'authenticate');
    pi.next_action = null;
    if (outcome === 'fail') {
      try {
        this.decline(pi, 'authentication_required', ctx, 'payment_intent_authentication_failure');
      } catch {
        // the failure is recorded on the PaymentIntent, which is what the caller gets back
      }
      return pi;
    }
    return this.authorizeCharge(pi, ctx);
  }

  private decline(pi: PaymentIntent, declineCode: string, ctx: RequestContext, code = 'card_declined'): never {
    const card = this.card(pi.payment_method as string);
    const charge = this.newCharge(pi, card, 'failed');
    charge.failure_code = code;
    charge.failure_message = 'Your card was declined.';
    pi.latest_charge = charge.id;
    const error: StripeError = {
      type: 'card_error',
      code,
      decline_code: declineCode,
      message: declineCode === 'insufficient_funds' ? 'Your card has insufficient funds.' : 'Your card was declined.',
      charge: charge.id,
    };
    pi.status = 'requires_payment_method';
    pi.next_action = null;
    pi.last_payment_error = { ...error };
    this.emit('charge.failed', charge, ctx);
    this.emit('payment_intent.payment_failed', pi, ctx);
    throw new ApiError(402, { ...error, payment_intent: structuredClone(pi) });
  }

  private authorizeCharge(pi: PaymentIntent, ctx: RequestContext): PaymentIntent {
    const card = this.card(pi.payment_method as string);
    const charge = this.newCharge(pi, card, 'succeeded');
    pi.latest_charge = charge.id;
    pi.next_action = null;
    if (pi.capture_method === 'manual') {
      charge.payment_method_details.card.capture_before = this.unixNow() + this.options.authorizationDays * DAY_SECONDS;
      pi.status = 'requires_capture';
      pi.amount_capturable = pi.amount;
      this.emit('charge.succeeded', charge, ctx);
      this.emit('payment_intent.amount_capturable_updated', pi, ctx);
      return pi;
    }
    this.settleCapture(pi, charge, pi.amount, pi.application_fee_amount, ctx);
    this.emit('charge.succeeded', charge, ctx);
    this.emit('payment_intent.succeeded', pi, ctx);
    if (card.outcome === 'dispute') this.openDispute(charge, ctx);
    return pi;
  }

  private newCharge(pi: PaymentIntent, card: (typeof TEST_CARDS)[string], status: Charge['status']): Charge {
    const charge: Charge = {
      id: randomId('ch'),
      object: 'charge',
      amount: pi.amount,
      amount_captured: 0,
      amount_refunded: 0,
      application_fee_amount: pi.application_fee_amount,
      balance_transaction: null,
      captured: false,
      created: this.unixNow(),
      currency: pi.currency,
      disputed: false,
      failure_code: null,
      failure_message: null,
      livemode: false,
      metadata: { ...pi.metadata },
      outcome:
        status === 'succeeded'
          ? { type: 'authorized', network_status: 'approved_by_network', seller_message: 'Payment complete.' }
          : {
              type: 'issuer_declined',
              network_status: 'declined_by_network',
              seller_message: 'The bank did not return any further details with this decline.',
            },
      paid: status === 'succeeded',
      payment_intent: pi.id,
      payment_method: pi.payment_method as string,
      payment_method_details: {
        type: 'card',
        card: { brand: card.brand, last4: card.last4, funding: card.funding, capture_before: null },
      },
      refunded: false,
      status,
      transfer: null,
      transfer_data: pi.transfer_data ? { ...pi.transfer_data } : null,
    };
    this.charges.set(charge.id, charge);
    return charge;
  }

  /** Money lands: the platform's balance gets the charge (less Stripe's fee); a destination charge passes the rest on. */
  private settleCapture(
    pi: PaymentIntent,
    charge: Charge,
    amount: number,
    fee: number | null,
    ctx: RequestContext,
  ): void {
    charge.captured = true;
    charge.amount_captured = amount;
    charge.application_fee_amount = fee;
    pi.amount_received = amount;
    pi.amount_capturable = 0;
    pi.application_fee_amount = fee;
    pi.status = 'succeeded';
    const txn = this.book(PLATFORM, 'charge', amount, stripeFee(amount), charge.id, pi.currency, 'charge');
    charge.balance_transaction = txn.id;
    if (pi.transfer_data) {
      // As Stripe does it: the whole amount goes to the connected account, and the application fee
      // comes back from it to the platform (docs: "Collect fees" on destination charges).
      const destination = pi.transfer_data.destination;
      const transfer = this.newTransfer(destination, amount, pi.currency, {}, charge.id, null);
      charge.transfer = transfer.id;
      if (fee) {
        this.book(destination, 'application_fee', -fee, 0, charge.id, pi.currency, 'platform_earning');
        this.book(PLATFORM, 'application_fee', fee, 0, charge.id, pi.currency, 'platform_earning');
      }
      this.emit('transfer.created', transfer, ctx);
    }
  }

  capturePaymentIntent(id: string, p: FormObject, ctx: RequestContext): PaymentIntent {
    const pi = this.paymentIntent(id);
    if (pi.status !== 'requires_capture') throw unexpectedState(pi, 'capture');
    const amount =
      p.amount_to_capture === undefined ? pi.amount_capturable : positiveInt(p.amount_to_capture, 'amount_to_capture');
    if (amount > pi.amount_capturable) {
      throw invalid(
        `The amount_to_capture (${amount}) cannot be greater than the amount_capturable (${pi.amount_capturable}) of this PaymentIntent.`,
        'amount_to_capture',
        'amount_too_large',
      );
    }
    let fee = pi.application_fee_amount;
    if (p.application_fee_amount !== undefined) {
      if (!pi.transfer_data)
        throw invalid('Can only apply an application_fee_amount to a destination charge.', 'application_fee_amount');
      fee = nonNegativeInt(p.application_fee_amount, 'application_fee_amount');
    }
    if (fee !== null && fee > amount)
      throw invalid('application_fee_amount cannot exceed the captured amount', 'application_fee_amount');
    const charge = this.charge(pi.latest_charge as string);
    this.settleCapture(pi, charge, amount, fee, ctx);
    this.emit('charge.captured', charge, ctx);
    this.emit('payment_intent.succeeded', pi, ctx);
    if (this.card(pi.payment_method as string).outcome === 'dispute') this.openDispute(charge, ctx);
    return pi;
  }

  cancelPaymentIntent(id: string, p: FormObject, ctx: RequestContext): PaymentIntent {
    const pi = this.paymentIntent(id);
    if (
      !['requires_payment_method', 'requires_confirmation', 'requires_action', 'requires_capture'].includes(pi.status)
    ) {
      throw unexpectedState(pi, 'cancel');
    }
    this.cancel(pi, str(p.cancellation_reason) ?? 'requested_by_customer', ctx);
    return pi;
  }

  private cancel(pi: PaymentIntent, reason: string, ctx: RequestContext): void {
    pi.status = 'canceled';
    pi.amount_capturable = 0;
    pi.canceled_at = this.unixNow();
    pi.cancellation_reason = reason;
    pi.next_action = null;
    this.emit('payment_intent.canceled', pi, ctx);
  }

  // ---- Charges, refunds, disputes ------------------------------------------------------------------

  charge(id: string): Charge {
    const charge = this.charges.get(id);
    if (!charge) throw missing('charge', id);
    return charge;
  }

  createRefund(p: FormObject, ctx: RequestContext): Refund {
    let charge: Charge;
    if (p.payment_intent !== undefined) {
      const pi = this.paymentIntent(str(p.payment_intent) ?? '');
      if (pi.status !== 'succeeded' || typeof pi.latest_charge !== 'string') {
        throw invalid(
          `This PaymentIntent (${pi.id}) does not have a successful charge to refund.`,
          'payment_intent',
          'charge_not_refundable',
        );
      }
      charge = this.charge(pi.latest_charge);
    } else if (p.charge !== undefined) {
      charge = this.charge(str(p.charge) ?? '');
    } else {
      throw invalid(
        'One of the following params should be provided for this request: payment_intent or charge.',
        'payment_intent',
        'parameter_missing',
      );
    }
    if (!charge.captured)
      throw invalid(`Charge ${charge.id} has not been captured.`, 'charge', 'charge_not_refundable');
    const left = charge.amount_captured - charge.amount_refunded;
    if (left <= 0) throw invalid(`Charge ${charge.id} has already been refunded.`, 'charge', 'charge_already_refunded');
    const amount = p.amount === undefined ? left : positiveInt(p.amount, 'amount');
    if (amount > left) {
      throw invalid(
        `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`,
        'amount',
        'amount_too_large',
      );
    }
    const reason = str(p.reason) ?? null;
    if (reason !== null && !['duplicate', 'fraudulent', 'requested_by_customer'].includes(reason)) {
      throw invalid('Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer', 'reason');
    }
    const refund: Refund = {
      id: randomId('re'),
      object: 'refund',
      amount,
      balance_transaction: null,
      charge: charge.id,
      created: this.unixNow(),
      currency: charge.currency,
      metadata: metadataParam(p.metadata),
      payment_intent: charge.payment_intent,
      reason,
      status: 'succeeded',
      transfer_reversal: null,
    };
    const reverseTransfer = isTrue(p.reverse_transfer);
    const refundFee = isTrue(p.refund_application_fee);
    if ((reverseTransfer || refundFee) && charge.transfer === null)
      throw invalid(
        `${reverseTransfer ? 'reverse_transfer' : 'refund_application_fee'} can only be used when refunding a destination charge.`,
        reverseTransfer ? 'reverse_transfer' : 'refund_application_fee',
      );
    refund.balance_transaction = this.book(PLATFORM, 'refund', -amount, 0, refund.id, charge.currency, 'refund').id;
    this.refunds.set(refund.id, refund);
    const refundedBefore = charge.amount_refunded;
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded >= charge.amount_captured;
    if (charge.transfer !== null) {
      const transfer = this.transfer(charge.transfer);
      // Both "in proportion to the amount refunded" (the Refunds API reference); the cumulative
      // share is rounded down, so the refund that completes the charge takes whatever is left.
      const share = (total: number, refunded: number): number =>
        refunded >= charge.amount_captured ? total : Math.floor((total * refunded) / charge.amount_captured);
      if (reverseTransfer) {
        const reversed = Math.min(
          share(transfer.amount, charge.amount_refunded) - share(transfer.amount, refundedBefore),
          transfer.amount - transfer.amount_reversed,
        );
        if (reversed > 0) refund.transfer_reversal = this.reverseTransfer(transfer, reversed, refund.id, ctx).id;
      }
      const fee = charge.application_fee_amount ?? 0;
      if (refundFee && fee > 0) {
        const back = share(fee, charge.amount_refunded) - share(fee, refundedBefore);
        if (back > 0) {
          this.book(
            PLATFORM,
            'application_fee_refund',
            -back,
            0,
            refund.id,
            charge.currency,
            'platform_earning_refund',
          );
          this.book(
            transfer.destination,
            'application_fee_refund',
            back,
            0,
            refund.id,
            charge.currency,
            'platform_earning_refund',
          );
        }
      }
    }
    this.emit('refund.created', refund, ctx);
    this.emit('charge.refunded', charge, ctx);
    return refund;
  }

  /** Takes part of a transfer back from the connected account into the platform's balance. */
  private reverseTransfer(
    transfer: Transfer,
    amount: number,
    refundId: string | null,
    ctx: RequestContext,
  ): TransferReversal {
    const reversal: TransferReversal = {
      id: randomId('trr'),
      object: 'transfer_reversal',
      amount,
      currency: transfer.currency,
      created: this.unixNow(),
      source_refund: refundId,
      transfer: transfer.id,
    };
    this.book(transfer.destination, 'payment_refund', -amount, 0, reversal.id, transfer.currency, 'transfer_reversal');
    this.book(PLATFORM, 'transfer_refund', amount, 0, reversal.id, transfer.currency, 'transfer_reversal');
    transfer.amount_reversed += amount;
    transfer.reversed = transfer.amount_reversed >= transfer.amount;
    transfer.reversals.data.push(reversal);
    this.emit('transfer.reversed', transfer, ctx);
    return reversal;
  }

  refund(id: string): Refund {
    const refund = this.refunds.get(id);
    if (!refund) throw missing('refund', id);
    return refund;
  }

  openDispute(charge: Charge, ctx: RequestContext): Dispute {
    const dispute: Dispute = {
      id: randomId('dp'),
      object: 'dispute',
      amount: charge.amount_captured,
      charge: charge.id,
      created: this.unixNow(),
      currency: charge.currency,
      payment_intent: charge.payment_intent,
      reason: 'fraudulent',
      status: 'needs_response',
    };
    charge.disputed = true;
    this.disputes.set(dispute.id, dispute);
    this.emit('charge.dispute.created', dispute, ctx);
    return dispute;
  }

  /** A lost dispute takes the disputed amount back out of the platform's balance. */
  closeDispute(id: string, outcome: 'won' | 'lost', ctx: RequestContext): Dispute {
    const dispute = this.disputes.get(id);
    if (!dispute) throw missing('dispute', id);
    if (dispute.status !== 'needs_response') throw invalid(`Dispute ${id} is already closed.`, 'dispute');
    dispute.status = outcome;
    if (outcome === 'lost')
      this.book(PLATFORM, 'adjustment', -dispute.amount, 0, dispute.id, dispute.currency, 'dispute');
    this.emit('charge.dispute.closed', dispute, ctx);
    return dispute;
  }

  // ---- Connect: accounts, transfers, payouts -------------------------------------------------------

  createAccount(p: FormObject, ctx: RequestContext): Account {
    const country = (str(p.country) ?? 'US').toUpperCase();
    if (!/^[A-Z]{2}$/.test(country)) throw invalid(`Country '${country}' is unknown.`, 'country');
    const account: Account = {
      id: randomId('acct', 16),
      object: 'account',
      type: str(p.type) ?? 'express',
      country,
      email: str(p.email) ?? null,
      default_currency: str(p.default_currency) ?? 'usd',
      // Test-mode accounts are usable at once; onboarding is not emulated.
      charges_enabled: true,
      payouts_enabled: true,
      details_submitted: true,
      created: this.unixNow(),
      metadata: metadataParam(p.metadata),
    };
    this.accounts.set(account.id, account);
    this.emit('account.updated', account, ctx);
    return account;
  }

  account(id: string, param = 'account'): Account {
    const account = this.accounts.get(id);
    if (!account) throw invalid(`No such destination: '${id}'`, param, 'resource_missing', 404);
    return account;
  }

  createTransfer(p: FormObject, ctx: RequestContext): Transfer {
    const amount = positiveInt(p.amount, 'amount');
    const currency = currencyParam(p.currency);
    const destination = str(p.destination);
    if (!destination) throw invalid('Missing required param: destination.', 'destination', 'parameter_missing');
    this.account(destination, 'destination');
    const available = this.available(PLATFORM, currency);
    if (available < amount) {
      throw invalid(
        'You have insufficient available funds in your Stripe account. Try adding funds directly to your available balance by creating Charges using the 4000000000000077 test card.',
        'amount',
        'balance_insufficient',
      );
    }
    const transfer = this.newTransfer(
      destination,
      amount,
      currency,
      metadataParam(p.metadata),
      null,
      str(p.transfer_group) ?? null,
    );
    transfer.description = str(p.description) ?? null;
    this.emit('transfer.created', transfer, ctx);
    return transfer;
  }

  private newTransfer(
    destination: string,
    amount: number,
    currency: string,
    metadata: Metadata,
    sourceTransaction: string | null,
    group: string | null,
  ): Transfer {
    const transfer: Transfer = {
      id: randomId('tr'),
      object: 'transfer',
      amount,
      amount_reversed: 0,
      balance_transaction: null,
      created: this.unixNow(),
      currency,
      description: null,
      destination,
      metadata,
      reversed: false,
      reversals: { object: 'list', data: [], has_more: false, url: '' },
      source_transaction: sourceTransaction,
      transfer_group: group,
    };
    transfer.reversals.url = `/v1/transfers/${transfer.id}/reversals`;
    transfer.balance_transaction = this.book(PLATFORM, 'transfer', -amount, 0, transfer.id, currency, 'transfer').id;
    this.book(destination, 'payment', amount, 0, transfer.id, currency, 'charge');
    this.transfers.set(transfer.id, transfer);
    return transfer;
  }

  transfer(id: string): Transfer {
    const transfer = this.transfers.get(id);
    if (!transfer) throw missing('transfer', id);
    return transfer;
  }

  createPayout(p: FormObject, ctx: RequestContext): Payout {
    const amount = positiveInt(p.amount, 'amount');
    const currency = currencyParam(p.currency);
    const balance = ctx.account ?? PLATFORM;
    if (ctx.account) this.account(ctx.account);
    if (this.available(balance, currency) < amount) {
      throw invalid(
        'You have insufficient funds in your Stripe account for this transfer.',
        'amount',
        'balance_insufficient',
      );
    }
    const payout: Payout = {
      id: randomId('po'),
      object: 'payout',
      amount,
      arrival_date: this.unixNow() + DAY_SECONDS,
      balance_transaction: null,
      created: this.unixNow(),
      currency,
      description: str(p.description) ?? null,
      metadata: metadataParam(p.metadata),
      method: str(p.method) === 'instant' ? 'instant' : 'standard',
      status: 'pending',
    };
    payout.balance_transaction = this.book(balance, 'payout', -amount, 0, payout.id, currency, 'payout').id;
    this.payouts.set(payout.id, payout);
    this.payoutBalance.set(payout.id, balance);
    this.emit('payout.created', payout, ctx);
    return payout;
  }

  payout(id: string): Payout {
    const payout = this.payouts.get(id);
    if (!payout) throw missing('payout', id);
    return payout;
  }

  // ---- Balance ---------------------------------------------------------------------------------------

  private book(
    balance: string,
    type: BalanceTransactionType,
    amount: number,
    fee: number,
    source: string,
    currency: string,
    category: string,
  ): BalanceTransaction {
    const txn: BalanceTransaction = {
      id: randomId('txn'),
      object: 'balance_transaction',
      amount,
      available_on: this.unixNow(),
      created: this.unixNow(),
      currency,
      description: null,
      fee,
      net: amount - fee,
      reporting_category: category,
      source,
      // Funds are available at once in the emulator (Stripe holds them for days): simpler payout tests.
      status: 'available',
      type,
    };
    const list = this.balanceTransactions.get(balance) ?? [];
    list.push(txn);
    this.balanceTransactions.set(balance, list);
    return txn;
  }

  available(balance: string, currency: string): number {
    return (this.balanceTransactions.get(balance) ?? [])
      .filter((t) => t.currency === currency)
      .reduce((sum, t) => sum + t.net, 0);
  }

  // ---- Time ------------------------------------------------------------------------------------------

  /** What happens as the clock passes: uncaptured authorisations lapse, pending payouts arrive. */
  sweep(): void {
    const now = this.unixNow();
    const ctx: RequestContext = { requestId: '', idempotencyKey: null, account: null };
    for (const pi of this.paymentIntents.values()) {
      if (pi.status !== 'requires_capture' || typeof pi.latest_charge !== 'string') continue;
      const charge = this.charges.get(pi.latest_charge);
      const before = charge?.payment_method_details.card.capture_before;
      if (charge && before != null && before <= now) {
        this.cancel(pi, 'automatic', ctx);
        this.emit('charge.expired', charge, ctx);
      }
    }
    for (const payout of this.payouts.values()) {
      if (payout.status === 'pending' && payout.arrival_date <= now) {
        payout.status = 'paid';
        const balance = this.payoutBalance.get(payout.id);
        this.emit('payout.paid', payout, { ...ctx, account: balance && balance !== PLATFORM ? balance : null });
      }
    }
  }

  // ---- Events ----------------------------------------------------------------------------------------

  private emit(type: string, object: unknown, ctx: RequestContext): void {
    const event: StripeEvent = {
      id: randomId('evt'),
      object: 'event',
      api_version: this.options.apiVersion,
      created: this.unixNow(),
      data: { object: structuredClone(object) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: ctx.requestId || null, idempotency_key: ctx.idempotencyKey },
      type,
    };
    if (ctx.account) event.account = ctx.account;
    this.events.push(event);
    this.options.onEvent(event);
  }

  event(id: string): StripeEvent {
    const event = this.events.find((e) => e.id === id);
    if (!event) throw missing('event', id);
    return event;
  }

  private card(id: string): (typeof TEST_CARDS)[string] {
    const card = TEST_CARDS[id];
    if (!card) throw invalid(`No such PaymentMethod: '${id}'`, 'payment_method', 'resource_missing', 404);
    return card;
  }
}

/** Stripe's standard pricing (2.9% + 30), so balance transactions carry a fee like the real ones. */
function stripeFee(amount: number): number {
  return Math.round(amount * 0.029) + 30;
}

export function invalid(message: string, param?: string, code?: string, status = 400): ApiError {
  const error: StripeError = { type: 'invalid_request_error', message };
  if (code) error.code = code;
  if (param) error.param = param;
  return new ApiError(status, error);
}

function missing(kind: string, id: string): ApiError {
  return invalid(`No such ${kind}: '${id}'`, 'id', 'resource_missing', 404);
}

function unexpectedState(pi: PaymentIntent, action: string): ApiError {
  const error: StripeError = {
    type: 'invalid_request_error',
    code: 'payment_intent_unexpected_state',
    message: `You cannot ${action} this PaymentIntent because it has a status of ${pi.status}.`,
    payment_intent: structuredClone(pi),
  };
  return new ApiError(400, error);
}

export function str(v: FormValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function obj(v: FormValue | undefined): FormObject | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
}

function isTrue(v: FormValue | undefined): boolean {
  return v === 'true';
}

function positiveInt(v: FormValue | undefined, param: string): number {
  const n = nonNegativeInt(v, param);
  if (n < 1) throw invalid(`This value must be greater than or equal to 1.`, param, 'amount_too_small');
  if (n > 99_999_999) throw invalid(`Amount must be no more than 99999999`, param, 'amount_too_large');
  return n;
}

function nonNegativeInt(v: FormValue | undefined, param: string): number {
  if (v === undefined) throw invalid(`Missing required param: ${param}.`, param, 'parameter_missing');
  const s = str(v);
  if (s === undefined || !/^\d+$/.test(s))
    throw invalid(`Invalid integer: ${String(s ?? '')}`, param, 'parameter_invalid_integer');
  return Number(s);
}

function currencyParam(v: FormValue | undefined): string {
  if (v === undefined) throw invalid('Missing required param: currency.', 'currency', 'parameter_missing');
  const s = (str(v) ?? '').toLowerCase();
  if (!/^[a-z]{3}$/.test(s)) throw invalid(`Invalid currency: ${s}.`, 'currency', 'parameter_invalid_string');
  return s;
}

function metadataParam(v: FormValue | undefined): Metadata {
  const m = obj(v);
  if (!m) return {};
  const out: Metadata = {};
  for (const [k, value] of Object.entries(m)) {
    if (typeof value !== 'string') throw invalid(`Invalid metadata value for key ${k}`, `metadata[${k}]`);
    if (value !== '') out[k] = value;
  }
  return out;
}
