import { z } from 'zod';
import { requireRecentMfa } from '../auth/step-up.js';
import { problemTranslator } from '../http/problem.js';
import { pageParams } from '../http/pagination.js';
import type { ApiRouter } from '../http/route.js';
import { COMMISSIONS_LISTING, PAYOUTS_LISTING } from './repository.js';
import { COMMISSION_PAGE, type CommissionsService } from './service.js';
import { inlinePdf } from '../documents/pdf.js';

const currency = z.string().regex(/^[A-Z]{3}$/, { error: 'is not an ISO 4217 currency code' });
const minor = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const bps = z.number().int().min(0).max(5000);
const time = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

const quoteView = z.object({
  partnerId: z.string(),
  amountMinor: z.number(),
  currency: z.string(),
  tier: z.string(),
  tierRateBps: z.number(),
  bonusBps: z.number(),
  bonuses: z.array(z.string()),
  rateBps: z.number().describe('The rate applied: the tier less the bonuses'),
  commissionMinor: z.number(),
  region: z.string().describe('ISO 3166-1 alpha-2 whose VAT applies (ZZ: unknown, no VAT)'),
  vatRateBps: z.number(),
  vatMinor: z.number(),
  netToShopMinor: z.number(),
  volumeMinor: z.number().describe("The shop's captured volume over the last 30 days"),
});

const commissionView = z.object({
  id: z.string(),
  partnerId: z.string(),
  partnerName: z.string(),
  paymentId: z.string(),
  captureRef: z.string(),
  amountMinor: z.number(),
  currency: z.string(),
  tier: z.string(),
  tierRateBps: z.number(),
  bonusBps: z.number(),
  rateBps: z.number(),
  commissionMinor: z.number(),
  region: z.string(),
  vatRateBps: z.number(),
  vatMinor: z.number(),
  netMinor: z.number(),
  reversedCommissionMinor: z.number().describe("What the payment's refunds returned of the commission so far"),
  reversedVatMinor: z.number(),
  payoutId: z.string().nullable(),
  capturedAt: z.string(),
});

const payoutView = z.object({
  id: z.string(),
  partnerId: z.string(),
  partnerName: z.string().nullable(),
  amountMinor: z.number(),
  currency: z.string(),
  status: z.enum(['pending', 'paid', 'failed']),
  provider: z.string(),
  transferRef: z.string().nullable(),
  periodStart: z.string(),
  periodEnd: z.string(),
  failure: z.string().nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
});

const tierInput = z.strictObject({
  currency: currency.nullable().describe('null: any currency without tiers of its own'),
  tier: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, { error: 'is not a tier name (lower case, digits, - and _)' }),
  minVolumeMinor: minor.describe('The band starts at this 30-day captured volume (minor units)'),
  rateBps: bps,
});

const bonusInput = z.strictObject({
  key: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/),
  kind: z.enum(['rating', 'on_time']),
  minValue: z.number().min(0).max(5).describe('rating: average stars; on_time: share 0..1'),
  minCount: z.number().int().min(0).max(1_000_000),
  reductionBps: bps,
  active: z.boolean(),
});

const vatInput = z.strictObject({
  region: z.string().regex(/^[A-Z]{2}$/, { error: 'is not an ISO 3166-1 alpha-2 code' }),
  rateBps: bps,
});

const tiersDocument = z.object({
  tiers: z.array(
    z.object({
      partnerId: z.string().nullable(),
      currency: z.string().nullable(),
      tier: z.string(),
      minVolumeMinor: z.number(),
      rateBps: z.number(),
    }),
  ),
  bonuses: z.array(bonusInput),
  vatRates: z.array(vatInput),
});

const partnerFilter = z.uuid().optional().describe('One shop (partners.id)');

