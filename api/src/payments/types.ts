import type { Principal } from '../auth/principal.js';
import type { RequestPolicy } from '../auth/policy.js';
import type { Scope } from '../auth/scope.js';

/** Where a payment stands on our side (docs/payments-flows.md draws the machine; states.ts enforces it). */
export type PaymentStatus =
  | 'pending'
  | 'requires_action'
  | 'authorized'
  | 'captured'
  | 'partially_refunded'
  | 'refunded'
  | 'cancelled'
  | 'failed';

export type PaymentPurpose = 'booking' | 'repair' | 'wallet_topup' | 'installment' | 'late_fee';

/** The providers a payment may name: the adapters' (providers/provider.ts) plus our own wallet. */
export type PaymentProviderName = 'stripe' | 'paypal' | 'cash' | 'wallet';

/** What every payments route returns. */
export interface PaymentView {
  id: string;
  purpose: PaymentPurpose;
  provider: PaymentProviderName;
  /** The provider's id (Stripe `pi_...`, PayPal order id); null before the provider answered. */
  providerRef: string | null;
  status: PaymentStatus;
  amountMinor: number;
  capturedMinor: number;
  refundedMinor: number;
  commissionMinor: number;
  currency: string;
  bookingId: string | null;
  repairOrderId: string | null;
  installmentId: string | null;
  partnerId: string | null;
  customerTenantId: string;
  customerUserId: string | null;
  authorizationExpiresAt: string | null;
  failureCode: string | null;
  createdAt: string;
  updatedAt: string;
  /** Stripe: for the browser's card step. Only in the answer that created or confirmed it; never stored. */
  clientSecret?: string | undefined;
  /** PayPal: where the payer approves. Only in the answer that created it. */
  approvalUrl?: string | undefined;
}

/** Who takes money: the request's caller, or the system (a job) with a system `Scope`. */
export interface PaymentCaller {
  scope: Scope;
  /** Absent for system work (a job): the scope is a system one and `actor` names the job. */
  principal?: Principal | undefined;
  /** Absent for system work (jobs): no policy decision is asked, the caller already decided. */
  policy?: RequestPolicy | undefined;
  /** The actor name written in the payment's history (`user:<id>`, `system:installments`). */
  actor?: string | undefined;
  /** What the request tells the risk check (the caller's address, its device). */
  request?: { ip?: string | undefined; ipCountry?: string | undefined; deviceId?: string | undefined } | undefined;
}

export interface StartPaymentInput {
  purpose: PaymentPurpose;
  provider: PaymentProviderName;
  amountMinor: number;
  currency: string;
  capture: 'manual' | 'automatic';
  /** A saved or just-collected payment method (`pm_...`): confirmed at once (off-session charges). */
  paymentMethod?: string | undefined;
  bookingId?: string | undefined;
  repairOrderId?: string | undefined;
  installmentId?: string | undefined;
  /** The payee shop (partners.id); its tenant is the payment's tenant. Absent: a wallet top-up. */
  partnerId?: string | undefined;
  /** The payer; default: the caller's tenant and user. */
  customerTenantId?: string | undefined;
  customerUserId?: string | null | undefined;
  /** The caller's key for this attempt: the same key gives the same payment (no second charge). */
  idempotencyKey: string;
  description?: string | undefined;
}
