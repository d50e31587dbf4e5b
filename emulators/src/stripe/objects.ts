/** The Stripe API objects the emulator keeps, shaped as Stripe's API reference documents them (the fields we use). */
export type Metadata = Record<string, string>;

export type PaymentIntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'succeeded'
  | 'canceled';

export interface StripeError {
  type:
    | 'api_error'
    | 'card_error'
    | 'idempotency_error'
    | 'invalid_request_error'
    | 'rate_limit_error'
    | 'authentication_error'
    | 'permission_error';
  code?: string;
  decline_code?: string;
  message: string;
  param?: string;
  payment_intent?: PaymentIntent;
  charge?: string;
}

export interface PaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  application_fee_amount: number | null;
  canceled_at: number | null;
  cancellation_reason: string | null;
  capture_method: 'automatic' | 'automatic_async' | 'manual';
  client_secret: string;
  confirmation_method: 'automatic' | 'manual';
  created: number;
  currency: string;
  description: string | null;
  last_payment_error: StripeError | null;
  latest_charge: string | Charge | null;
  livemode: false;
  metadata: Metadata;
  next_action: { type: 'use_stripe_sdk'; use_stripe_sdk: Record<string, string> } | null;
  payment_method: string | null;
  payment_method_types: string[];
  status: PaymentIntentStatus;
  transfer_data: { destination: string } | null;
}

export interface Charge {
  id: string;
  object: 'charge';
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  application_fee_amount: number | null;
  balance_transaction: string | null;
  captured: boolean;
  created: number;
  currency: string;
  disputed: boolean;
  failure_code: string | null;
  failure_message: string | null;
  livemode: false;
  metadata: Metadata;
  outcome: { type: 'authorized' | 'issuer_declined'; network_status: string; seller_message: string };
  paid: boolean;
  payment_intent: string;
  payment_method: string;
  payment_method_details: {
    type: 'card';
    card: { brand: string; last4: string; funding: string; capture_before: number | null };
  };
  refunded: boolean;
  status: 'succeeded' | 'failed' | 'pending';
  transfer: string | null;
  transfer_data: { destination: string } | null;
}

export interface Refund {
  id: string;
  object: 'refund';
  amount: number;
  balance_transaction: string | null;
  charge: string;
  created: number;
  currency: string;
  metadata: Metadata;
  payment_intent: string;
  reason: string | null;
  status: 'succeeded' | 'pending' | 'failed';
  /** The reversal of the destination charge's transfer this refund made (`reverse_transfer`). */
  transfer_reversal: string | null;
}

export interface Account {
  id: string;
  object: 'account';
  type: string;
  country: string;
  email: string | null;
  default_currency: string;
  charges_enabled: boolean;
  payouts_enabled: boolean;
  details_submitted: boolean;
  created: number;
  metadata: Metadata;
}

export interface Transfer {
  id: string;
  object: 'transfer';
  amount: number;
  amount_reversed: number;
  balance_transaction: string | null;
  created: number;
  currency: string;
  description: string | null;
  destination: string;
  metadata: Metadata;
  reversed: boolean;
  /** Its reversals (`trr_...`), as Stripe lists them under `reversals`. */
  reversals: { object: 'list'; data: TransferReversal[]; has_more: false; url: string };
  source_transaction: string | null;
  transfer_group: string | null;
}

export interface TransferReversal {
  id: string;
  object: 'transfer_reversal';
  amount: number;
  currency: string;
  created: number;
  source_refund: string | null;
  transfer: string;
}

export interface Payout {
  id: string;
  object: 'payout';
  amount: number;
  arrival_date: number;
  balance_transaction: string | null;
  created: number;
  currency: string;
  description: string | null;
  metadata: Metadata;
  method: 'standard' | 'instant';
  status: 'pending' | 'in_transit' | 'paid' | 'failed' | 'canceled';
}

export interface Dispute {
  id: string;
  object: 'dispute';
  amount: number;
  charge: string;
  created: number;
  currency: string;
  payment_intent: string;
  reason: string;
  status: 'needs_response' | 'won' | 'lost';
}

export type BalanceTransactionType =
  | 'charge'
  | 'refund'
  | 'transfer'
  | 'payout'
  | 'payment'
  | 'adjustment'
  | 'application_fee'
  | 'application_fee_refund'
  | 'transfer_refund'
  | 'payment_refund';

export interface BalanceTransaction {
  id: string;
  object: 'balance_transaction';
  amount: number;
  available_on: number;
  created: number;
  currency: string;
  description: string | null;
  fee: number;
  net: number;
  reporting_category: string;
  source: string;
  status: 'available' | 'pending';
  type: BalanceTransactionType;
}

export interface StripeEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  data: { object: unknown; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
  /** Set for events about a connected account's objects. */
  account?: string;
}

/** Test payment methods, named as in Stripe's testing docs. */
export interface TestCard {
  brand: string;
  last4: string;
  funding: 'credit' | 'debit';
  outcome: 'succeed' | 'decline' | 'authenticate' | 'dispute';
  declineCode?: string;
}

export const TEST_CARDS: Record<string, TestCard> = {
  pm_card_visa: { brand: 'visa', last4: '4242', funding: 'credit', outcome: 'succeed' },
  pm_card_visa_debit: { brand: 'visa', last4: '5556', funding: 'debit', outcome: 'succeed' },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444', funding: 'credit', outcome: 'succeed' },
  pm_card_amex: { brand: 'amex', last4: '8431', funding: 'credit', outcome: 'succeed' },
  pm_card_chargeDeclined: {
    brand: 'visa',
    last4: '0002',
    funding: 'credit',
    outcome: 'decline',
    declineCode: 'generic_decline',
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: 'visa',
    last4: '9995',
    funding: 'credit',
    outcome: 'decline',
    declineCode: 'insufficient_funds',
  },
  pm_card_insufficientFunds: {
    brand: 'visa',
    last4: '9995',
    funding: 'credit',
    outcome: 'decline',
    declineCode: 'insufficient_funds',
  },
  pm_card_authenticationRequired: { brand: 'visa', last4: '3184', funding: 'credit', outcome: 'authenticate' },
  pm_card_createDispute: { brand: 'visa', last4: '0259', funding: 'credit', outcome: 'dispute' },
};
