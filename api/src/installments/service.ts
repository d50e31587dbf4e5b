import type { Queryable } from '@clutch/db';
import type { Resource } from '@clutch/identity';
import type { JobEnqueuer } from '../ai/retrain-jobs.js';
import type { Principal } from '../auth/principal.js';
import type { RequestPolicy } from '../auth/policy.js';
import { actorOf, type Scope } from '../auth/scope.js';
import { sideOf } from '../bookings/access.js';
import { isTimeZone } from '../bookings/zoned-time.js';
import { apiError } from '../errors.js';
import type { Page, PageRequest } from '../http/pagination.js';
import type { PaymentDeps } from '../payments/deps.js';
import { books } from './books.js';
import {
  announce,
  chargeInstallment,
  FIRST_CHARGE_SAFETY_DELAY_MS,
  INSTALLMENT_CHARGE_QUEUE,
  payOff,
  payoffOf,
  amountDue,
  settleable,
  type ChargeJobData,
} from './collect.js';
import { reinstateCustomer, writeOffPlan } from './recovery.js';
import { computeSchedule, PlanInputError, termsFor, type PlanSchedule, type RegionTerms } from './plan.js';
import { InstallmentsRepository, type InstallmentRow, type PlanRow } from './repository.js';

/** What a use case needs of the request. */
export interface InstallmentCaller {
  scope: Scope;
  principal: Principal;
  policy: RequestPolicy;
}

export interface PlanRequest {
  repairOrderId?: string | undefined;
  bookingId?: string | undefined;
  count: number;
}

export interface CreatePlanRequest extends PlanRequest {
  provider: 'stripe' | 'paypal';
  paymentMethod: string;
}

export interface InstallmentView {
  id: string;
  seq: number;
  dueAt: string;
  principalMinor: number;
  feeMinor: number;
  feeWaivedMinor: number;
  lateFeeMinor: number;
  totalMinor: number;
  status: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  paidAt: string | null;
  paymentId: string | null;
}

export interface PlanView {
  id: string;
  partnerId: string;
  customerTenantId: string;
  customerUserId: string | null;
  repairOrderId: string | null;
  bookingId: string | null;
  provider: string;
  status: string;
  closeReason: string | null;
  financedMinor: number;
  totalFeeMinor: number;
  currency: string;
  count: number;
  region: string;
  terms: RegionTerms;
  timeZone: string;
  startsAt: string;
  createdAt: string;
  closedAt: string | null;
  /** Collected so far (principal, fees and late fees). */
  paidMinor: number;
  /** What paying off now would cost (a defaulted plan: everything owed); null once it cannot be paid off. */
  payoffMinor: number | null;
  /** A defaulted plan written off to bad debt by platform staff: when, and how much was still owed. */
  writtenOffAt: string | null;
  writtenOffMinor: number | null;
  installments: InstallmentView[];
}

export interface QuoteView {
  financedMinor: number;
  currency: string;
  count: number;
  region: string;
  terms: RegionTerms;
  timeZone: string;
  totalFeeMinor: number;
  totalMinor: number;
  installments: { seq: number; dueAt: string; principalMinor: number; feeMinor: number; totalMinor: number }[];
}

export interface InstallmentsOptions {
  /** Payment providers and the rest of what the payments domain needs. */
  payments: PaymentDeps;
  /** The job queue the schedule goes to; absent, plans cannot be made (JOBS_UNAVAILABLE). */
  jobs?: JobEnqueuer | undefined;
  /** Terms per region (plan.ts DEFAULT_TERMS by default). */
  terms?: Readonly<Record<string, RegionTerms>> | undefined;
  now?: () => Date;
}

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());
const notFound = (id: string): Error => apiError('INSTALLMENT_PLAN_NOT_FOUND', undefined, { planId: id });

/**
 * The policy's views of a plan: the customer's side (their tenant, `ownerUserId` for `{ ownership:
 * 'booking' }` grants: `installment-plan` is in BOOKING_FAMILY) and the shop's (its tenant, its shop).
 */
