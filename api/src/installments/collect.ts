import { ClutchError } from '@clutch/contracts';
import type { Queryable } from '@clutch/db';
import { appendEvent } from '@clutch/jobs';
import type { JobEnqueuer } from '../ai/retrain-jobs.js';
import type { PaymentDeps } from '../payments/deps.js';
import { startPayment, type PaymentCaller, type PaymentView } from '../payments/service.js';
import { books } from './books.js';
import { attemptAt, lateFee, pastGrace, payoffAmount, type Payoff } from './plan.js';
import { InstallmentsRepository, type InstallmentRow, type PlanRow } from './repository.js';

/**
 * Charging installments (docs/installments.md "Schedule" and "Dunning"). Every charge is three steps:
 * prepare (lock, decide, add a late fee once past the grace period), charge through the payments
 * domain with an idempotency key derived from the installment and the attempt number, record (lock
 * again, apply the outcome once). A crash between the steps is repaired by running the same attempt
 * again: the payments domain answers the same key with the same payment, and the record step applies
 * only an attempt not yet recorded. Money moves through the ledger with derived transfer ids.
 */

/** The job queue of installment charges; its data says which attempt to make. */
export const INSTALLMENT_CHARGE_QUEUE = 'installments.charge';

/**
 * Settings of that queue. A job that throws (provider unreachable, payment still pending) is retried
 * by the queue with the same attempt number, so with the same idempotency key.
 */
export const INSTALLMENT_CHARGE_SETTINGS = {
  concurrency: 2,
  retryLimit: 8,
  retryDelay: 60,
  retryBackoff: true,
  retryDelayMax: 3600,
  expireIn: 300,
} as const;

/** The first installment's job is a safety net: the request charges it at once; the job acts only if that request died. */
export const FIRST_CHARGE_SAFETY_DELAY_MS = 15 * 60_000;

export interface ChargeJobData {
  installmentId: string;
  /** 1: on the due date; 2..: the dunning retries. */
  attempt: number;
}

export const ACTOR = 'system:installments';

export type EventTopic = 'installment.updated' | 'installment.defaulted';

/** Appends an installment event; tenant = the customer's (the plan's payer), so it is allowed from their transaction too. */
export async function announce(
  q: Queryable,
  topic: EventTopic,
  plan: PlanRow,
  planStatus: string,
  at: Date,
  installment?: { id: string; seq: number; status: string; amountMinor?: number | undefined },
): Promise<void> {
  await appendEvent(q, {
    tenantId: plan.customerTenantId,
    topic,
    payload: {
      planId: plan.id,
      planStatus,
      partnerId: plan.partnerId,
      shopTenantId: plan.tenantId,
      customerTenantId: plan.customerTenantId,
      customerUserId: plan.customerUserId,
      currency: plan.currency,
      ...(installment
        ? {
            installmentId: installment.id,
            seq: installment.seq,
            status: installment.status,
            ...(installment.amountMinor !== undefined ? { amountMinor: installment.amountMinor } : {}),
          }
        : {}),
      at: at.toISOString(),
    },
  });
}

/** What an installment asks for now: principal, fee (less any waived part) and its late fee. */
export const amountDue = (i: InstallmentRow): number =>
  i.principalMinor + i.feeMinor - i.feeWaivedMinor + i.lateFeeMinor;

export type ChargeOutcome =
  | { outcome: 'paid'; paymentId: string }
  | { outcome: 'failed'; paymentId: string | null; error: string }
  | { outcome: 'skipped'; why: string };

/** How a charge went, read from the payments domain's answer (or its decline). */
type ChargeResult = { paid: true; payment: PaymentView } | { paid: false; paymentId: string | null; error: string };

