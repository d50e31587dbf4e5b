import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';
import type { PaymentState } from './states.js';
import type { PaymentProviderName, PaymentPurpose, PaymentStatus } from './types.js';

/** payments, payment_refunds, payment_events (db/migrations/032_payments.sql). */

export interface PaymentRow {
  id: string;
  tenantId: string;
  partnerId: string | null;
  bookingId: string | null;
  repairOrderId: string | null;
  installmentId: string | null;
  customerTenantId: string;
  customerUserId: string | null;
  purpose: PaymentPurpose;
  provider: PaymentProviderName;
  providerRef: string | null;
  status: PaymentStatus;
  captureMethod: 'manual' | 'automatic';
  amountMinor: number;
  capturedMinor: number;
  refundedMinor: number;
  commissionMinor: number;
  currency: string;
  paymentMethod: string | null;
  holdTransferId: string | null;
  authorizationExpiresAt: Date | null;
  riskAssessmentId: string | null;
  failureCode: string | null;
  /** A Connect destination charge's connected account (migration 045); null: paid out weekly. */
  connectAccount: string | null;
  /** The application fee (commission + VAT) the capture asked the provider to keep. */
  applicationFeeMinor: number | null;
  version: number;
  captureSeq: number;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `p.id, p.tenant_id AS "tenantId", p.partner_id AS "partnerId", p.booking_id AS "bookingId",
  p.repair_order_id AS "repairOrderId", p.installment_id AS "installmentId",
  p.customer_tenant_id AS "customerTenantId", p.customer_user_id AS "customerUserId", p.purpose, p.provider,
  p.provider_ref AS "providerRef", p.status, p.capture_method AS "captureMethod",
  p.amount_minor::float8 AS "amountMinor", p.captured_minor::float8 AS "capturedMinor",
  p.refunded_minor::float8 AS "refundedMinor", p.commission_minor::float8 AS "commissionMinor",
  p.currency, p.payment_method AS "paymentMethod", p.hold_transfer_id AS "holdTransferId",
  p.authorization_expires_at AS "authorizationExpiresAt", p.risk_assessment_id AS "riskAssessmentId",
  p.failure_code AS "failureCode", p.connect_account AS "connectAccount",
  p.application_fee_minor::float8 AS "applicationFeeMinor", p.version, p.capture_seq AS "captureSeq", p.created_by AS "createdBy",
  p.created_at AS "createdAt", p.updated_at AS "updatedAt"`;

export const PAYMENTS_LISTING: Listing = { name: 'payments', key: 'created_at', id: 'id', idType: 'uuid' };

export interface NewPayment {
  id: string;
  tenantId: string;
  partnerId: string | null;
  bookingId: string | null;
  repairOrderId: string | null;
  installmentId: string | null;
  customerTenantId: string;
  customerUserId: string | null;
  purpose: PaymentPurpose;
  provider: PaymentProviderName;
  captureMethod: 'manual' | 'automatic';
  amountMinor: number;
  currency: string;
  paymentMethod: string | null;
  riskAssessmentId: string | null;
  connectAccount?: string | null | undefined;
  createdBy: string;
}

export interface PaymentFilter {
  bookingId?: string | undefined;
  repairOrderId?: string | undefined;
  partnerId?: string | undefined;
  status?: readonly PaymentStatus[] | undefined;
}

/** What a compare-and-set may change besides the state machine's fields. */
export interface PaymentPatch extends Partial<PaymentState> {
  providerRef?: string | null;
  holdTransferId?: string | null;
  commissionMinor?: number;
  captureSeq?: number;
  paymentMethod?: string | null;
  applicationFeeMinor?: number;
}

const num = (row: PaymentRow): PaymentRow => ({
  ...row,
  version: Number(row.version),
  captureSeq: Number(row.captureSeq),
});

export class PaymentsRepository {
  constructor(private readonly q: Queryable) {}

  async insert(p: NewPayment): Promise<PaymentRow> {
    const { rows } = await this.q.query<PaymentRow>(
      `INSERT INTO payments AS p (id, tenant_id, partner_id, booking_id, repair_order_id, installment_id,
         customer_tenant_id, customer_user_id, purpose, provider, capture_method, amount_minor, currency,
         payment_method, risk_assessment_id, created_by, connect_account)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
       RETURNING ${COLUMNS}`,
      [
        p.id,
        p.tenantId,
        p.partnerId,
        p.bookingId,
        p.repairOrderId,
        p.installmentId,
        p.customerTenantId,
        p.customerUserId,
        p.purpose,
        p.provider,
        p.captureMethod,
        p.amountMinor,
        p.currency,
        p.paymentMethod,
        p.riskAssessmentId,
        p.createdBy,
        p.connectAccount ?? null,
      ],
    );
    return num(rows[0]!);
  }

