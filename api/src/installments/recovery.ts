import type { Scope } from '../auth/scope.js';
import { apiError } from '../errors.js';
import { books, planOutstanding } from './books.js';
import { announce } from './collect.js';
import { InstallmentsRepository, type PlanRow } from './repository.js';

/**
 * What platform staff do after a default (docs/installments.md, "After a default"). Both run in the
 * staff member's audited system scope (the route asked for a recent second factor), so the audit
 * row commits with the change, and both are safe to repeat.
 */

const notFound = (id: string): Error => apiError('INSTALLMENT_PLAN_NOT_FOUND', undefined, { planId: id });

function requireDefaulted(plan: PlanRow): void {
  if (plan.status !== 'defaulted')
    throw apiError('INSTALLMENT_PLAN_NOT_DEFAULTED', `The plan is ${plan.status}; only a defaulted plan is`, {
      status: plan.status,
    });
}

/**
 * Writes a defaulted plan's receivable off: what the customer still owes on it moves
 * bad_debt -> installment_receivable, debit -> credit (one transfer, id from the plan: a repeat moves nothing), its
 * open installments are waived (no more dunning) and the plan is marked written off, by whom and
 * why. The suspension stays: lifting it is a decision of its own (`reinstate`).
 */
export async function writeOffPlan(
  audited: Scope,
  planId: string,
  input: { reason: string; actor: string; now: Date },
): Promise<{ writtenOffMinor: number }> {
  return audited.run(async (q) => {
    const repo = new InstallmentsRepository(q);
    const plan = await repo.plan(planId, true);
    if (!plan) throw notFound(planId);
    if (plan.writtenOffAt !== null) return { writtenOffMinor: plan.writtenOffMinor ?? 0 };
    requireDefaulted(plan);
    const owed = await planOutstanding(q, plan);
    await books.writtenOff(q, plan, owed);
    await repo.writeOff(plan.id, {
      amountMinor: Math.max(owed, 0),
      by: input.actor,
      reason: input.reason,
      at: input.now,
    });
    await announce(q, 'installment.updated', plan, 'defaulted', input.now);
    return { writtenOffMinor: Math.max(owed, 0) };
  });
}

/**
 * Lifts the suspension a defaulted plan caused, by hand (a settlement agreed outside the app, a
 * mistake). Answers the customer's standing afterwards; a customer not suspended by this plan is
 * left as is (`lifted: false`).
 */
export async function reinstateCustomer(
  audited: Scope,
  planId: string,
  input: { reason: string },
): Promise<{ planId: string; customerTenantId: string; customerUserId: string | null; lifted: boolean }> {
  return audited.run(async (q) => {
    const repo = new InstallmentsRepository(q);
    const plan = await repo.plan(planId, true);
    if (!plan) throw notFound(planId);
    if (plan.status !== 'defaulted' && plan.status !== 'paid') requireDefaulted(plan);
    const lifted = await repo.liftSuspension(plan.id, `lifted by platform staff: ${input.reason}`);
    return { planId: plan.id, customerTenantId: plan.customerTenantId, customerUserId: plan.customerUserId, lifted };
  });
}
