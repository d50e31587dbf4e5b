import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';
import type { RegionTerms, ScheduledInstallment } from './plan.js';

/** Plans newest first (the caller's: row-level security decides whose). */
export const PLANS_LISTING: Listing = { name: 'installment-plans', key: 'created_at', id: 'id', idType: 'uuid' };

export type PlanStatus = 'active' | 'paid' | 'defaulted' | 'cancelled';
export type InstallmentStatus = 'scheduled' | 'paid' | 'failed' | 'late' | 'waived';
export type CloseReason = 'paid' | 'payoff' | 'defaulted' | 'first_charge_failed';

export interface PlanRow {
  id: string;
  tenantId: string;
  partnerId: string;
  customerTenantId: string;
  customerUserId: string | null;
  repairOrderId: string | null;
  bookingId: string | null;
  provider: 'stripe' | 'paypal';
  paymentMethod: string;
  status: PlanStatus;
  financedMinor: number;
  totalFeeMinor: number;
  currency: string;
  count: number;
  region: string;
  terms: RegionTerms;
  timeZone: string;
  startsAt: Date;
  closedAt: Date | null;
  closeReason: CloseReason | null;
  /** An early payoff being charged (key and amount), until its outcome is recorded. */
  payoffKey: string | null;
  payoffAmountMinor: number | null;
  payoffAt: Date | null;
  payoffAttempts: number;
  /** A defaulted plan's receivable written off to bad debt by platform staff (migration 045). */
  writtenOffAt: Date | null;
  writtenOffMinor: number | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface InstallmentRow {
  id: string;
  planId: string;
  tenantId: string;
  customerTenantId: string;
  customerUserId: string | null;
  seq: number;
  dueAt: Date;
  principalMinor: number;
  feeMinor: number;
  feeWaivedMinor: number;
  lateFeeMinor: number;
  currency: string;
  status: InstallmentStatus;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: Date | null;
  lateAt: Date | null;
  paidAt: Date | null;
  paymentId: string | null;
}

const PLAN_COLUMNS = `p.id, p.tenant_id AS "tenantId", p.partner_id AS "partnerId",
  p.customer_tenant_id AS "customerTenantId", p.customer_user_id AS "customerUserId",
  p.repair_order_id AS "repairOrderId", p.booking_id AS "bookingId", p.provider,
  p.payment_method AS "paymentMethod", p.status, p.financed_minor AS "financedMinor",
  p.total_fee_minor AS "totalFeeMinor", p.currency, p.installment_count AS "count", p.region, p.terms,
  p.time_zone AS "timeZone", p.starts_at AS "startsAt", p.closed_at AS "closedAt",
  p.close_reason AS "closeReason", p.payoff_key AS "payoffKey", p.payoff_amount_minor AS "payoffAmountMinor",
  p.payoff_at AS "payoffAt", p.payoff_attempts AS "payoffAttempts", p.written_off_at AS "writtenOffAt",
  p.written_off_minor::float8 AS "writtenOffMinor", p.created_by AS "createdBy", p.created_at AS "createdAt",
  p.updated_at AS "updatedAt"`;

const INSTALLMENT_COLUMNS = `i.id, i.plan_id AS "planId", i.tenant_id AS "tenantId",
  i.customer_tenant_id AS "customerTenantId", i.customer_user_id AS "customerUserId", i.seq,
  i.due_at AS "dueAt", i.principal_minor AS "principalMinor", i.fee_minor AS "feeMinor",
  i.fee_waived_minor AS "feeWaivedMinor", i.late_fee_minor AS "lateFeeMinor", i.currency, i.status,
  i.attempts, i.last_error AS "lastError", i.next_attempt_at AS "nextAttemptAt", i.late_at AS "lateAt",
  i.paid_at AS "paidAt", i.payment_id AS "paymentId"`;

const num = (v: unknown): number => Number(v);
const date = (v: unknown): Date => (v instanceof Date ? v : new Date(v as string));
const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : date(v));

