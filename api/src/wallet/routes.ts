import { z } from 'zod';
import { riskContextOf } from '../fraud/request-context.js';
import type { ApiRouter, RouteRequest } from '../http/route.js';
import { uuid } from '../shared/schemas.js';
import type { WalletCaller, WalletService } from './service.js';

const currency = z
  .string()
  .regex(/^[A-Z]{3}$/, { error: 'must be an ISO 4217 code (EUR, EGP, SAR)' })
  .describe('ISO 4217 currency code');
const amountMinor = z
  .number()
  .int()
  .positive()
  .max(Number.MAX_SAFE_INTEGER)
  .describe('Integer minor units (cents), more than 0');

const walletView = z.object({
  id: z.string(),
  currency: z.string(),
  postedMinor: z.number().int().describe('Credited less debited; holds not counted'),
  availableMinor: z.number().int().describe('What may be spent or held now: posted less held'),
  heldMinor: z.number().int().describe('Reserved by holds not yet captured, released or expired'),
  createdAt: z.string(),
});

const holdView = z.object({
  holdId: z.string(),
  walletId: z.string(),
  partnerId: z.string(),
  amountMinor: z.number().int(),
  currency: z.string(),
  reference: z.string(),
  expiresAt: z.string().nullable(),
  status: z.enum(['held', 'released']),
  wallet: walletView,
});

const entryView = z.object({
  transferId: z.string(),
  seq: z.number().int().describe("Position in the ledger's hash chain"),
  direction: z.enum(['in', 'out']),
  amountMinor: z.number().int(),
  currency: z.string(),
  kind: z.enum(['posted', 'pending', 'post_pending', 'void_pending', 'expire_pending']),
  reason: z.string().describe('wallet_topup, wallet_transfer, wallet_hold, capture, refund, ...'),
  reference: z.string().nullable().describe('The business record: booking:<id>, payment:<id>, wallet-transfer:<id>'),
  holdId: z.string().nullable(),
  expiresAt: z.string().nullable(),
  createdAt: z.string(),
});

const callerOf = (r: RouteRequest<unknown, unknown, unknown>): WalletCaller => ({
  principal: r.principal,
  policy: r.policy,
  scope: r.scope,
  administer: r.administer,
  request: riskContextOf(r.ctx),
});

export function walletRoutes(router: ApiRouter, wallets: WalletService): void {
  router.route({
    method: 'post',
    path: '/wallet/create',
    tag: 'wallet',
    summary:
      "Open the caller's wallet in a currency (one per person, or per organisation, and currency); opening it again returns it",
    access: { permission: 'wallet:write', perResource: 'service' },
    body: z.strictObject({ currency }),
    response: { status: 201, description: 'The wallet', schema: walletView },
    errors: [],
    handle: (r) => wallets.create(callerOf(r), r.body.currency),
  });

  router.route({
    method: 'get',
    path: '/wallet/balance',
    tag: 'wallet',
    summary: "The caller's wallets (or the one of a currency): posted, available and held",
    access: { permission: 'wallet:read', perResource: 'service' },
    query: z.object({ currency: currency.optional() }),
    response: { status: 200, description: 'Wallets, by currency', schema: z.object({ wallets: z.array(walletView) }) },
    errors: ['WALLET_NOT_FOUND'],
    handle: async (r) => ({ wallets: await wallets.balance(callerOf(r), r.query.currency) }),
  });

  router.route({
    method: 'get',
    path: '/wallet/history',
    tag: 'wallet',
    summary: "What moved in and out of the caller's wallet of a currency, newest first",
    access: { permission: 'wallet:read', perResource: 'service' },
    query: z.object({
      currency,
      limit: z.coerce.number().int().min(1).max(200).default(50),
      cursor: z
        .string()
        .regex(/^[1-9][0-9]{0,15}$/, { error: 'is not a cursor of this listing' })
        .transform(Number)
        .optional()
        .describe('`next` of the previous page'),
    }),
    response: {
      status: 200,
      description: 'A page of entries',
      schema: z.object({ items: z.array(entryView), next: z.string().nullable() }),
    },
    errors: ['WALLET_NOT_FOUND'],
    handle: (r) => wallets.history(callerOf(r), r.query),
  });

  router.route({
    method: 'post',
    path: '/wallet/hold',
    tag: 'wallet',
    summary:
      "Reserve money of the caller's wallet for a shop (a booking's, or a shop named by partner id) until it is captured, released or expires",
    access: { permission: 'wallet:write', perResource: 'service' },
    body: z
      .strictObject({
        amountMinor,
        currency,
        bookingId: uuid.optional().describe('The booking the hold pays for: its shop is paid, its id is the reference'),
        partnerId: uuid.optional().describe('The shop, when the hold is not for a booking'),
        reference: z.string().min(1).max(200).optional().describe('Default: booking:<id>, or shop:<partner id>'),
        expiresInSeconds: z
          .number()
          .int()
          .min(60)
          .max(30 * 24 * 3600)
          .describe('The hold returns to the wallet by itself after this long (60 s to 30 days)'),
      })
      .refine((b) => (b.bookingId === undefined) !== (b.partnerId === undefined), {
        error: 'name exactly one of bookingId and partnerId',
      }),
    response: { status: 201, description: 'The hold', schema: holdView },
    errors: ['WALLET_NOT_FOUND', 'BOOKING_NOT_FOUND', 'PARTNER_NOT_FOUND', 'INSUFFICIENT_FUNDS', 'RISK_BLOCKED'],
    handle: (r) => wallets.hold(callerOf(r), r.body),
  });

  router.route({
    method: 'post',
    path: '/wallet/release',
    tag: 'wallet',
    summary: 'Release a hold of the caller’s wallet: the money is available again (releasing twice is harmless)',
    access: { permission: 'wallet:write', perResource: 'service' },
    body: z.strictObject({ holdId: uuid }),
    response: { status: 200, description: 'The released hold', schema: holdView },
    errors: ['WALLET_NOT_FOUND', 'HOLD_ALREADY_RESOLVED'],
    handle: (r) => wallets.release(callerOf(r), r.body.holdId),
  });

  router.route({
    method: 'post',
    path: '/wallet/transfer',
    tag: 'wallet',
    summary:
      "Send money to another person's wallet of the same currency, by user id or e-mail: per-transfer and daily limits, a recent second factor above the step-up threshold, audited, risk-checked",
    access: { permission: 'wallet:write', perResource: 'service' },
    body: z
      .strictObject({
        amountMinor,
        currency,
        toUserId: uuid.optional(),
        toEmail: z.email().max(254).optional(),
        note: z.string().max(200).optional(),
      })
      .refine((b) => (b.toUserId === undefined) !== (b.toEmail === undefined), {
        error: 'name exactly one of toUserId and toEmail',
      }),
    response: {
      status: 201,
      description: 'The transfer',
      schema: z.object({
        transferId: z.string(),
        amountMinor: z.number().int(),
        currency: z.string(),
        recipientUserId: z.string(),
        createdAt: z.string(),
        riskDecision: z.enum(['allow', 'review', 'block']),
        wallet: walletView,
      }),
    },
    errors: [
      'WALLET_NOT_FOUND',
      'USER_NOT_FOUND',
      'INSUFFICIENT_FUNDS',
      'TRANSFER_LIMIT_EXCEEDED',
      'MFA_STEP_UP_REQUIRED',
      'RISK_BLOCKED',
      'BAD_REQUEST',
    ],
    handle: (r) => wallets.transfer(callerOf(r), r.body),
  });
}