export function planResources(principal: Principal, plan: PlanRow): Resource[] {
  const side = sideOf(principal, plan);
  const base = { type: 'installment-plan', id: plan.id, shopId: plan.partnerId, ownerUserId: plan.customerUserId };
  if (side === 'customer') return [{ ...base, tenantId: plan.customerTenantId }];
  if (side === 'shop') return [{ ...base, tenantId: plan.tenantId }];
  return [];
}

async function allowed(caller: InstallmentCaller, permission: string, plan: PlanRow): Promise<boolean> {
  for (const r of planResources(caller.principal, plan))
    if ((await caller.policy.decide(permission, r)).allow) return true;
  return false;
}

function view(plan: PlanRow, rows: readonly InstallmentRow[], now: Date): PlanView {
  const paid = rows.filter((i) => i.status === 'paid');
  return {
    id: plan.id,
    partnerId: plan.partnerId,
    customerTenantId: plan.customerTenantId,
    customerUserId: plan.customerUserId,
    repairOrderId: plan.repairOrderId,
    bookingId: plan.bookingId,
    provider: plan.provider,
    status: plan.status,
    closeReason: plan.closeReason,
    financedMinor: plan.financedMinor,
    totalFeeMinor: plan.totalFeeMinor,
    currency: plan.currency,
    count: plan.count,
    region: plan.region,
    terms: plan.terms,
    timeZone: plan.timeZone,
    startsAt: plan.startsAt.toISOString(),
    createdAt: plan.createdAt.toISOString(),
    closedAt: iso(plan.closedAt),
    paidMinor: paid.reduce((a, i) => a + amountDue(i), 0),
    payoffMinor: settleable(plan) ? payoffOf(plan, rows, now).amountMinor : null,
    writtenOffAt: iso(plan.writtenOffAt),
    writtenOffMinor: plan.writtenOffMinor,
    installments: rows.map((i) => ({
      id: i.id,
      seq: i.seq,
      dueAt: i.dueAt.toISOString(),
      principalMinor: i.principalMinor,
      feeMinor: i.feeMinor,
      feeWaivedMinor: i.feeWaivedMinor,
      lateFeeMinor: i.lateFeeMinor,
      totalMinor: amountDue(i),
      status: i.status,
      attempts: i.attempts,
      lastError: i.lastError,
      nextAttemptAt: iso(i.nextAttemptAt),
      paidAt: iso(i.paidAt),
      paymentId: i.paymentId,
    })),
  };
}

/** The region whose terms apply: the shop's address country, else its currency's, else `default`. */
export function regionOf(country: string | null, currency: string): string {
  if (country && /^[A-Z]{2}$/.test(country)) return country;
  return ({ EGP: 'EG', SAR: 'SA', AED: 'AE' } as Record<string, string>)[currency] ?? 'default';
}

interface Financed {
  tenantId: string;
  partnerId: string;
  customerTenantId: string;
  customerUserId: string | null;
  repairOrderId: string | null;
  bookingId: string | null;
  amountMinor: number;
  currency: string;
  region: string;
  timeZone: string;
}

/**
 * Installment plans (docs/installments.md): quote, create (first installment charged at once, the
 * rest scheduled on the job queue), list, read, pay off early. Plans are made by the customer (an
 * owner for themselves, a fleet for its organisation) for their own repair order's approved total or
 * booking's price; the shop's side reads them.
 */
export class InstallmentsService {
  private readonly now: () => Date;
  private readonly terms: Readonly<Record<string, RegionTerms>> | undefined;

  constructor(private readonly options: InstallmentsOptions) {
    this.now = options.now ?? (() => new Date());
    this.terms = options.terms;
  }

  /** The schedule a plan would have, without creating anything. */
  async quote(caller: InstallmentCaller, input: PlanRequest): Promise<QuoteView> {
    const customer = this.customerOf(caller.principal);
    await this.requireWrite(caller, customer);
    return caller.scope.run(async (q) => {
      const financed = await this.financed(q, caller, input);
      const { schedule, terms } = this.schedule(financed, input.count, this.now());
      return {
        financedMinor: schedule.financedMinor,
        currency: schedule.currency,
        count: schedule.count,
        region: terms.region,
        terms,
        timeZone: financed.timeZone,
        totalFeeMinor: schedule.totalFeeMinor,
        totalMinor: schedule.totalMinor,
        installments: schedule.installments.map((i) => ({ ...i, dueAt: i.dueAt.toISOString() })),
      };
    });
  }