  /** `lock`: FOR UPDATE, so two changes of one payment queue up instead of racing. */
  async get(id: string, lock = false): Promise<PaymentRow | undefined> {
    const { rows } = await this.q.query<PaymentRow>(
      `SELECT ${COLUMNS} FROM payments p WHERE p.id = $1 ${lock ? 'FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0] ? num(rows[0]) : undefined;
  }

  async byProviderRef(provider: string, providerRef: string, lock = false): Promise<PaymentRow | undefined> {
    const { rows } = await this.q.query<PaymentRow>(
      `SELECT ${COLUMNS} FROM payments p WHERE p.provider = $1 AND p.provider_ref = $2 ${lock ? 'FOR UPDATE' : ''}`,
      [provider, providerRef],
    );
    return rows[0] ? num(rows[0]) : undefined;
  }

  /**
   * The compare-and-set: changes the row only if it is still at `version` (the trigger bumps it).
   * Undefined when someone else changed it first: the caller re-reads and decides again.
   */
  async compareAndSet(id: string, version: number, patch: PaymentPatch): Promise<PaymentRow | undefined> {
    const sets: string[] = [];
    const params: unknown[] = [id, version];
    const set = (column: string, value: unknown): void => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (patch.status !== undefined) set('status', patch.status);
    if (patch.capturedMinor !== undefined) set('captured_minor', patch.capturedMinor);
    if (patch.refundedMinor !== undefined) set('refunded_minor', patch.refundedMinor);
    if (patch.authorizationExpiresAt !== undefined) set('authorization_expires_at', patch.authorizationExpiresAt);
    if (patch.failureCode !== undefined) set('failure_code', patch.failureCode);
    if (patch.providerRef !== undefined) set('provider_ref', patch.providerRef);
    if (patch.holdTransferId !== undefined) set('hold_transfer_id', patch.holdTransferId);
    if (patch.commissionMinor !== undefined) set('commission_minor', patch.commissionMinor);
    if (patch.captureSeq !== undefined) set('capture_seq', patch.captureSeq);
    if (patch.paymentMethod !== undefined) set('payment_method', patch.paymentMethod);
    if (patch.applicationFeeMinor !== undefined) set('application_fee_minor', patch.applicationFeeMinor);
    if (sets.length === 0) return this.get(id);
    const { rows } = await this.q.query<PaymentRow>(
      `UPDATE payments p SET ${sets.join(', ')} WHERE p.id = $1 AND p.version = $2 RETURNING ${COLUMNS}`,
      params,
    );
    return rows[0] ? num(rows[0]) : undefined;
  }

  async list(filter: PaymentFilter, page: PageRequest): Promise<Page<PaymentRow>> {
    const result = await keysetPage<PaymentRow>(
      this.q,
      PAYMENTS_LISTING,
      {
        sql: `SELECT ${COLUMNS}, p.created_at FROM payments p
               WHERE ($1::uuid IS NULL OR p.booking_id = $1) AND ($2::uuid IS NULL OR p.repair_order_id = $2)
                 AND ($3::uuid IS NULL OR p.partner_id = $3) AND ($4::text[] IS NULL OR p.status = ANY ($4))`,
        params: [
          filter.bookingId ?? null,
          filter.repairOrderId ?? null,
          filter.partnerId ?? null,
          filter.status ? [...filter.status] : null,
        ],
      },
      page,
    );
    return { items: result.items.map(num), next: result.next };
  }

  async appendEvent(
    p: Pick<PaymentRow, 'id' | 'tenantId' | 'customerTenantId' | 'customerUserId'>,
    e: { from: PaymentStatus | null; to: PaymentStatus; actor: string; kind: string; data?: Record<string, unknown> },
  ): Promise<void> {
    await this.q.query(
      `INSERT INTO payment_events (tenant_id, payment_id, customer_tenant_id, customer_user_id, from_status, to_status, actor, kind, data)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)`,
      [
        p.tenantId,
        p.id,
        p.customerTenantId,
        p.customerUserId,
        e.from,
        e.to,
        e.actor.slice(0, 200),
        e.kind,
        e.data ? JSON.stringify(e.data) : null,
      ],
    );
  }

  async insertRefund(r: {
    id: string;
    payment: PaymentRow;
    amountMinor: number;
    reason: string | null;
    requestedBy: string;
  }): Promise<void> {
    await this.q.query(
      `INSERT INTO payment_refunds (id, tenant_id, payment_id, customer_tenant_id, customer_user_id, amount_minor, currency, reason, requested_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        r.id,
        r.payment.tenantId,
        r.payment.id,
        r.payment.customerTenantId,
        r.payment.customerUserId,
        r.amountMinor,
        r.payment.currency,
        r.reason,
        r.requestedBy.slice(0, 200),
      ],
    );
  }

  async settleRefund(id: string, status: 'succeeded' | 'failed', providerRef: string | null): Promise<void> {
    await this.q.query(
      `UPDATE payment_refunds SET status = $2, provider_ref = coalesce($3, provider_ref), updated_at = now() WHERE id = $1`,
      [id, status, providerRef],
    );
  }

  /** Refunds asked for but not yet settled (pending): their amounts are reserved against the captured total. */
  async pendingRefundsMinor(paymentId: string): Promise<number> {
    const { rows } = await this.q.query<{ n: number }>(
      `SELECT coalesce(sum(amount_minor), 0)::float8 AS n FROM payment_refunds WHERE payment_id = $1 AND status = 'pending'`,
      [paymentId],
    );
    return rows[0]!.n;
  }
}
