import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { requireRecentMfa } from '../auth/step-up.js';
import { marketplaceScope } from '../bookings/access.js';
import { riskContextOf } from '../fraud/request-context.js';
import { pageParams } from '../http/pagination.js';
import type { ApiRouter, RouteRequest } from '../http/route.js';
import { commaList, uuid } from '../shared/schemas.js';
import type { ReconciliationsService } from './reconcile.js';
import { PAYMENTS_LISTING } from './repository.js';
import type { PaymentsService } from './service.js';
import { PAYMENT_STATUSES } from './states.js';
import type { PaymentCaller, PaymentStatus } from './types.js';

const callerOf = (r: RouteRequest<unknown, unknown, unknown>): PaymentCaller => ({
  scope: marketplaceScope(r),
  principal: r.principal,
  policy: r.policy,
  request: riskContextOf(r.ctx),
});

/** The caller's Idempotency-Key (the route wrapper also replays the stored answer), else a fresh one. */
const keyOf = (r: RouteRequest<unknown, unknown, unknown>): string => r.ctx.get('Idempotency-Key') || randomUUID();

const currency = z
  .string()
  .regex(/^[A-Za-z]{3}$/, { error: 'must be an ISO 4217 code like EGP' })
  .transform((c) => c.toUpperCase());
const minor = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const paymentViewSchema = z.object({
  id: z.string(),
  purpose: z.enum(['booking', 'repair', 'wallet_topup', 'installment', 'late_fee']),
  provider: z.enum(['stripe', 'paypal', 'cash', 'wallet']),
  providerRef: z.string().nullable().describe('Stripe `pi_...`, PayPal order id; null before the provider answered'),
  status: z.enum(PAYMENT_STATUSES as [string, ...string[]]),
  amountMinor: z.number().int().describe('Authorised (asked), in minor units'),
  capturedMinor: z.number().int(),
  refundedMinor: z.number().int(),
  commissionMinor: z.number().int(),
  currency: z.string(),
  bookingId: z.string().nullable(),
  repairOrderId: z.string().nullable(),
  installmentId: z.string().nullable(),
  partnerId: z.string().nullable(),
  customerTenantId: z.string(),
  customerUserId: z.string().nullable(),
  authorizationExpiresAt: z.string().nullable().describe('When an uncaptured hold would lapse at the provider'),
  failureCode: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  clientSecret: z
    .string()
    .optional()
    .describe("Stripe: for the browser's card step; only in the answer that created it"),
  approvalUrl: z.string().optional().describe('PayPal: where the payer approves'),
});

const mismatch = z.object({
  kind: z.enum(['missing_ours', 'missing_provider', 'amount_differs']),
  ref: z.string(),
  ourMinor: z.number().int().nullable(),
  providerMinor: z.number().int().nullable(),
  currency: z.string(),
});

const reconciliationSchema = z.object({
  id: z.string(),
  provider: z.string(),
  from: z.string(),
  to: z.string(),
  status: z.enum(['balanced', 'mismatched', 'skipped']),
  providerTransactions: z.number().int(),
  matched: z.number().int(),
  mismatches: z.array(mismatch),
  createdAt: z.string(),
});

const payments = z.object({ payments: z.array(paymentViewSchema), nextCursor: z.string().nullable() });

const CONFLICTS = ['PAYMENT_NOT_FOUND', 'PAYMENT_STATE_CONFLICT', 'PROVIDER_UNAVAILABLE', 'PROVIDER_DECLINED'] as const;