  /**
   * Creates the plan, its installments, their jobs and the ledger's financing move in one
   * transaction, then charges the first installment at once. A declined first charge cancels the
   * plan (the financing is undone) and answers PROVIDER_DECLINED.
   */
  async create(caller: InstallmentCaller, input: CreatePlanRequest): Promise<PlanView> {
    const customer = this.customerOf(caller.principal);
    await this.requireWrite(caller, customer);
    const jobs = this.options.jobs;
    if (!jobs) throw apiError('JOBS_UNAVAILABLE', 'Installment plans need the job queue for their schedule');
    const now = this.now();
    const actor = actorOf(caller.principal);
    const created = await caller.scope.run(async (q) => {
      const financed = await this.financed(q, caller, input);
      const { schedule, terms } = this.schedule(financed, input.count, now);
      const repo = new InstallmentsRepository(q);
      const live = await q.query(
        `SELECT 1 FROM installment_plans
          WHERE status IN ('active', 'paid') AND (repair_order_id = $1 OR booking_id = $2) LIMIT 1`,
        [financed.repairOrderId, financed.bookingId],
      );
      if (live.rows.length > 0)
        throw apiError('INSTALLMENT_PLAN_EXISTS', 'This is already financed by an installment plan', {
          repairOrderId: financed.repairOrderId,
          bookingId: financed.bookingId,
        });
      const planId = await repo.insertPlan(
        {
          tenantId: financed.tenantId,
          partnerId: financed.partnerId,
          customerTenantId: financed.customerTenantId,
          customerUserId: financed.customerUserId,
          repairOrderId: financed.repairOrderId,
          bookingId: financed.bookingId,
          provider: input.provider,
          paymentMethod: input.paymentMethod,
          financedMinor: schedule.financedMinor,
          totalFeeMinor: schedule.totalFeeMinor,
          currency: schedule.currency,
          count: schedule.count,
          region: terms.region,
          terms,
          timeZone: financed.timeZone,
          startsAt: now,
          createdBy: actor,
        },
        schedule.installments,
      );
      const plan = (await repo.plan(planId))!;
      const rows = (await repo.installments([planId])).get(planId) ?? [];
      for (const row of rows) {
        const startAfter =
          row.seq === 1
            ? new Date(Math.max(row.dueAt.getTime(), now.getTime()) + FIRST_CHARGE_SAFETY_DELAY_MS)
            : row.dueAt;
        await jobs.enqueue(INSTALLMENT_CHARGE_QUEUE, { installmentId: row.id, attempt: 1 } satisfies ChargeJobData, {
          tx: q,
          startAfter,
          singletonKey: `${row.id}:1`,
        });
      }
      await books.planCreated(q, plan, plan.financedMinor);
      await announce(q, 'installment.updated', plan, 'active', now);
      return { plan, first: rows[0]! };
    });
    const outcome = await chargeInstallment(
      { caller, payments: this.options.payments, jobs, now: this.now },
      { installmentId: created.first.id, attempt: 1 },
      { first: true },
    );
    if (outcome.outcome === 'failed')
      throw apiError('PROVIDER_DECLINED', `The first installment was declined: ${outcome.error}`, {
        planId: created.plan.id,
        paymentId: outcome.paymentId,
      });
    return this.get(caller, created.plan.id);
  }

  async get(caller: InstallmentCaller, id: string): Promise<PlanView> {
    return caller.scope.run(async (q) => {
      const repo = new InstallmentsRepository(q);
      const plan = await repo.plan(id);
      if (!plan || !(await allowed(caller, 'payments:read', plan))) throw notFound(id);
      return view(plan, (await repo.installments([id])).get(id) ?? [], this.now());
    });
  }

