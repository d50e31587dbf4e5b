import { z } from 'zod';
import { actorOf } from '../check-ins/routes.js';
import type { ApiRouter } from '../http/route.js';
import { uuid } from '../shared/schemas.js';
import { LIMITS } from './money.js';
import type { EstimatesService } from './service.js';

const lineInput = z.strictObject({
  kind: z.enum(['labour', 'part', 'fee']),
  description: z.string().min(1).max(500).optional().describe("Default for a catalogue part: the part's name"),
  quantity: z
    .number()
    .positive()
    .max(LIMITS.quantityMilli.max / 1000)
    .describe('Hours for labour, pieces (or litres) for parts; at most three decimals'),
  unitPriceMinor: z
    .number()
    .int()
    .min(LIMITS.unitPriceMinor.min)
    .max(LIMITS.unitPriceMinor.max)
    .optional()
    .describe(
      "Per hour or piece, in minor units. Default: the shop's labour rate (labour), the catalogue price (part)",
    ),
  partId: uuid.optional().describe("A part of the shop's catalogue (kind part)"),
  taxRateBp: z.number().int().min(0).max(10_000).describe('Tax rate in basis points (19 % = 1900)'),
});

const estimateBody = {
  notes: z.string().max(2000).optional(),
  lines: z.array(lineInput).max(LIMITS.lines),
};

const lineView = z.object({
  id: z.string(),
  position: z.number().int(),
  kind: z.enum(['labour', 'part', 'fee']),
  description: z.string(),
  partId: z.string().nullable(),
  sku: z.string().nullable(),
  quantity: z.number(),
  quantityMilli: z.number().int(),
  unitPriceMinor: z.number().int(),
  taxRateBp: z.number().int(),
  netMinor: z.number().int(),
  taxMinor: z.number().int(),
  totalMinor: z.number().int(),
  decision: z.enum(['approved', 'declined']).nullable(),
});

export const estimateView = z.object({
  id: z.string(),
  repairOrderId: z.string(),
  partnerId: z.string(),
  revision: z.number().int(),
  revisesId: z.string().nullable(),
  supplemental: z.boolean(),
  status: z.enum(['draft', 'sent', 'decided', 'superseded']),
  currency: z.string(),
  netMinor: z.number().int(),
  taxMinor: z.number().int(),
  totalMinor: z.number().int(),
  approvedTotalMinor: z.number().int().nullable(),
  notes: z.string(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  decidedAt: z.string().nullable(),
  lines: z.array(lineView),
});

const ROUNDING =
  'Amounts in minor units, rounded per line half up: net = round(quantity × unit price), tax = round(net × rate), total = net + tax; the estimate sums its lines.';

export function estimateRoutes(router: ApiRouter, estimates: EstimatesService): void {
  router.route({
    method: 'get',
    path: '/estimates',
    tag: 'estimates',
    summary: "A repair order's estimates, oldest first (the customer sees sent and decided ones, never drafts)",
    access: { permission: 'repair-orders:read', perResource: 'service' },
    query: z.object({ repairOrderId: uuid }),
    response: {
      status: 200,
      description: 'Estimates with their lines',
      schema: z.object({ estimates: z.array(estimateView) }),
    },
    errors: ['REPAIR_ORDER_NOT_FOUND'],
    handle: (r) => estimates.list(actorOf(r), r.query.repairOrderId),
  });

  router.route({
    method: 'post',
    path: '/estimates',
    tag: 'estimates',
    summary:
      'Write a draft estimate for a repair order (supplemental when the order is being worked on: in_progress or a waiting state)',
    description: ROUNDING,
    access: { permission: 'estimates:write', perResource: 'service' },
    body: z.strictObject({
      repairOrderId: uuid,
      supplemental: z.boolean().optional().describe('Checked against the order: extra work found mid-repair'),
      ...estimateBody,
    }),
    response: { status: 201, description: 'The draft', schema: estimateView },
    errors: ['REPAIR_ORDER_NOT_FOUND', 'ESTIMATE_INVALID', 'ESTIMATE_STATE_CONFLICT'],
    handle: (r) => estimates.create(actorOf(r), r.body),
  });

  router.route({
    method: 'get',
    path: '/estimates/:id',
    tag: 'estimates',
    summary: 'One estimate with its lines',
    access: { permission: 'repair-orders:read', perResource: 'service' },
    params: z.object({ id: uuid }),
    response: { status: 200, description: 'The estimate', schema: estimateView },
    errors: ['ESTIMATE_NOT_FOUND'],
    handle: (r) => estimates.get(actorOf(r), r.params.id),
  });

  router.route({
    method: 'put',
    path: '/estimates/:id',
    tag: 'estimates',
    summary: "Replace a draft's lines and notes (a sent estimate never changes: revise it)",
    description: ROUNDING,
    access: { permission: 'estimates:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    body: z.strictObject(estimateBody),
    response: { status: 200, description: 'The draft', schema: estimateView },
    errors: ['ESTIMATE_NOT_FOUND', 'ESTIMATE_INVALID', 'ESTIMATE_STATE_CONFLICT'],
    handle: (r) => estimates.update(actorOf(r), r.params.id, r.body),
  });

  router.route({
    method: 'post',
    path: '/estimates/:id/send',
    tag: 'estimates',
    summary:
      'Send a draft to the customer: the repair order moves to estimate_sent (a revision replaces the estimate it revises instead)',
    access: { permission: 'estimates:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    response: { status: 200, description: 'The sent estimate', schema: estimateView },
    errors: ['ESTIMATE_NOT_FOUND', 'ESTIMATE_INVALID', 'ESTIMATE_STATE_CONFLICT', 'INVALID_TRANSITION'],
    handle: (r) => estimates.send(actorOf(r), r.params.id),
  });

  router.route({
    method: 'post',
    path: '/estimates/:id/revise',
    tag: 'estimates',
    summary: 'Start a new revision of a sent estimate: a draft with its lines, which supersedes it when sent',
    access: { permission: 'estimates:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    response: { status: 201, description: 'The new draft revision', schema: estimateView },
    errors: ['ESTIMATE_NOT_FOUND', 'ESTIMATE_STATE_CONFLICT'],
    handle: (r) => estimates.revise(actorOf(r), r.params.id),
  });

  router.route({
    method: 'post',
    path: '/estimates/:id/decision',
    tag: 'estimates',
    summary:
      "The customer's decision on every line: approved or declined. At least one approved: the order is approved, else declined; above 500.00 approved, a recent second factor is needed and the decision is audited",
    access: { permission: 'estimates:approve', perResource: 'service' },
    params: z.object({ id: uuid }),
    body: z.strictObject({
      lines: z
        .array(z.strictObject({ lineId: uuid, decision: z.enum(['approved', 'declined']) }))
        .min(1)
        .max(LIMITS.lines),
    }),
    response: { status: 200, description: 'The decided estimate', schema: estimateView },
    errors: [
      'ESTIMATE_NOT_FOUND',
      'DECISION_INVALID',
      'ESTIMATE_STATE_CONFLICT',
      'MFA_STEP_UP_REQUIRED',
      'INVALID_TRANSITION',
    ],
    handle: (r) => estimates.decide(actorOf(r), r.params.id, r.body),
  });
}
