import { randomUUID } from 'node:crypto';
import { startStripeEmulator, type StripeEmulator } from '@clutch/emulators';
import { generateSigningKeys } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestShop, type TestShop } from '../bookings/test-shop.js';
import { transferId } from '../ledger/ids.js';
import { ledger } from '../ledger/ledger.js';
import { createStripeProvider } from '../payments/providers/stripe.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import {
  backends,
  call,
  expectProblem,
  OTHER_TENANT,
  startFixture,
  TENANT,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';
import { recordCommission } from './commission.js';
import { clearingRef, shopPayableRef } from './payouts.js';

// docs/commissions.md: quotes, history, analytics, tiers, payout accounts, payouts and statements
// over HTTP, per caller: a partner admin sees its own organisation's shops only, platform staff
// every shop, a car owner nothing.
describe.each(backends('commissions_api'))('commissions API on %s', (_n, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let stripe: StripeEmulator;
  let shopA: TestShop;
  let shopB: TestShop;
  let adminA: TestUser;
  let adminB: TestUser;
  let platformAdmin: TestUser;
  let platformNoMfa: TestUser;
  let support: TestUser;
  let owner: TestUser;

  const api = (method: string, path: string, who: TestUser, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, path, { token: who.token, ...(body !== undefined ? { body } : {}) });

  /** A capture of `amountMinor` at `shop` as the payments domain books it: the money, then the commission. */
  async function capture(shop: TestShop, amountMinor: number): Promise<string> {
    const paymentId = randomUUID();
    await fx.db.transaction(async (q) => {
      const clearing = await ledger.ensureAccount(q, clearingRef('EGP'));
      const payable = await ledger.ensureAccount(q, shopPayableRef(shop.tenantId, shop.partnerId, 'EGP'));
      await ledger.createTransfers(q, [
        {
          id: transferId(`capture:${paymentId}:1`),
          debitAccountId: clearing.id,
          creditAccountId: payable.id,
          amountMinor,
          currency: 'EGP',
          reason: 'capture',
        },
      ]);
      await recordCommission(q, {
        paymentId,
        captureRef: `${paymentId}:1`,
        shopTenantId: shop.tenantId,
        partnerId: shop.partnerId,
        amountMinor,
        currency: 'EGP',
        at: new Date(),
      });
    });
    return paymentId;
  }

  beforeAll(async () => {
    stripe = await startStripeEmulator({ webhookMode: 'manual' });
    const provider = createStripeProvider({
      secretKey: stripe.secretKey,
      webhookSecret: stripe.webhookSecret,
      apiBase: stripe.url,
      maxNetworkRetries: 0,
    });
    await provider.authorize({
      idempotencyKey: 'fund',
      amount: { amountMinor: 10_000_000, currency: 'EGP' },
      capture: 'automatic',
      confirm: true,
      paymentMethod: 'pm_card_visa',
      metadata: {},
    });
    fx = await startFixture({
      requireAuth: true,
      identity: { signingKeys: keys },
      rateLimit: { enabled: false },
      payments: { providers: new Map([['stripe', provider]]), payouts: provider },
      ...(open ? { open } : {}),
    });
    shopA = await createTestShop(fx.db, { tenantId: TENANT, timeZone: 'Africa/Cairo' });
    shopB = await createTestShop(fx.db, { tenantId: OTHER_TENANT, timeZone: 'Asia/Riyadh' });
    await fx.db.query(`UPDATE partners SET currency = 'EGP', address = '{"country": "EG"}' WHERE id = $1`, [
      shopA.partnerId,
    ]);
    await fx.db.query(`UPDATE partners SET currency = 'EGP', address = '{"country": "SA"}' WHERE id = $1`, [
      shopB.partnerId,
    ]);
    adminA = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['partner-admin'], mfa: true });
    adminB = await signedInUser(fx.db, keys, { tenantId: OTHER_TENANT, roles: ['partner-admin'], mfa: true });
    platformAdmin = await signedInUser(fx.db, keys, { tenantId: 'platform', roles: ['platform-admin'], mfa: true });
    platformNoMfa = await signedInUser(fx.db, keys, { tenantId: 'platform', roles: ['platform-admin'] });
    support = await signedInUser(fx.db, keys, { tenantId: 'platform', roles: ['support'] });
    owner = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'] });
    await capture(shopA, 100_000);
    await capture(shopA, 50_000);
    await capture(shopB, 200_000);
  });
  afterAll(async () => {
    await fx?.close();
    await stripe?.close();
  });

  it('quotes the split for the caller’s own shop, and nobody else’s', async () => {
    const quote = await api('POST', '/api/commission/calculate', adminA, {
      partnerId: shopA.partnerId,
      amountMinor: 10_000,
    });
    expect(quote.status, JSON.stringify(quote.body)).toBe(200);
    expect(quote.body).toMatchObject({
      currency: 'EGP',
      tier: 'standard',
      rateBps: 1500,
      region: 'EG',
      vatRateBps: 1400,
      commissionMinor: 1_500,
      vatMinor: 210,
      netToShopMinor: 8_290,
      volumeMinor: 150_000,
    });
    const saudi = await api('POST', '/api/commission/calculate', platformAdmin, {
      partnerId: shopB.partnerId,
      amountMinor: 10_000,
    });
    expect(saudi.body).toMatchObject({ region: 'SA', vatRateBps: 1500, vatMinor: 225 });
    expectProblem(
      await api('POST', '/api/commission/calculate', adminA, { partnerId: shopB.partnerId, amountMinor: 10_000 }),
      404,
      'PARTNER_NOT_FOUND',
    );
    expectProblem(
      await api('POST', '/api/commission/calculate', owner, { partnerId: shopA.partnerId, amountMinor: 1 }),
      403,
      'FORBIDDEN',
    );
    expectProblem(
      await api('POST', '/api/commission/calculate', adminA, { partnerId: shopA.partnerId, amountMinor: -5 }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('lists commissions newest first, a page at a time, confined to the caller’s organisation', async () => {
    const own = await api('GET', '/api/commission/history', adminA);
    expect(own.status).toBe(200);
    const mine = own.body.commissions as { partnerId: string; amountMinor: number; commissionMinor: number }[];
    expect(mine.map((c) => c.amountMinor)).toEqual([50_000, 100_000]);
    expect(new Set(mine.map((c) => c.partnerId))).toEqual(new Set([shopA.partnerId]));
    const first = await api('GET', '/api/commission/history?limit=1', platformAdmin);
    expect((first.body.commissions as unknown[]).length).toBe(1);
    const second = await api(
      'GET',
      `/api/commission/history?limit=5&cursor=${first.body.next as string}`,
      platformAdmin,
    );
    expect((second.body.commissions as unknown[]).length).toBeGreaterThanOrEqual(2);
    const filtered = await api('GET', `/api/commission/history?partnerId=${shopB.partnerId}`, support);
    expect((filtered.body.commissions as { amountMinor: number }[]).map((c) => c.amountMinor)).toEqual([200_000]);
    // Another organisation's shop named explicitly: nothing (row-level security), not an error.
    const foreign = await api('GET', `/api/commission/history?partnerId=${shopB.partnerId}`, adminA);
    expect(foreign.body.commissions).toEqual([]);
    expectProblem(await api('GET', '/api/commission/history', owner), 403, 'FORBIDDEN');
  });

  it('sums captures, commission, VAT and net per period and shop', async () => {
    const res = await api('GET', '/api/commission/analytics?period=day', adminA);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const rows = res.body.rows as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      partnerId: shopA.partnerId,
      currency: 'EGP',
      capturedMinor: 150_000,
      commissionMinor: 22_500,
      vatMinor: 3_150,
      netMinor: 124_350,
      paidOutMinor: 0,
    });
    const all = await api('GET', '/api/commission/analytics', platformAdmin);
    expect(new Set((all.body.rows as { partnerId: string }[]).map((r) => r.partnerId))).toEqual(
      new Set([shopA.partnerId, shopB.partnerId]),
    );
  });

  it('lets platform admins change tiers and VAT rates, audited, and refuses tiers that leave volumes uncovered', async () => {
    const read = await api('GET', `/api/commission/tiers?partnerId=${shopA.partnerId}`, adminA);
    expect(read.status).toBe(200);
    expect(read.body.vatRates).toEqual(
      expect.arrayContaining([
        { region: 'AE', rateBps: 500 },
        { region: 'EG', rateBps: 1400 },
        { region: 'SA', rateBps: 1500 },
      ]),
    );
    const deal = {
      partnerId: shopA.partnerId,
      tiers: [{ currency: 'EGP', tier: 'launch', minVolumeMinor: 0, rateBps: 900 }],
    };
    expectProblem(await api('PUT', '/api/commission/tiers', adminA, deal), 403, 'FORBIDDEN');
    expectProblem(
      await api('PUT', '/api/commission/tiers', platformAdmin, {
        ...deal,
        tiers: [{ currency: 'EGP', tier: 'launch', minVolumeMinor: 100, rateBps: 900 }],
      }),
      422,
      'COMMISSION_TIERS_INVALID',
    );
    const put = await api('PUT', '/api/commission/tiers', platformAdmin, {
      ...deal,
      vatRates: [{ region: 'EG', rateBps: 1000 }],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const quote = await api('POST', '/api/commission/calculate', adminA, {
      partnerId: shopA.partnerId,
      amountMinor: 10_000,
    });
    expect(quote.body).toMatchObject({
      tier: 'launch',
      rateBps: 900,
      vatRateBps: 1000,
      commissionMinor: 900,
      vatMinor: 90,
    });
    const { rows } = await fx.db.query<{ actor: string; target: string }>(
      `SELECT actor, target FROM audit_log WHERE action = 'commission.tiers.update'`,
    );
    expect(rows).toEqual([{ actor: `user:${platformAdmin.userId}`, target: shopA.partnerId }]);
    // Back to the defaults for the tests that follow.
    await api('PUT', '/api/commission/tiers', platformAdmin, {
      partnerId: shopA.partnerId,
      tiers: [],
      vatRates: [{ region: 'EG', rateBps: 1400 }],
    });
  });

  it('connects a payout account for the caller’s own shop through Stripe Connect', async () => {
    const made = await api('POST', '/api/commission/payout-accounts', adminA, { partnerId: shopA.partnerId });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ partnerId: shopA.partnerId, provider: 'stripe', status: 'active' });
    expect(stripe.accounts().map((a) => a.id)).toContain(made.body.accountRef);
    expectProblem(
      await api('POST', '/api/commission/payout-accounts', adminA, { partnerId: shopB.partnerId }),
      404,
      'PARTNER_NOT_FOUND',
    );
    const b = await api('POST', '/api/commission/payout-accounts', adminB, { partnerId: shopB.partnerId });
    expect(b.status).toBe(201);
    const listed = await api('GET', '/api/commission/payout-accounts', adminA);
    expect(listed.body.accounts).toEqual([
      expect.objectContaining({ partnerId: shopA.partnerId, accountRef: made.body.accountRef }),
    ]);
    const all = await api('GET', '/api/commission/payout-accounts', platformAdmin);
    expect((all.body.accounts as unknown[]).length).toBe(2);
  });

  it('pays out on demand with a fresh second factor, audited; partners see their payouts and statements', async () => {
    expectProblem(await api('POST', '/api/commission/payout', platformNoMfa, {}), 403, 'MFA_STEP_UP_REQUIRED');
    const shopC = await createTestShop(fx.db, { tenantId: 'shop-without-account' });
    const none = await api('POST', '/api/commission/payout', platformAdmin, { partnerId: shopC.partnerId });
    expect(none.body).toMatchObject({
      payouts: [],
      skipped: [{ partnerId: shopC.partnerId, reason: 'no_payout_account' }],
    });
    expectProblem(await api('POST', '/api/commission/payout', adminA, {}), 403, 'FORBIDDEN');
    const run = await api('POST', '/api/commission/payout', platformAdmin, { partnerId: shopA.partnerId });
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    const paid = run.body.payouts as { id: string; amountMinor: number; status: string; partnerId: string }[];
    expect(paid).toEqual([
      expect.objectContaining({ partnerId: shopA.partnerId, amountMinor: 124_350, status: 'paid' }),
    ]);
    const again = await api('POST', '/api/commission/payout', platformAdmin, { partnerId: shopA.partnerId });
    expect(again.body).toMatchObject({
      payouts: [],
      skipped: [{ partnerId: shopA.partnerId, reason: 'balance_not_positive' }],
    });
    const { rows } = await fx.db.query(`SELECT actor FROM audit_log WHERE action = 'commission.payout'`);
    expect(rows).toEqual([0, 1, 2].map(() => ({ actor: `user:${platformAdmin.userId}` })));

    const mine = await api('GET', '/api/commission/payouts', adminA);
    expect((mine.body.payouts as { id: string }[]).map((p) => p.id)).toEqual([paid[0]!.id]);
    expect((await api('GET', '/api/commission/payouts', adminB)).body.payouts).toEqual([]);

    const pdf = await fetch(`${fx.api.url}/api/commission/payouts/${paid[0]!.id}/statement.pdf`, {
      headers: { authorization: `Bearer ${adminA.token}` },
    });
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(
      Buffer.from(await pdf.arrayBuffer())
        .subarray(0, 5)
        .toString('latin1'),
    ).toBe('%PDF-');
    expectProblem(
      await api('GET', `/api/commission/payouts/${paid[0]!.id}/statement.pdf`, adminB),
      404,
      'PAYOUT_NOT_FOUND',
    );
  });
});