/** Charges through the payments domain; a decline is an outcome, anything else (unreachable, pending) throws. */
async function charge(
  caller: PaymentCaller,
  deps: PaymentDeps,
  plan: PlanRow,
  input: { amountMinor: number; idempotencyKey: string; installmentId?: string | undefined; description: string },
): Promise<ChargeResult> {
  let payment: PaymentView;
  try {
    payment = await startPayment(caller, deps, {
      purpose: 'installment',
      provider: plan.provider,
      amountMinor: input.amountMinor,
      currency: plan.currency,
      capture: 'automatic',
      paymentMethod: plan.paymentMethod,
      installmentId: input.installmentId,
      partnerId: plan.partnerId,
      customerTenantId: plan.customerTenantId,
      customerUserId: plan.customerUserId,
      idempotencyKey: input.idempotencyKey,
      description: input.description,
    });
  } catch (err) {
    if (err instanceof ClutchError && err.code === 'PROVIDER_DECLINED') {
      const details = (err as { details?: Record<string, unknown> }).details;
      const paymentId = typeof details?.paymentId === 'string' ? details.paymentId : null;
      const code = typeof details?.declineCode === 'string' ? `${details.declineCode}: ` : '';
      return { paid: false, paymentId, error: `${code}${err.message}`.slice(0, 500) };
    }
    throw err;
  }
  if (payment.status === 'captured') return { paid: true, payment };
  if (['failed', 'cancelled', 'requires_action'].includes(payment.status))
    return { paid: false, paymentId: payment.id, error: (payment.failureCode ?? payment.status).slice(0, 500) };
  // pending / authorized: the provider has not decided yet. The same attempt runs again later (same key).
  throw new Error(`installment payment ${payment.id} is still ${payment.status}`);
}

/** Where an attempt's transactions run: the customer's request scope (the first charge) or the system's. */
export interface AttemptContext {
  caller: PaymentCaller;
  payments: PaymentDeps;
  jobs?: JobEnqueuer | undefined;
  now: () => Date;
}

/**
 * Makes attempt `attempt` of an installment (the job's handler; the plan's creation for the first).
 * `first`: a failure cancels the plan instead of scheduling a retry (nothing was financed yet).
 */
export async function chargeInstallment(
  ctx: AttemptContext,
  data: ChargeJobData,
  options: { first?: boolean } = {},
): Promise<ChargeOutcome> {
  const { caller } = ctx;
  const now = ctx.now();
  const prepared = await caller.scope.run(async (q) => {
    const repo = new InstallmentsRepository(q);
    const found = await repo.lockInstallment(data.installmentId);
    const skip = (why: string): { skip: string } => ({ skip: why });
    if (!found) return skip('no such installment');
    const { plan, installment } = found;
    if (plan.status !== 'active') return skip(`the plan is ${plan.status}`);
    if (installment.status === 'paid' || installment.status === 'waived')
      return skip(`the installment is ${installment.status}`);
    if (installment.attempts >= data.attempt) return skip(`attempt ${data.attempt} was made already`);
    if (plan.payoffKey !== null) throw new Error(`plan ${plan.id} is being paid off; the charge waits`);
    // Past the grace period and still unpaid: late, with the late fee added once.
    if (data.attempt > 1 && installment.lateAt === null && pastGrace(installment.dueAt, now, plan.terms.dunning)) {
      const fee = lateFee(plan.terms.lateFee, installment.principalMinor + installment.feeMinor);
      await repo.updateInstallment(installment.id, { status: 'late', lateAt: now, lateFeeMinor: fee });
      await books.lateFee(q, plan, installment.id, fee);
      const late = { ...installment, status: 'late' as const, lateAt: now, lateFeeMinor: fee };
      await announce(q, 'installment.updated', plan, plan.status, now, { ...late, amountMinor: amountDue(late) });
      return { plan, installment: late };
    }
    return { plan, installment };
  });
  if ('skip' in prepared) return { outcome: 'skipped', why: prepared.skip };
  const { plan, installment } = prepared;
  const result = await charge(caller, ctx.payments, plan, {
    amountMinor: amountDue(installment),
    idempotencyKey: `installment:${installment.id}:${data.attempt}`,
    installmentId: installment.id,
    description: `Installment ${installment.seq} of ${plan.count}`,
  });
  return caller.scope.run(async (q) => {
    const repo = new InstallmentsRepository(q);
    const found = await repo.lockInstallment(data.installmentId);
    if (!found) return { outcome: 'skipped', why: 'no such installment' } as const;
    const current = found.installment;
    if (current.attempts >= data.attempt || current.status === 'paid')
      return { outcome: 'skipped', why: `attempt ${data.attempt} was recorded already` } as const;
    const at = ctx.now();
    if (result.paid) {
      await recordPaid(q, found.plan, current, result.payment, data.attempt, at);
      return { outcome: 'paid', paymentId: result.payment.id } as const;
    }
    await recordFailed(q, ctx, found.plan, current, data.attempt, result, at, options.first ?? false);
    return { outcome: 'failed', paymentId: result.paymentId, error: result.error } as const;
  });
}