export function paymentRoutes(
  router: ApiRouter,
  service: PaymentsService,
  reconciliations: ReconciliationsService,
): void {
  router.route({
    method: 'get',
    path: '/payments/config',
    tag: 'payments',
    summary: 'Which providers take payments here, and what the browser needs to confirm a card (no secrets)',
    access: 'authenticated',
    response: {
      status: 200,
      description: 'Providers and the browser configuration',
      schema: z.object({
        providers: z.array(z.enum(['stripe', 'paypal', 'cash', 'wallet'])),
        stripe: z.object({ publishableKey: z.string(), apiBase: z.string() }).nullable(),
      }),
    },
    handle: async () => service.config(),
  });

  router.route({
    method: 'post',
    path: '/payments/process',
    tag: 'payments',
    summary: "Pay for a booking (a hold of its price or deposit, captured at delivery), or top up one's wallet",
    description:
      "With `bookingId`: the booking's price (a quote-priced service: the deposit, the larger of the shop's " +
      'cancellation and no-show fees, else 50.00) is held (`capture: manual`). With `purpose: wallet_topup`: ' +
      '`amountMinor` and `currency` are charged at once. Stripe answers `requires_action` with a `clientSecret` ' +
      'for the browser unless `paymentMethod` is given. Honours Idempotency-Key: the same key is the same payment.',
    access: { permission: 'payments:write', perResource: 'service' },
    body: z.strictObject({
      bookingId: uuid.optional(),
      purpose: z.enum(['booking', 'wallet_topup']).optional(),
      provider: z.enum(['stripe', 'paypal', 'cash', 'wallet']),
      paymentMethod: z.string().min(1).max(200).optional().describe('A payment method id (`pm_...`): confirm at once'),
      amountMinor: minor.optional().describe('Top-ups only'),
      currency: currency.optional().describe('Top-ups only'),
    }),
    response: { status: 201, description: 'The payment', schema: paymentViewSchema },
    errors: ['BOOKING_NOT_FOUND', 'PARTNER_NOT_FOUND', 'RISK_BLOCKED', ...CONFLICTS],
    handle: (r) => service.process(callerOf(r), r.body, keyOf(r)),
  });

  router.route({
    method: 'post',
    path: '/payments/refund',
    tag: 'payments',
    summary: 'Refund part or all of a captured payment (a recent second factor; written to the audit log)',
    access: { permission: 'payments:refund', perResource: 'service' },
    body: z.strictObject({
      paymentId: uuid,
      amountMinor: minor.optional().describe('Absent: all that is left'),
      reason: z.string().max(500).optional(),
    }),
    response: { status: 200, description: 'The payment after the refund', schema: paymentViewSchema },
    errors: ['MFA_STEP_UP_REQUIRED', 'REFUND_EXCEEDS_CAPTURED', ...CONFLICTS],
    handle: async (r) => {
      requireRecentMfa(r.principal);
      const caller = callerOf(r);
      const audited = r.administer({
        action: 'payment.refund',
        target: r.body.paymentId,
        detail: { amountMinor: r.body.amountMinor ?? 'rest', reason: r.body.reason ?? null },
      });
      return service.refund(caller, audited, r.body, keyOf(r));
    },
  });

  router.route({
    method: 'post',
    path: '/payments/verify',
    tag: 'payments',
    summary: "Bring a payment level with the provider (after the browser's card step, or to repair a stuck one)",
    access: { permission: 'payments:write', perResource: 'service' },
    body: z.strictObject({ paymentId: uuid }),
    response: { status: 200, description: 'The payment', schema: paymentViewSchema },
    errors: [...CONFLICTS],
    handle: (r) => service.verify(callerOf(r), r.body.paymentId),
  });

  router.route({
    method: 'get',
    path: '/payments/history',
    tag: 'payments',
    summary: "Payments you may see: a customer's own, a shop's, everything for platform staff",
    access: { permission: 'payments:read', perResource: 'service' },
    query: z.object({
      bookingId: uuid.optional(),
      repairOrderId: uuid.optional(),
      partnerId: uuid.optional(),
      status: commaList(PAYMENT_STATUSES, 'Only payments in these statuses, comma-separated'),
      ...pageParams(PAYMENTS_LISTING),
    }),
    response: { status: 200, description: 'Newest first; `nextCursor` null on the last page', schema: payments },
    handle: async (r) => {
      const { limit, cursor, status, ...filter } = r.query;
      const page = await service.history(
        callerOf(r),
        { ...filter, status: status as PaymentStatus[] | undefined },
        {
          limit,
          cursor,
        },
      );
      return { payments: page.items, nextCursor: page.next };
    },
  });

  router.route({
    method: 'get',
    path: '/payments/reconciliations',
    tag: 'payments',
    summary: "The daily reconciliation reports: the provider's books against ours (platform staff)",
    description:
      'Needs payments:refund held for the platform (platform administrators): partner admins hold ' +
      'payments:refund for their own organisation and are refused, since a report spans every shop.',
    access: { permission: 'payments:refund' },
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(30) }),
    response: {
      status: 200,
      description: 'Newest first',
      schema: z.object({ reconciliations: z.array(reconciliationSchema) }),
    },
    handle: async (r) => ({
      reconciliations: await reconciliations.list(
        r.scope.audited({ action: 'payment.reconciliations-read', ip: r.ctx.ip }),
        r.query.limit,
      ),
    }),
  });

  router.route({
    method: 'get',
    path: '/payments/disputes',
    tag: 'payments',
    summary: 'Card disputes the providers reported (platform staff)',
    description:
      'From the stored `dispute.*` webhooks, one row per dispute with its latest state. Access as for reconciliations.',
    access: { permission: 'payments:refund' },
    query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
    response: {
      status: 200,
      description: 'Latest first',
      schema: z.object({
        disputes: z.array(
          z.object({
            id: z.string(),
            provider: z.string(),
            paymentId: z.string().nullable(),
            providerRef: z.string().nullable(),
            amountMinor: z.number().int().nullable(),
            currency: z.string().nullable(),
            status: z.enum(['opened', 'closed']),
            occurredAt: z.string(),
          }),
        ),
      }),
    },
    handle: async (r) => ({
      disputes: await reconciliations.disputes(
        r.scope.audited({ action: 'payment.disputes-read', ip: r.ctx.ip }),
        r.query.limit,
      ),
    }),
  });

  router.route({
    method: 'get',
    path: '/payments/:id',
    tag: 'payments',
    summary: 'One payment',
    access: { permission: 'payments:read', perResource: 'service' },
    params: z.object({ id: uuid }),
    response: { status: 200, description: 'The payment', schema: paymentViewSchema },
    errors: ['PAYMENT_NOT_FOUND'],
    handle: (r) => service.get(callerOf(r), r.params.id),
  });

  router.route({
    method: 'post',
    path: '/payments/:id/capture',
    tag: 'payments',
    summary: 'Capture a hold (all, or `amountMinor` of it: the rest is released)',
    access: { permission: 'payments:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    body: z.strictObject({ amountMinor: minor.optional() }),
    response: { status: 200, description: 'The payment', schema: paymentViewSchema },
    errors: [...CONFLICTS],
    handle: (r) => service.capture(callerOf(r), r.params.id, r.body.amountMinor),
  });

  router.route({
    method: 'post',
    path: '/payments/:id/cancel',
    tag: 'payments',
    summary: 'Release a hold, or give up a payment not yet authorised',
    access: { permission: 'payments:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    body: z.strictObject({}),
    response: { status: 200, description: 'The payment', schema: paymentViewSchema },
    errors: [...CONFLICTS],
    handle: (r) => service.cancel(callerOf(r), r.params.id),
  });

  router.route({
    method: 'post',
    path: '/payments/:id/confirm',
    tag: 'payments',
    summary: 'Confirm a payment that requires action with a payment method (server side)',
    access: { permission: 'payments:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    body: z.strictObject({ paymentMethod: z.string().min(1).max(200) }),
    response: { status: 200, description: 'The payment', schema: paymentViewSchema },
    errors: [...CONFLICTS],
    handle: (r) => service.confirm(callerOf(r), r.params.id, r.body.paymentMethod),
  });
}