  /** The caller's plans (row-level security: a customer's own, a shop's), each allowed by the policy. */
  async list(caller: InstallmentCaller, page: PageRequest): Promise<Page<PlanView>> {
    return caller.scope.run(async (q) => {
      const repo = new InstallmentsRepository(q);
      const found = await repo.list(page);
      const plans: PlanRow[] = [];
      for (const r of found.items) {
        const plan = InstallmentsRepository.toPlan(r);
        if (await allowed(caller, 'payments:read', plan)) plans.push(plan);
      }
      const rows = await repo.installments(plans.map((p) => p.id));
      const now = this.now();
      return { items: plans.map((p) => view(p, rows.get(p.id) ?? [], now)), next: found.next };
    });
  }

  /** Early payoff by the customer: charges the payoff amount now and closes the plan. */
  async payoff(caller: InstallmentCaller, id: string): Promise<PlanView> {
    const check = async (plan: PlanRow): Promise<void> => {
      if (!(await allowed(caller, 'payments:read', plan))) throw notFound(id);
      if (sideOf(caller.principal, plan) !== 'customer' || !(await allowed(caller, 'payments:write', plan)))
        throw apiError('FORBIDDEN', 'Only the customer pays off their installment plan', {
          requiredPermission: 'payments:write',
        });
      if (!settleable(plan))
        throw apiError('INSTALLMENT_PLAN_CLOSED', `The plan is ${plan.status}`, { status: plan.status });
    };
    let result;
    try {
      result = await payOff(
        { caller, payments: this.options.payments, jobs: this.options.jobs, now: this.now },
        id,
        check,
      );
    } catch (err) {
      if (err instanceof Error && err.message === 'no such plan') throw notFound(id);
      throw err;
    }
    if (result.outcome === 'failed')
      throw apiError('PROVIDER_DECLINED', `The payoff was declined: ${result.error}`, {
        planId: id,
        paymentId: result.paymentId,
      });
    return this.get(caller, id);
  }

  /** Platform staff write a defaulted plan off (`audited`: the staff member's audited scope). */
  async writeOff(audited: Scope, id: string, input: { reason: string; actor: string }): Promise<PlanView> {
    await writeOffPlan(audited, id, { ...input, now: this.now() });
    return audited.run(async (q) => {
      const repo = new InstallmentsRepository(q);
      return view((await repo.plan(id))!, (await repo.installments([id])).get(id) ?? [], this.now());
    });
  }

  /** Platform staff lift the suspension a defaulted plan caused (`audited`: their audited scope). */
  reinstate(audited: Scope, id: string, input: { reason: string }) {
    return reinstateCustomer(audited, id, input);
  }

  // ---------------------------------------------------------------------------------------------

  /** The customer a plan is for: the caller (owners and fleets finance their own work). */
  private customerOf(principal: Principal): { tenantId: string; userId: string | null } {
    if (principal.kind === 'admin')
      throw apiError('FORBIDDEN', 'Installment plans are made by the customer: sign in as the car owner or the fleet');
    return { tenantId: principal.tenantId, userId: principal.kind === 'user' ? principal.userId : null };
  }

  private async requireWrite(caller: InstallmentCaller, customer: { tenantId: string; userId: string | null }) {
    await caller.policy.require('payments:write', {
      type: 'installment-plan',
      id: 'new',
      tenantId: customer.tenantId,
      ownerUserId: customer.userId,
    });
  }

  private schedule(financed: Financed, count: number, now: Date): { schedule: PlanSchedule; terms: RegionTerms } {
    const terms = termsFor(financed.region, this.terms);
    try {
      const schedule = computeSchedule({
        financedMinor: financed.amountMinor,
        currency: financed.currency,
        count,
        terms,
        start: now,
        firstDueAt: now,
        timeZone: financed.timeZone,
      });
      return { schedule, terms };
    } catch (err) {
      if (err instanceof PlanInputError)
        throw apiError('INSTALLMENTS_NOT_AVAILABLE', err.message, { field: err.field, region: terms.region });
      throw err;
    }
  }

