import { z } from 'zod';
import { requireRecentMfa } from '../auth/step-up.js';
import { actorOf } from '../auth/scope.js';
import { pageParams } from '../http/pagination.js';
import type { ApiRouter } from '../http/route.js';
import { isoTime, segmentId, uuid } from '../shared/schemas.js';
import { BLOCK_SUBJECTS } from './hash.js';
import { ALERT_STATUSES, FRAUD_ALERTS_LISTING, FRAUD_BLOCKS_LISTING } from './repository.js';
import { FRAUD_ALERT_PAGE, FRAUD_BLOCK_PAGE, MAX_BLOCK_MINUTES, type FraudService } from './service.js';

const KINDS = ['payment', 'booking', 'wallet_transfer'] as const;
const decision = z.enum(['allow', 'review', 'block']);
const country = z
  .string()
  .regex(/^[A-Za-z]{2}$/, { error: 'must be an ISO 3166 alpha-2 code' })
  .transform((c) => c.toUpperCase());
const shortText = (max: number) => z.string().trim().min(1).max(max);

const reasonView = z.object({
  code: z
    .string()
    .describe(
      '`velocity`, `amount_vs_history`, `new_device`, `country_mismatch`, `many_cards`, `blocklisted`, `anomaly`',
    ),
  weight: z.number().describe('Its share of the score (0..1); the score is 1 - Π(1 - weight)'),
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});

const hypothetical = z.strictObject({
  kind: z.enum(KINDS),
  tenantId: segmentId.describe("The payer's tenant"),
  userId: z.string().min(1).max(200).nullable(),
  amountMinor: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  currency: z.string().regex(/^[A-Z]{3}$/, { error: 'must be an ISO 4217 code' }),
  ip: z.string().min(1).max(64).optional(),
  ipCountry: country.optional(),
  cardCountry: country.optional(),
  cardFingerprint: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe("The provider's card fingerprint (never a card number)"),
  deviceId: z.string().min(1).max(200).optional(),
  at: isoTime.optional().describe('Score as of this time (default now)'),
});

const analyzeBody = z.union([
  z.strictObject({ assessmentId: uuid.describe('Re-score a stored assessment with the current rules') }),
  z.strictObject({
    kind: z.enum(KINDS),
    reference: z.string().min(1).max(200).describe('The payment, booking or transfer id: its latest assessment'),
  }),
  hypothetical,
]);

const alertView = z.object({
  id: z.string(),
  tenantId: z.string(),
  assessmentId: z.string(),
  decision: z.enum(['review', 'block']),
  score: z.number(),
  status: z.enum(ALERT_STATUSES),
  reviewedBy: z.string().nullable(),
  reviewedAt: z.string().nullable(),
  note: z.string().nullable(),
  createdAt: z.string(),
  attempt: z.object({
    kind: z.enum(KINDS),
    reference: z.string().nullable(),
    userId: z.string().nullable(),
    amountMinor: z.number(),
    currency: z.string(),
    ip: z.string().nullable(),
    ipCountry: z.string().nullable(),
    deviceId: z.string().nullable(),
    cardCountry: z.string().nullable(),
    card: z.boolean().describe('Whether a card paid (kept only as a hash of its fingerprint)'),
  }),
  reasons: z.array(reasonView),
});

const blockView = z.object({
  id: z.string(),
  subject: z.enum(BLOCK_SUBJECTS),
  label: z
    .string()
    .nullable()
    .describe('A hint (IP prefix, last characters of a device id); the value is stored only hashed'),
  reason: z.string(),
  until: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  liftedAt: z.string().nullable(),
  liftedBy: z.string().nullable(),
  assessmentId: z.string().nullable(),
  alertId: z.string().nullable(),
  active: z.boolean(),
});

const minutes = z
  .number()
  .int()
  .min(1)
  .max(MAX_BLOCK_MINUTES)
  .describe(`How long, in minutes (at most ${MAX_BLOCK_MINUTES})`);

const alertsQuery = z.object({
  status: z.enum(ALERT_STATUSES).optional().describe('Default: every status'),
  decision: z.enum(['review', 'block']).optional(),
  tenantId: segmentId.optional().describe("The payer's tenant"),
  reason: z
    .string()
    .regex(/^[a-z_]{1,40}$/, { error: 'must be a reason code' })
    .optional()
    .describe('Alerts with this reason (`velocity`, `anomaly`, ...)'),
  from: isoTime.optional(),
  to: isoTime.optional(),
  ...pageParams(FRAUD_ALERTS_LISTING, FRAUD_ALERT_PAGE),
});

/**
 * Platform staff's fraud routes under /api/security/fraud (docs/fraud.md). Support holds fraud:read
 * (analysis, the queue, blocks, reports), platform admins fraud:write (reviews, blocks, unblocks:
 * MFA step-up, audited). The service runs everything in an audited system scope, which refuses
 * anyone but platform staff and the admin token.
 */