export function commissionRoutes(router: ApiRouter, service: CommissionsService): void {
  router.route({
    method: 'post',
    path: '/commission/calculate',
    tag: 'commissions',
    summary:
      "A commission quote for an amount a shop would capture now: its tier, bonuses, the region's VAT and the split (nothing stored)",
    access: { permission: 'commissions:read' },
    idempotent: false,
    body: z.strictObject({
      partnerId: z.uuid(),
      amountMinor: minor,
      currency: currency.optional().describe("Default: the shop's currency"),
    }),
    response: { status: 200, description: 'The split', schema: quoteView },
    errors: ['PARTNER_NOT_FOUND'],
    handle: ({ scope, principal, policy, body }) => service.calculate({ scope, principal, policy }, body),
  });

  router.route({
    method: 'get',
    path: '/commission/history',
    tag: 'commissions',
    summary:
      "Commissions, newest first: of the caller's organisation's shops (partner admins), of every shop (platform staff)",
    access: { permission: 'commissions:read' },
    query: z.object({
      partnerId: partnerFilter,
      from: time.optional().describe('Captured at or after (RFC 3339)'),
      to: time.optional().describe('Captured before (RFC 3339)'),
      ...pageParams(COMMISSIONS_LISTING, COMMISSION_PAGE),
    }),
    response: {
      status: 200,
      description: 'A page of commissions; `next` is the cursor of the next page',
      schema: z.object({ commissions: z.array(commissionView), next: z.string().nullable() }),
    },
    errors: ['TIME_RANGE_INVALID'],
    handle: async ({ scope, principal, policy, query }) => {
      const page = await service.history(
        { scope, principal, policy },
        { partnerId: query.partnerId, from: query.from, to: query.to },
        query,
      );
      return { commissions: page.items, next: page.next };
    },
  });

  router.route({
    method: 'get',
    path: '/commission/analytics',
    tag: 'commissions',
    summary:
      'Per period (UTC) and shop: captured, commission, VAT, net, refunds and what they returned, payouts (default: the last 90 days by month)',
    access: { permission: 'commissions:read' },
    query: z.object({
      period: z.enum(['day', 'week', 'month']).default('month'),
      from: time.optional(),
      to: time.optional(),
      partnerId: partnerFilter,
    }),
    response: {
      status: 200,
      description: 'The sums',
      schema: z.object({
        period: z.string(),
        from: z.string(),
        to: z.string(),
        rows: z.array(
          z.object({
            period: z.string().describe('First day of the period (YYYY-MM-DD)'),
            partnerId: z.string(),
            partnerName: z.string(),
            currency: z.string(),
            capturedMinor: z.number(),
            commissionMinor: z.number(),
            vatMinor: z.number(),
            netMinor: z.number(),
            refundedMinor: z.number(),
            reversedCommissionMinor: z.number(),
            reversedVatMinor: z.number(),
            paidOutMinor: z.number(),
          }),
        ),
      }),
    },
    errors: ['TIME_RANGE_INVALID'],
    handle: ({ scope, principal, policy, query }) => service.analytics({ scope, principal, policy }, query),
  });

  router.route({
    method: 'get',
    path: '/commission/tiers',
    tag: 'commissions',
    summary:
      "Commission tiers (the defaults and every override; with `partnerId` the defaults and that shop's), bonuses and VAT rates",
    access: { permission: 'commissions:read' },
    query: z.object({ partnerId: partnerFilter }),
    response: { status: 200, description: 'The configuration', schema: tiersDocument },
    errors: ['PARTNER_NOT_FOUND'],
    handle: ({ scope, principal, policy, query }) => service.getTiers({ scope, principal, policy }, query.partnerId),
  });

  router.route({
    method: 'put',
    path: '/commission/tiers',
    tag: 'commissions',
    summary:
      "Replace the default tiers (`partnerId` null) or one shop's overrides (an empty list removes them); bonuses and VAT rates given are updated too. Audited",
    access: { permission: 'commissions:write' },
    body: z.strictObject({
      partnerId: z.uuid().nullable(),
      tiers: z.array(tierInput).max(100),
      bonuses: z.array(bonusInput).max(20).optional(),
      vatRates: z.array(vatInput).max(300).optional(),
    }),
    response: { status: 200, description: 'The configuration now', schema: tiersDocument },
    errors: ['PARTNER_NOT_FOUND', 'COMMISSION_TIERS_INVALID'],
    handle: ({ scope, principal, policy, body }) => service.putTiers({ scope, principal, policy }, body),
  });

  router.route({
    method: 'post',
    path: '/commission/payout',
    tag: 'commissions',
    summary:
      'Pay out now: every shop with a payout account (or one) gets its positive balance by a Connect transfer; a negative balance carries over. Step-up MFA, audited',
    access: { permission: 'commissions:write' },
    body: z.strictObject({ partnerId: z.uuid().optional() }),
    response: {
      status: 200,
      description: 'What was paid, skipped (and why) and what failed',
      schema: z.object({
        payouts: z.array(payoutView),
        skipped: z.array(z.object({ partnerId: z.string(), currency: z.string(), reason: z.string() })),
        errors: z.array(z.object({ partnerId: z.string(), error: z.string() })),
      }),
    },
    errors: ['PARTNER_NOT_FOUND', 'PROVIDER_UNAVAILABLE'],
    handle: ({ scope, principal, policy, body }) => {
      requireRecentMfa(principal);
      return service.payoutNow({ scope, principal, policy }, body);
    },
  });

  router.route({
    method: 'get',
    path: '/commission/payouts',
    tag: 'commissions',
    summary: "Payouts, newest first (partner admins: their organisation's shops)",
    access: { permission: 'commissions:read' },
    query: z.object({ partnerId: partnerFilter, ...pageParams(PAYOUTS_LISTING, COMMISSION_PAGE) }),
    response: {
      status: 200,
      description: 'A page of payouts',
      schema: z.object({ payouts: z.array(payoutView), next: z.string().nullable() }),
    },
    handle: async ({ scope, principal, policy, query }) => {
      const page = await service.payouts({ scope, principal, policy }, { partnerId: query.partnerId }, query);
      return { payouts: page.items, next: page.next };
    },
  });

  router.route({
    method: 'get',
    path: '/commission/payouts/:id/statement.pdf',
    tag: 'commissions',
    summary: "A payout's statement as PDF (in the caller's language, dates in the shop's time zone)",
    access: { permission: 'commissions:read' },
    params: z.object({ id: z.uuid() }),
    response: { status: 200, description: 'application/pdf' },
    errors: ['PAYOUT_NOT_FOUND'],
    handle: async ({ scope, principal, policy, params, ctx }) => {
      const pdf = await service.statement(
        { scope, principal, policy },
        params.id,
        problemTranslator(ctx.get('Accept-Language') || undefined),
      );
      return inlinePdf(ctx, `payout-${params.id}.pdf`, pdf);
    },
  });

  router.route({
    method: 'get',
    path: '/commission/payout-accounts',
    tag: 'commissions',
    summary: "Shops' payout accounts (partner admins: their organisation's shops)",
    access: { permission: 'commissions:read' },
    query: z.object({ partnerId: partnerFilter }),
    response: {
      status: 200,
      description: 'The accounts, by shop name',
      schema: z.object({
        accounts: z.array(
          z.object({
            partnerId: z.string(),
            partnerName: z.string(),
            provider: z.string(),
            accountRef: z.string(),
            status: z.string(),
            createdAt: z.string(),
          }),
        ),
      }),
    },
    handle: async ({ scope, principal, policy, query }) => ({
      accounts: await service.payoutAccounts({ scope, principal, policy }, query.partnerId),
    }),
  });

  router.route({
    method: 'post',
    path: '/commission/payout-accounts',
    tag: 'commissions',
    summary:
      "Connect a shop's payout account (a partner admin, for its own shops): a Stripe Connect account is created; the provider's onboarding link is not part of this API",
    access: { permission: 'payments:write', perResource: 'service' },
    body: z.strictObject({
      partnerId: z.uuid(),
      email: z.email().max(254).optional(),
      country: z
        .string()
        .regex(/^[A-Z]{2}$/)
        .optional()
        .describe("ISO 3166-1 alpha-2; default: the shop's address country"),
    }),
    response: {
      status: 201,
      description: 'The payout account',
      schema: z.object({
        partnerId: z.string(),
        provider: z.string(),
        accountRef: z.string(),
        status: z.string(),
        createdAt: z.string(),
      }),
    },
    errors: ['PARTNER_NOT_FOUND', 'PROVIDER_UNAVAILABLE', 'PAYOUT_ACCOUNT_REFUSED'],
    handle: ({ scope, principal, policy, body }) => service.connectAccount({ scope, principal, policy }, body),
  });
}