async function recordPaid(
  q: Queryable,
  plan: PlanRow,
  installment: InstallmentRow,
  payment: PaymentView,
  attempt: number,
  at: Date,
): Promise<void> {
  const repo = new InstallmentsRepository(q);
  await repo.updateInstallment(installment.id, {
    status: 'paid',
    attempts: attempt,
    paidAt: at,
    paymentId: payment.id,
    lastError: null,
    nextAttemptAt: null,
  });
  await books.feeEarned(q, plan, installment.id, installment.feeMinor - installment.feeWaivedMinor);
  await books.collected(q, plan, payment.id, payment.capturedMinor || payment.amountMinor);
  await announce(q, 'installment.updated', plan, plan.status, at, {
    id: installment.id,
    seq: installment.seq,
    status: 'paid',
    amountMinor: payment.capturedMinor || payment.amountMinor,
  });
  const open = await q.query(
    `SELECT 1 FROM installments WHERE plan_id = $1 AND status NOT IN ('paid', 'waived') LIMIT 1`,
    [plan.id],
  );
  if (open.rows.length === 0) {
    await repo.closePlan(plan.id, 'paid', 'paid', at);
    await announce(q, 'installment.updated', plan, 'paid', at);
  }
}

async function recordFailed(
  q: Queryable,
  ctx: AttemptContext,
  plan: PlanRow,
  installment: InstallmentRow,
  attempt: number,
  result: { paymentId: string | null; error: string },
  at: Date,
  first: boolean,
): Promise<void> {
  const repo = new InstallmentsRepository(q);
  const status = installment.lateAt !== null ? 'late' : 'failed';
  if (first) {
    // The first charge failed at the plan's creation: nothing is financed. Undo the plan.
    await repo.updateInstallment(installment.id, { attempts: attempt, lastError: result.error, nextAttemptAt: null });
    await q.query(
      `UPDATE installments SET status = 'waived', next_attempt_at = NULL, updated_at = now()
        WHERE plan_id = $1 AND status <> 'paid'`,
      [plan.id],
    );
    await books.planUndone(q, plan, plan.financedMinor);
    await repo.closePlan(plan.id, 'cancelled', 'first_charge_failed', at);
    await announce(q, 'installment.updated', plan, 'cancelled', at);
    return;
  }
  const next = attemptAt(installment.dueAt, attempt + 1, plan.terms.dunning);
  await repo.updateInstallment(installment.id, {
    status,
    attempts: attempt,
    lastError: result.error,
    nextAttemptAt: next,
  });
  if (next) {
    if (!ctx.jobs) throw new Error('installment retries need the job queue');
    await ctx.jobs.enqueue(
      INSTALLMENT_CHARGE_QUEUE,
      { installmentId: installment.id, attempt: attempt + 1 } satisfies ChargeJobData,
      { tx: q, startAfter: next, singletonKey: `${installment.id}:${attempt + 1}` },
    );
    await announce(q, 'installment.updated', plan, plan.status, at, { ...installment, status });
    return;
  }
  // The last retry failed: the plan is in default, the customer suspended.
  await repo.closePlan(plan.id, 'defaulted', 'defaulted', at);
  await repo.suspend(
    plan.customerTenantId,
    plan.customerUserId,
    plan.id,
    `installment plan ${plan.id} defaulted: installment ${installment.seq} unpaid after ${attempt} attempts`,
  );
  await announce(q, 'installment.updated', plan, 'defaulted', at, { ...installment, status });
  await announce(q, 'installment.defaulted', plan, 'defaulted', at, {
    ...installment,
    status,
    amountMinor: amountDue(installment),
  });
}

/**
 * Whether the customer can pay the plan off: an active plan early, or a defaulted one (everything
 * still owed, which lifts the suspension) unless platform staff wrote it off.
 */
export const settleable = (plan: Pick<PlanRow, 'status' | 'writtenOffAt'>): boolean =>
  plan.status === 'active' || (plan.status === 'defaulted' && plan.writtenOffAt === null);

