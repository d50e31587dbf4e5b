import { z } from 'zod';
import { actorOf } from '../auth/scope.js';
import { requireRecentMfa } from '../auth/step-up.js';
import { marketplaceScope } from '../bookings/access.js';
import { pageParams } from '../http/pagination.js';
import type { ApiRouter, RouteRequest } from '../http/route.js';
import { uuid } from '../shared/schemas.js';
import { PLANS_LISTING } from './repository.js';
import type { InstallmentCaller, InstallmentsService } from './service.js';

const callerOf = (r: RouteRequest<unknown, unknown, unknown>): InstallmentCaller => ({
  scope: marketplaceScope(r),
  principal: r.principal,
  policy: r.policy,
});

const termsView = z
  .object({
    region: z.string(),
    currencies: z.array(z.string()).nullable(),
    counts: z.array(z.number().int()),
    pricing: z.union([
      z.object({ kind: z.literal('flat_fee'), feeBps: z.number().int() }),
      z.object({ kind: z.literal('apr'), aprBps: z.number().int() }),
    ]),
    minFinancedMinor: z.number().int(),
    maxFinancedMinor: z.number().int(),
    lateFee: z.union([
      z.object({ kind: z.literal('fixed'), amountMinor: z.number().int() }),
      z.object({ kind: z.literal('percent'), bps: z.number().int(), capMinor: z.number().int() }),
    ]),
    dunning: z.object({ retryAfterDays: z.array(z.number().int()), graceDays: z.number().int() }),
  })
  .describe("The region's terms the plan was made under (example terms; docs/installments.md)");

const installmentView = z.object({
  id: z.string(),
  seq: z.number().int(),
  dueAt: z.string(),
  principalMinor: z.number().int(),
  feeMinor: z.number().int().describe('Fee or interest of its period'),
  feeWaivedMinor: z.number().int().describe('Fee not owed because the plan was paid off early'),
  lateFeeMinor: z.number().int(),
  totalMinor: z.number().int().describe('What it asks for: principal + fee - waived + late fee'),
  status: z.enum(['scheduled', 'paid', 'failed', 'late', 'waived']),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
  paidAt: z.string().nullable(),
  paymentId: z.string().nullable(),
});

const planView = z.object({
  id: z.string(),
  partnerId: z.string(),
  customerTenantId: z.string(),
  customerUserId: z.string().nullable(),
  repairOrderId: z.string().nullable(),
  bookingId: z.string().nullable(),
  provider: z.string(),
  status: z.enum(['active', 'paid', 'defaulted', 'cancelled']),
  closeReason: z.string().nullable(),
  financedMinor: z.number().int(),
  totalFeeMinor: z.number().int(),
  currency: z.string(),
  count: z.number().int(),
  region: z.string(),
  terms: termsView,
  timeZone: z.string(),
  startsAt: z.string(),
  createdAt: z.string(),
  closedAt: z.string().nullable(),
  paidMinor: z.number().int(),
  payoffMinor: z
    .number()
    .int()
    .nullable()
    .describe('What paying off now costs (a defaulted plan: all still owed); null once it cannot be paid off'),
  writtenOffAt: z.string().nullable().describe('Set when platform staff wrote the defaulted plan off to bad debt'),
  writtenOffMinor: z.number().int().nullable().describe('What was still owed when it was written off'),
  installments: z.array(installmentView),
});

const quoteView = z.object({
  financedMinor: z.number().int(),
  currency: z.string(),
  count: z.number().int(),
  region: z.string(),
  terms: termsView,
  timeZone: z.string(),
  totalFeeMinor: z.number().int(),
  totalMinor: z.number().int(),
  installments: z.array(
    z.object({
      seq: z.number().int(),
      dueAt: z.string(),
      principalMinor: z.number().int(),
      feeMinor: z.number().int(),
      totalMinor: z.number().int(),
    }),
  ),
});

const financedRecord = {
  repairOrderId: uuid.optional().describe("Your repair order: its approved estimates' total is financed"),
  bookingId: uuid.optional().describe('Your booking: its fixed price is financed'),
  count: z.number().int().min(1).max(60).describe("Number of monthly installments the region's terms offer (3, 6, 12)"),
};
const oneRecord = (b: { repairOrderId?: string | undefined; bookingId?: string | undefined }): boolean =>
  (b.repairOrderId === undefined) !== (b.bookingId === undefined);
const oneRecordMessage = { message: 'needs exactly one of repairOrderId and bookingId' };

const ERRORS = ['REPAIR_ORDER_NOT_FOUND', 'BOOKING_NOT_FOUND', 'INSTALLMENTS_NOT_AVAILABLE'] as const;