function planRow(r: Record<string, unknown>): PlanRow {
  return {
    ...(r as unknown as PlanRow),
    financedMinor: num(r.financedMinor),
    totalFeeMinor: num(r.totalFeeMinor),
    count: num(r.count),
    currency: String(r.currency).trim(),
    terms: (typeof r.terms === 'string' ? JSON.parse(r.terms) : r.terms) as RegionTerms,
    startsAt: date(r.startsAt),
    closedAt: dateOrNull(r.closedAt),
    payoffAmountMinor: r.payoffAmountMinor === null ? null : num(r.payoffAmountMinor),
    payoffAt: dateOrNull(r.payoffAt),
    payoffAttempts: num(r.payoffAttempts),
    createdAt: date(r.createdAt),
    updatedAt: date(r.updatedAt),
  };
}

function installmentRow(r: Record<string, unknown>): InstallmentRow {
  return {
    ...(r as unknown as InstallmentRow),
    seq: num(r.seq),
    dueAt: date(r.dueAt),
    principalMinor: num(r.principalMinor),
    feeMinor: num(r.feeMinor),
    feeWaivedMinor: num(r.feeWaivedMinor),
    lateFeeMinor: num(r.lateFeeMinor),
    currency: String(r.currency).trim(),
    attempts: num(r.attempts),
    nextAttemptAt: dateOrNull(r.nextAttemptAt),
    lateAt: dateOrNull(r.lateAt),
    paidAt: dateOrNull(r.paidAt),
  };
}

export interface NewPlan {
  tenantId: string;
  partnerId: string;
  customerTenantId: string;
  customerUserId: string | null;
  repairOrderId: string | null;
  bookingId: string | null;
  provider: 'stripe' | 'paypal';
  paymentMethod: string;
  financedMinor: number;
  totalFeeMinor: number;
  currency: string;
  count: number;
  region: string;
  terms: RegionTerms;
  timeZone: string;
  startsAt: Date;
  createdBy: string;
}

/** SQL of installment plans and their installments, in the caller's transaction. */
export class InstallmentsRepository {
  constructor(private readonly q: Queryable) {}

  async insertPlan(plan: NewPlan, schedule: readonly ScheduledInstallment[]): Promise<string> {
    const { rows } = await this.q.query<{ id: string }>(
      `INSERT INTO installment_plans (tenant_id, partner_id, customer_tenant_id, customer_user_id, repair_order_id,
         booking_id, provider, payment_method, financed_minor, total_fee_minor, currency, installment_count, region,
         terms, time_zone, starts_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $16, $17)
       RETURNING id`,
      [
        plan.tenantId,
        plan.partnerId,
        plan.customerTenantId,
        plan.customerUserId,
        plan.repairOrderId,
        plan.bookingId,
        plan.provider,
        plan.paymentMethod,
        plan.financedMinor,
        plan.totalFeeMinor,
        plan.currency,
        plan.count,
        plan.region,
        JSON.stringify(plan.terms),
        plan.timeZone,
        plan.startsAt,
        plan.createdBy,
      ],
    );
    const id = rows[0]!.id;
    await this.q.query(
      `INSERT INTO installments (plan_id, tenant_id, customer_tenant_id, customer_user_id, seq, due_at,
         principal_minor, fee_minor, currency, next_attempt_at)
       SELECT $1, $2, $3, $4, s, d, p, f, $9, d
         FROM unnest($5::int[], $6::timestamptz[], $7::bigint[], $8::bigint[]) AS x(s, d, p, f)`,
      [
        id,
        plan.tenantId,
        plan.customerTenantId,
        plan.customerUserId,
        schedule.map((s) => s.seq),
        schedule.map((s) => s.dueAt),
        schedule.map((s) => s.principalMinor),
        schedule.map((s) => s.feeMinor),
        plan.currency,
      ],
    );
    return id;
  }