  /**
   * What is financed: the caller's own repair order's approved total (decided estimates) or booking's
   * price, read on the customer's side (row-level security: an owner sees only their own).
   */
  private async financed(q: Queryable, caller: InstallmentCaller, input: PlanRequest): Promise<Financed> {
    if ((input.repairOrderId === undefined) === (input.bookingId === undefined))
      throw apiError('VALIDATION_FAILED', 'Name either repairOrderId or bookingId');
    let record:
      | {
          tenantId: string;
          partnerId: string;
          customerTenantId: string;
          customerUserId: string | null;
          amountMinor: number | null;
          currency: string | null;
        }
      | undefined;
    if (input.repairOrderId !== undefined) {
      const { rows } = await q.query<{
        tenant_id: string;
        partner_id: string;
        customer_tenant_id: string;
        customer_user_id: string | null;
        approved: string | null;
        currency: string | null;
      }>(
        `SELECT r.tenant_id, r.partner_id, r.customer_tenant_id, r.customer_user_id,
                (SELECT sum(e.approved_total_minor) FROM estimates e
                  WHERE e.repair_order_id = r.id AND e.status = 'decided') AS approved,
                (SELECT min(e.currency) FROM estimates e WHERE e.repair_order_id = r.id AND e.status = 'decided') AS currency
           FROM repair_orders r WHERE r.id = $1`,
        [input.repairOrderId],
      );
      const r = rows[0];
      if (r)
        record = {
          tenantId: r.tenant_id,
          partnerId: r.partner_id,
          customerTenantId: r.customer_tenant_id,
          customerUserId: r.customer_user_id,
          amountMinor: r.approved === null ? null : Number(r.approved),
          currency: r.currency,
        };
    } else {
      const { rows } = await q.query<{
        tenant_id: string;
        partner_id: string;
        customer_tenant_id: string;
        customer_user_id: string | null;
        price_minor: number | null;
        currency: string;
        status: string;
      }>(
        `SELECT tenant_id, partner_id, customer_tenant_id, customer_user_id, price_minor, currency, status
           FROM bookings WHERE id = $1`,
        [input.bookingId],
      );
      const b = rows[0];
      if (b && ['requested', 'confirmed'].includes(b.status))
        record = {
          tenantId: b.tenant_id,
          partnerId: b.partner_id,
          customerTenantId: b.customer_tenant_id,
          customerUserId: b.customer_user_id,
          amountMinor: b.price_minor === null ? null : Number(b.price_minor),
          currency: b.currency,
        };
      else if (b)
        throw apiError('INSTALLMENTS_NOT_AVAILABLE', `A ${b.status} booking cannot be financed`, { status: b.status });
    }
    const missing = (): Error =>
      input.repairOrderId !== undefined
        ? apiError('REPAIR_ORDER_NOT_FOUND', undefined, { repairOrderId: input.repairOrderId })
        : apiError('BOOKING_NOT_FOUND', undefined, { bookingId: input.bookingId });
    // Only the customer's own records: the shop's side (or anyone else) never finances them.
    if (!record || sideOf(caller.principal, record) !== 'customer') throw missing();
    if (record.amountMinor === null || record.amountMinor <= 0 || record.currency === null)
      throw apiError(
        'INSTALLMENTS_NOT_AVAILABLE',
        input.repairOrderId !== undefined
          ? 'The repair order has no approved estimate to finance'
          : 'The booking has no fixed price to finance',
      );
    const shop = await q.query<{ country: string | null; time_zone: string }>(
      `SELECT upper(address->>'country') AS country, time_zone FROM partners WHERE id = $1`,
      [record.partnerId],
    );
    const user =
      record.customerUserId === null
        ? []
        : (await q.query<{ time_zone: string }>(`SELECT time_zone FROM users WHERE id = $1`, [record.customerUserId]))
            .rows;
    const zone = [user[0]?.time_zone, shop.rows[0]?.time_zone, 'UTC'].find((z) => z !== undefined && isTimeZone(z))!;
    const currency = record.currency.trim();
    return {
      tenantId: record.tenantId,
      partnerId: record.partnerId,
      customerTenantId: record.customerTenantId,
      customerUserId: record.customerUserId,
      repairOrderId: input.repairOrderId ?? null,
      bookingId: input.bookingId ?? null,
      amountMinor: record.amountMinor,
      currency,
      region: regionOf(shop.rows[0]?.country ?? null, currency),
      timeZone: zone,
    };
  }
}