export function installmentRoutes(router: ApiRouter, plans: InstallmentsService): void {
  router.route({
    method: 'post',
    path: '/payments/installments/quote',
    tag: 'installments',
    summary: 'The schedule an installment plan would have (due dates, principal, fees, total cost); creates nothing',
    access: { permission: 'payments:write', perResource: 'service' },
    body: z.strictObject(financedRecord).refine(oneRecord, oneRecordMessage),
    response: { status: 200, description: 'The schedule', schema: quoteView },
    errors: [...ERRORS],
    handle: (r) => plans.quote(callerOf(r), r.body),
  });

  router.route({
    method: 'post',
    path: '/payments/installments',
    tag: 'installments',
    summary:
      'Finance your repair order or booking in monthly installments: the first is charged at once, the rest on their due dates',
    access: { permission: 'payments:write', perResource: 'service' },
    body: z
      .strictObject({
        ...financedRecord,
        provider: z.enum(['stripe', 'paypal']),
        paymentMethod: z
          .string()
          .min(1)
          .max(200)
          .regex(/^[A-Za-z0-9_-]+$/, { error: 'must be a saved payment method reference like pm_...' })
          .describe('A saved payment method (Stripe pm_...), charged off-session on each due date'),
      })
      .refine(oneRecord, oneRecordMessage),
    response: { status: 201, description: 'The plan with its schedule', schema: planView },
    errors: [
      ...ERRORS,
      'INSTALLMENT_PLAN_EXISTS',
      'PROVIDER_DECLINED',
      'PROVIDER_UNAVAILABLE',
      'JOBS_UNAVAILABLE',
      'RISK_BLOCKED',
    ],
    handle: (r) => plans.create(callerOf(r), r.body),
  });

  router.route({
    method: 'get',
    path: '/payments/installments',
    tag: 'installments',
    summary: "Your installment plans: a customer's own, a shop's customers'",
    access: { permission: 'payments:read', perResource: 'service' },
    query: z.object({ ...pageParams(PLANS_LISTING) }),
    response: {
      status: 200,
      description: 'Plans, newest first; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ plans: z.array(planView), next: z.string().nullable() }),
    },
    handle: async (r) => {
      const page = await plans.list(callerOf(r), r.query);
      return { plans: page.items, next: page.next };
    },
  });

  router.route({
    method: 'get',
    path: '/payments/installments/:id',
    tag: 'installments',
    summary: 'One installment plan with its schedule and what paying it off now costs',
    access: { permission: 'payments:read', perResource: 'service' },
    params: z.object({ id: uuid }),
    response: { status: 200, description: 'The plan', schema: planView },
    errors: ['INSTALLMENT_PLAN_NOT_FOUND'],
    handle: (r) => plans.get(callerOf(r), r.params.id),
  });

  router.route({
    method: 'post',
    path: '/payments/installments/:id/payoff',
    tag: 'installments',
    summary:
      'Pay the plan off early: the remaining principal plus the fees accrued to date (no future interest), charged now. ' +
      'A defaulted plan (not written off) is paid the same way, which lifts the suspension its default caused',
    access: { permission: 'payments:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    response: { status: 200, description: 'The paid plan', schema: planView },
    errors: ['INSTALLMENT_PLAN_NOT_FOUND', 'INSTALLMENT_PLAN_CLOSED', 'PROVIDER_DECLINED', 'PROVIDER_UNAVAILABLE'],
    handle: (r) => plans.payoff(callerOf(r), r.params.id),
  });

  const staffReason = z.strictObject({ reason: z.string().trim().min(1).max(500) });

  // Platform staff only: `scope.audited` refuses a partner admin (who holds payments:refund for its own
  // organisation), and the audit row is asked for before the second factor is checked.
  const staffStepUp = (r: RouteRequest<{ id: string }, unknown, { reason: string }>, action: string) => {
    const audited = r.scope.audited({ ip: r.ctx.ip, action, target: r.params.id, detail: { reason: r.body.reason } });
    requireRecentMfa(r.principal);
    return audited;
  };

  router.route({
    method: 'post',
    path: '/payments/installments/:id/write-off',
    tag: 'installments',
    summary:
      "Write a defaulted plan's receivable off to bad debt (platform staff; a recent second factor; written to the audit log)",
    description:
      'What the customer still owes on the plan is booked bad_debt -> installment_receivable (an expense); its open installments ' +
      'are waived and no longer charged. The suspension stays (see reinstate). Repeating it changes nothing.',
    access: { permission: 'payments:refund' },
    params: z.object({ id: uuid }),
    body: staffReason,
    response: { status: 200, description: 'The written-off plan', schema: planView },
    errors: ['MFA_STEP_UP_REQUIRED', 'INSTALLMENT_PLAN_NOT_FOUND', 'INSTALLMENT_PLAN_NOT_DEFAULTED'],
    handle: (r) => {
      const audited = staffStepUp(r, 'installment-plan.write-off');
      return plans.writeOff(audited, r.params.id, { reason: r.body.reason, actor: actorOf(r.principal) });
    },
  });

  router.route({
    method: 'post',
    path: '/payments/installments/:id/reinstate',
    tag: 'installments',
    summary:
      'Lift the suspension a defaulted plan caused (platform staff; a recent second factor; written to the audit log)',
    access: { permission: 'payments:refund' },
    params: z.object({ id: uuid }),
    body: staffReason,
    response: {
      status: 200,
      description: 'Whether a suspension by this plan was lifted (false: there was none)',
      schema: z.object({
        planId: z.string(),
        customerTenantId: z.string(),
        customerUserId: z.string().nullable(),
        lifted: z.boolean(),
      }),
    },
    errors: ['MFA_STEP_UP_REQUIRED', 'INSTALLMENT_PLAN_NOT_FOUND', 'INSTALLMENT_PLAN_NOT_DEFAULTED'],
    handle: (r) => {
      const audited = staffStepUp(r, 'installment-plan.reinstate');
      return plans.reinstate(audited, r.params.id, { reason: r.body.reason });
    },
  });
}