  async plan(id: string, forUpdate = false): Promise<PlanRow | undefined> {
    const { rows } = await this.q.query<Record<string, unknown>>(
      `SELECT ${PLAN_COLUMNS} FROM installment_plans p WHERE p.id = $1 ${forUpdate ? 'FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0] ? planRow(rows[0]) : undefined;
  }

  async installments(planIds: readonly string[]): Promise<Map<string, InstallmentRow[]>> {
    const out = new Map<string, InstallmentRow[]>();
    if (planIds.length === 0) return out;
    const { rows } = await this.q.query<Record<string, unknown>>(
      `SELECT ${INSTALLMENT_COLUMNS} FROM installments i WHERE i.plan_id = ANY ($1::uuid[]) ORDER BY i.plan_id, i.seq`,
      [[...planIds]],
    );
    for (const r of rows) {
      const row = installmentRow(r);
      const list = out.get(row.planId) ?? [];
      list.push(row);
      out.set(row.planId, list);
    }
    return out;
  }

  /** One installment with its plan, both locked (the charge job and payoff serialise on the plan). */
  async lockInstallment(id: string): Promise<{ plan: PlanRow; installment: InstallmentRow } | undefined> {
    const found = await this.q.query<{ planId: string }>(`SELECT plan_id AS "planId" FROM installments WHERE id = $1`, [
      id,
    ]);
    if (!found.rows[0]) return undefined;
    const plan = await this.plan(found.rows[0].planId, true);
    const { rows } = await this.q.query<Record<string, unknown>>(
      `SELECT ${INSTALLMENT_COLUMNS} FROM installments i WHERE i.id = $1 FOR UPDATE`,
      [id],
    );
    if (!plan || !rows[0]) return undefined;
    return { plan, installment: installmentRow(rows[0]) };
  }

  list(page: PageRequest): Promise<Page<Record<string, unknown>>> {
    return keysetPage(
      this.q,
      PLANS_LISTING,
      { sql: `SELECT ${PLAN_COLUMNS}, p.created_at FROM installment_plans p` },
      page,
    );
  }

  static toPlan(r: Record<string, unknown>): PlanRow {
    return planRow(r);
  }

  async updateInstallment(
    id: string,
    change: Partial<{
      status: InstallmentStatus;
      attempts: number;
      lastError: string | null;
      nextAttemptAt: Date | null;
      lateAt: Date;
      lateFeeMinor: number;
      feeWaivedMinor: number;
      paidAt: Date;
      paymentId: string | null;
    }>,
  ): Promise<void> {
    const columns: Record<string, string> = {
      status: 'status',
      attempts: 'attempts',
      lastError: 'last_error',
      nextAttemptAt: 'next_attempt_at',
      lateAt: 'late_at',
      lateFeeMinor: 'late_fee_minor',
      feeWaivedMinor: 'fee_waived_minor',
      paidAt: 'paid_at',
      paymentId: 'payment_id',
    };
    const sets: string[] = [];
    const params: unknown[] = [id];
    for (const [key, value] of Object.entries(change)) {
      if (value === undefined) continue;
      params.push(value);
      sets.push(`${columns[key]} = $${params.length}`);
    }
    if (sets.length === 0) return;
    await this.q.query(`UPDATE installments SET ${sets.join(', ')}, updated_at = now() WHERE id = $1`, params);
  }

  async closePlan(id: string, status: Exclude<PlanStatus, 'active'>, reason: CloseReason, at: Date): Promise<void> {
    await this.q.query(
      `UPDATE installment_plans SET status = $2, close_reason = $3, closed_at = $4, updated_at = now()
        WHERE id = $1 AND status = 'active'`,
      [id, status, reason, at],
    );
  }

  /** Starts an early payoff (key and amount kept until the outcome is recorded). */
  async startPayoff(id: string, key: string, amountMinor: number, at: Date): Promise<void> {
    await this.q.query(
      `UPDATE installment_plans SET payoff_key = $2, payoff_amount_minor = $3, payoff_at = $4,
              payoff_attempts = payoff_attempts + 1, updated_at = now()
        WHERE id = $1`,
      [id, key, amountMinor, at],
    );
  }

  async endPayoff(id: string): Promise<void> {
    await this.q.query(
      `UPDATE installment_plans SET payoff_key = NULL, payoff_amount_minor = NULL, payoff_at = NULL, updated_at = now()
        WHERE id = $1`,
      [id],
    );
  }

  /** A defaulted plan paid in full by its customer after all (docs/installments.md, "After a default"). */
  async settleDefaulted(id: string, at: Date): Promise<void> {
    await this.q.query(
      `UPDATE installment_plans SET status = 'paid', close_reason = 'payoff', closed_at = $2, updated_at = now()
        WHERE id = $1 AND status = 'defaulted' AND written_off_at IS NULL`,
      [id, at],
    );
  }

  /** Lifts the suspension a paid plan caused (SECURITY DEFINER, migration 045): `good`, or `suspended` by another plan. */
  async restoreStanding(planId: string): Promise<string | null> {
    const { rows } = await this.q.query<{ standing: string | null }>(
      'SELECT installment_standing_restore($1) AS standing',
      [planId],
    );
    return rows[0]?.standing ?? null;
  }

  /** Marks a defaulted plan written off and waives what is still open on it (system work). */
  async writeOff(id: string, w: { amountMinor: number; by: string; reason: string; at: Date }): Promise<void> {
    await this.q.query(
      `UPDATE installment_plans SET written_off_at = $2, written_off_minor = $3, written_off_by = $4,
              write_off_reason = $5, updated_at = now()
        WHERE id = $1 AND status = 'defaulted' AND written_off_at IS NULL`,
      [id, w.at, w.amountMinor, w.by, w.reason],
    );
    await this.q.query(
      `UPDATE installments SET status = 'waived', next_attempt_at = NULL, updated_at = now()
        WHERE plan_id = $1 AND status IN ('scheduled', 'failed', 'late')`,
      [id],
    );
  }

  /** Lifts a customer's suspension by hand (platform staff, audited); false when it was not suspended by this plan. */
  async liftSuspension(planId: string, reason: string): Promise<boolean> {
    const { rows } = await this.q.query(
      `UPDATE customer_standing SET status = 'good', reason = $2, updated_at = now()
        WHERE plan_id = $1 AND status = 'suspended' RETURNING id`,
      [planId, reason],
    );
    return rows.length > 0;
  }

  /** The customer's standing (null user: the organisation's). */
  async suspend(tenantId: string, userId: string | null, planId: string, reason: string): Promise<void> {
    await this.q.query(
      `INSERT INTO customer_standing (tenant_id, user_id, status, reason, plan_id)
       VALUES ($1, $2, 'suspended', $3, $4)
       ON CONFLICT (tenant_id, user_id) DO UPDATE
         SET status = 'suspended', reason = EXCLUDED.reason, plan_id = EXCLUDED.plan_id, updated_at = now()`,
      [tenantId, userId, reason, planId],
    );
  }
}

/**
 * Whether a customer is suspended (a defaulted installment plan), read in the customer's own
 * transaction: the bookings domain refuses new bookings of a suspended customer, fraud reads it as a
 * signal. A fleet (no user) is suspended as an organisation; a person also by their organisation's flag.
 */
export async function customerStanding(
  q: Queryable,
  tenantId: string,
  userId: string | null,
): Promise<{ status: 'good' | 'suspended'; reason: string | null; planId: string | null }> {
  const { rows } = await q.query<{ status: 'good' | 'suspended'; reason: string; plan_id: string | null }>(
    `SELECT status, reason, plan_id FROM customer_standing
      WHERE tenant_id = $1 AND (user_id IS NULL OR user_id = $2) AND status = 'suspended'
      ORDER BY user_id NULLS LAST LIMIT 1`,
    [tenantId, userId],
  );
  const row = rows[0];
  return row
    ? { status: row.status, reason: row.reason, planId: row.plan_id }
    : { status: 'good', reason: null, planId: null };
}