export function fraudRoutes(router: ApiRouter, fraud: FraudService): void {
  router.route({
    method: 'post',
    path: '/security/fraud/analyze',
    tag: 'administration',
    summary:
      'Score a hypothetical payment, booking or transfer, or re-score a stored one, with its reasons and features; a dry run: stores no assessment, opens no alert, blocks nothing',
    access: { permission: 'fraud:read' },
    body: analyzeBody,
    idempotent: false,
    response: {
      status: 200,
      description: 'The decision the inline check would take now',
      schema: z.object({
        decision,
        score: z.number(),
        reasons: z.array(reasonView),
        anomaly: z.number().describe('The anomaly score alone (0..1)'),
        wouldBlock: z.array(z.enum(BLOCK_SUBJECTS)).describe('What a real `block` would block automatically'),
        assessmentId: z.string().nullable(),
        features: z.record(z.string(), z.unknown()),
      }),
    },
    errors: ['FRAUD_ASSESSMENT_NOT_FOUND'],
    handle: ({ scope, body, ctx }) => fraud.analyze(scope, body, ctx.ip),
  });

  router.route({
    method: 'get',
    path: '/security/fraud/alerts',
    tag: 'administration',
    summary:
      'The fraud review queue, newest first, filtered by status, decision, tenant, reason and time, a page at a time',
    access: { permission: 'fraud:read' },
    query: alertsQuery,
    response: {
      status: 200,
      description: 'The alerts; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ alerts: z.array(alertView), next: z.string().nullable() }),
    },
    handle: ({ scope, query }) => {
      const { limit, cursor, ...filter } = query;
      return fraud.alerts(scope, filter, { limit, cursor });
    },
  });

  router.route({
    method: 'post',
    path: '/security/fraud/alerts/:id/review',
    tag: 'administration',
    summary:
      'Confirm or dismiss an open fraud alert; a confirmation may block the attempt’s user, device, card or IP for a time (MFA step-up when it blocks)',
    access: { permission: 'fraud:write' },
    params: z.object({ id: uuid }),
    body: z.strictObject({
      outcome: z.enum(['confirmed', 'dismissed']),
      note: shortText(2000).optional(),
      block: z.strictObject({ subjects: z.array(z.enum(BLOCK_SUBJECTS)).min(1).max(4), minutes }).optional(),
    }),
    response: {
      status: 200,
      description: 'The reviewed alert and the blocks it added',
      schema: alertView.extend({ blocks: z.array(blockView) }),
    },
    errors: ['FRAUD_ALERT_NOT_FOUND', 'FRAUD_ALERT_REVIEWED'],
    handle: ({ scope, params, body, principal, ctx }) => {
      // Blocking is what needs the step-up (a dismissal that asks to block is refused by the service).
      if (body.block && body.outcome === 'confirmed') requireRecentMfa(principal);
      return fraud.review(scope, params.id, body, actorOf(principal), ctx.ip);
    },
  });

  router.route({
    method: 'post',
    path: '/security/fraud/block',
    tag: 'administration',
    summary:
      'Block a user, device, card (by its provider fingerprint) or IP for a time: every payment, booking and transfer using it is refused (MFA step-up, audited)',
    access: { permission: 'fraud:write' },
    body: z.strictObject({
      subject: z.enum(BLOCK_SUBJECTS),
      value: z
        .string()
        .trim()
        .min(1)
        .max(200)
        .describe('user: the user id; device: its id; card: the fingerprint; ip: the address'),
      tenantId: segmentId.optional().describe("The user's tenant (subject user only)"),
      minutes,
      reason: shortText(500),
    }),
    response: { status: 201, description: 'The block', schema: blockView },
    handle: ({ scope, body, principal, ctx }) => {
      requireRecentMfa(principal);
      return fraud.block(scope, body, actorOf(principal), ctx.ip);
    },
  });

  router.route({
    method: 'get',
    path: '/security/fraud/blocks',
    tag: 'administration',
    summary: 'Blocks, newest first (the active ones by default), a page at a time',
    access: { permission: 'fraud:read' },
    query: z.object({
      all: z
        .enum(['true', 'false'])
        .optional()
        .transform((v) => v === 'true')
        .describe('`true` lists lifted and expired blocks too'),
      ...pageParams(FRAUD_BLOCKS_LISTING, FRAUD_BLOCK_PAGE),
    }),
    response: {
      status: 200,
      description: 'The blocks; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ blocks: z.array(blockView), next: z.string().nullable() }),
    },
    handle: ({ scope, query }) => fraud.blocks(scope, !query.all, { limit: query.limit, cursor: query.cursor }),
  });

  router.route({
    method: 'delete',
    path: '/security/fraud/blocks/:id',
    tag: 'administration',
    summary: 'Lift a block at once (MFA step-up, audited); lifting a lifted block answers it as it is',
    access: { permission: 'fraud:write' },
    params: z.object({ id: uuid }),
    response: { status: 200, description: 'The lifted block', schema: blockView },
    errors: ['FRAUD_BLOCK_NOT_FOUND'],
    handle: ({ scope, params, principal, ctx }) => {
      requireRecentMfa(principal);
      return fraud.unblock(scope, params.id, actorOf(principal), ctx.ip);
    },
  });

  router.route({
    method: 'get',
    path: '/security/fraud/reports',
    tag: 'administration',
    summary:
      'Fraud report: assessments per day and decision, flagged ones per day and reason, and the precision of reviewed alerts (confirmed / reviewed)',
    access: { permission: 'fraud:read' },
    query: z.object({
      from: isoTime.optional().describe('Default: 30 days before `to`'),
      to: isoTime.optional().describe('Default: now'),
    }),
    response: {
      status: 200,
      description: 'The report',
      schema: z.object({
        from: z.string(),
        to: z.string(),
        decisions: z.array(z.object({ day: z.string(), decision, count: z.number() })),
        reasons: z.array(z.object({ day: z.string(), code: z.string(), count: z.number() })),
        review: z.object({
          open: z.number(),
          confirmed: z.number(),
          dismissed: z.number(),
          precision: z.number().nullable(),
          byDecision: z.array(
            z.object({
              decision: z.string(),
              confirmed: z.number(),
              dismissed: z.number(),
              precision: z.number().nullable(),
            }),
          ),
        }),
      }),
    },
    errors: ['TIME_RANGE_INVALID'],
    handle: ({ scope, query }) => {
      const to = query.to ?? new Date();
      const from = query.from ?? new Date(to.getTime() - 30 * 86_400_000);
      return fraud.report(scope, from, to);
    },
  });
}