/** The payoff of a plan at `at` (from its rows). */
export function payoffOf(plan: PlanRow, installments: readonly InstallmentRow[], at: Date): Payoff {
  return payoffAmount(
    plan.startsAt,
    installments.map((i) => ({
      seq: i.seq,
      dueAt: i.dueAt,
      principalMinor: i.principalMinor,
      feeMinor: i.feeMinor - i.feeWaivedMinor,
      lateFeeMinor: i.lateFeeMinor,
      settled: i.status === 'paid' || i.status === 'waived',
    })),
    at,
  );
}

/**
 * Early payoff: charges what payoffOf says at this moment (remaining principal, fees of periods
 * begun, late fees) and closes the plan; fees of later periods are waived. The payoff's key and amount
 * are stored before the charge, so a retry after a crash charges the same key again (same payment).
 * A decline leaves the plan as it was (PROVIDER_DECLINED).
 */
export async function payOff(
  ctx: AttemptContext,
  planId: string,
  check: (plan: PlanRow) => Promise<void>,
): Promise<{ outcome: 'paid'; paymentId: string } | { outcome: 'failed'; error: string; paymentId: string | null }> {
  const { caller } = ctx;
  const started = await caller.scope.run(async (q) => {
    const repo = new InstallmentsRepository(q);
    const plan = await repo.plan(planId, true);
    if (!plan) return undefined;
    await check(plan);
    if (plan.payoffKey !== null && plan.payoffAmountMinor !== null)
      return { plan, key: plan.payoffKey, amountMinor: plan.payoffAmountMinor, at: plan.payoffAt! };
    if (!settleable(plan)) return { plan, key: null, amountMinor: 0, at: ctx.now() };
    const at = ctx.now();
    const rows = (await repo.installments([plan.id])).get(plan.id) ?? [];
    const payoff = payoffOf(plan, rows, at);
    const key = `installment-payoff:${plan.id}:${plan.payoffAttempts + 1}`;
    await repo.startPayoff(plan.id, key, payoff.amountMinor, at);
    return { plan, key, amountMinor: payoff.amountMinor, at };
  });
  if (!started) throw new Error('no such plan');
  if (started.key === null) return { outcome: 'failed', error: `the plan is ${started.plan.status}`, paymentId: null };
  const result = await charge(caller, ctx.payments, started.plan, {
    amountMinor: started.amountMinor,
    idempotencyKey: started.key,
    description: `Early payoff of installment plan ${started.plan.id}`,
  });
  return caller.scope.run(async (q) => {
    const repo = new InstallmentsRepository(q);
    const plan = await repo.plan(planId, true);
    if (!plan || plan.payoffKey !== started.key) {
      // Recorded already (a concurrent retry of the same payoff).
      return result.paid
        ? { outcome: 'paid', paymentId: result.payment.id }
        : { outcome: 'failed', error: result.error, paymentId: result.paymentId };
    }
    await repo.endPayoff(plan.id);
    if (!result.paid) {
      await announce(q, 'installment.updated', plan, plan.status, ctx.now());
      return { outcome: 'failed', error: result.error, paymentId: result.paymentId };
    }
    const rows = (await repo.installments([plan.id])).get(plan.id) ?? [];
    // The payoff as it was computed when the charge started (the amount charged).
    const payoff = payoffOf(plan, rows, started.at);
    const bySeq = new Map(payoff.lines.map((l) => [l.seq, l]));
    const at = ctx.now();
    for (const row of rows) {
      const line = bySeq.get(row.seq);
      if (!line) continue;
      await repo.updateInstallment(row.id, {
        status: 'paid',
        paidAt: at,
        paymentId: result.payment.id,
        feeWaivedMinor: row.feeWaivedMinor + line.feeWaivedMinor,
        nextAttemptAt: null,
      });
      await books.feeEarned(q, plan, row.id, line.feeMinor);
    }
    await books.collected(q, plan, result.payment.id, result.payment.capturedMinor || result.payment.amountMinor);
    if (plan.status === 'defaulted') {
      // Everything owed is paid: the plan is paid after all, and the suspension it caused lifted.
      await repo.settleDefaulted(plan.id, at);
      await repo.restoreStanding(plan.id);
    } else await repo.closePlan(plan.id, 'paid', 'payoff', at);
    await announce(q, 'installment.updated', plan, 'paid', at);
    return { outcome: 'paid', paymentId: result.payment.id };
  });
}
