import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '@clutch/db';
import { startStripeEmulator, type StripeEmulator } from '@clutch/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestShop } from '../bookings/test-shop.js';
import { transferId } from '../ledger/ids.js';
import { ledger } from '../ledger/ledger.js';
import { createStripeProvider } from '../payments/providers/stripe.js';
import type { PayoutProvider } from '../payments/providers/provider.js';
import { backends } from '../test-fixtures.js';
import { recordCommission } from './commission.js';
import { payoutJob } from './jobs.js';
import { clearingRef, localWeekStart, shopPayableRef } from './payouts.js';

const silent = { info: () => {}, warn: () => {} };

describe('a shop’s payout week', () => {
  it('starts on Monday 00:00 in the shop’s own time zone', () => {
    // Sunday 23:30 UTC is already Monday 03:30 in Dubai, still Sunday in New York.
    const at = new Date('2026-12-06T23:30:00Z');
    expect(localWeekStart(at, 'Asia/Dubai')).toEqual({ day: '2026-12-07', instant: new Date('2026-12-06T20:00:00Z') });
    expect(localWeekStart(at, 'UTC')).toEqual({ day: '2026-11-30', instant: new Date('2026-11-30T00:00:00Z') });
    expect(localWeekStart(at, 'America/New_York').day).toBe('2026-11-30');
  });
});

describe.each(backends('commission_payouts'))('weekly payouts: %s', (_name, open) => {
  let db: Database;
  let stripe: StripeEmulator;
  let provider: ReturnType<typeof createStripeProvider>;
  const now = () => new Date();

  const balance = async (q: Queryable, tenantId: string, partnerId: string): Promise<number> => {
    const account = await ledger.ensureAccount(q, shopPayableRef(tenantId, partnerId, 'EGP'));
    return (await ledger.balances(q, [account.id]))[0]!.availableMinor;
  };

  /** A shop with a Connect account and `capturedMinor` captured (its commission taken). */
  async function paidShop(tenantId: string, capturedMinor: number) {
    const shop = await createTestShop(db, { tenantId, timeZone: 'Africa/Cairo' });
    await db.query(`UPDATE partners SET currency = 'EGP', address = '{"country": "EG"}' WHERE id = $1`, [
      shop.partnerId,
    ]);
    const { account } = await provider.createConnectedAccount({
      idempotencyKey: `acct:${tenantId}`,
      country: 'EG',
      metadata: {},
    });
    await db.query(
      `INSERT INTO partner_payout_accounts (tenant_id, partner_id, provider, account_ref, created_by) VALUES ($1, $2, 'stripe', $3, 'test')`,
      [tenantId, shop.partnerId, account],
    );
    const paymentId = randomUUID();
    if (capturedMinor > 0)
      await db.transaction(async (q) => {
        // What the payments domain does at capture: clearing -> shop_payable, then the commission.
        const clearing = await ledger.ensureAccount(q, clearingRef('EGP'));
        const payable = await ledger.ensureAccount(q, shopPayableRef(tenantId, shop.partnerId, 'EGP'));
        await ledger.createTransfers(q, [
          {
            id: transferId(`capture:${paymentId}:1`),
            debitAccountId: clearing.id,
            creditAccountId: payable.id,
            amountMinor: capturedMinor,
            currency: 'EGP',
            reason: 'capture',
          },
        ]);
      });
    await db.transaction((q) =>
      recordCommission(q, {
        paymentId,
        captureRef: `${paymentId}:1`,
        shopTenantId: tenantId,
        partnerId: shop.partnerId,
        amountMinor: capturedMinor > 0 ? capturedMinor : 10_000,
        currency: 'EGP',
        at: new Date(Date.now() - 60_000),
      }),
    );
    return { ...shop, account };
  }

  const payouts = (partnerId: string) =>
    db
      .query<{ status: string; amount_minor: string; transfer_ref: string | null }>(
        `SELECT status, amount_minor::text, transfer_ref FROM payouts WHERE partner_id = $1 ORDER BY created_at`,
        [partnerId],
      )
      .then((r) => r.rows);
  const transfersTo = (account: string) => stripe.transfers().filter((t) => t.destination === account);

  beforeAll(async () => {
    db = await open!();
    stripe = await startStripeEmulator({ webhookMode: 'manual' });
    provider = createStripeProvider({
      secretKey: stripe.secretKey,
      webhookSecret: stripe.webhookSecret,
      apiBase: stripe.url,
      maxNetworkRetries: 0,
    });
    // Money in the platform's Stripe balance to pay out of (a captured card payment).
    await provider.authorize({
      idempotencyKey: 'fund',
      amount: { amountMinor: 10_000_000, currency: 'EGP' },
      capture: 'automatic',
      confirm: true,
      paymentMethod: 'pm_card_visa',
      metadata: {},
    });
  });
  afterAll(async () => {
    await db?.close();
    await stripe?.close();
  });

  it('pays the balance less commission once a week, by one Connect transfer, and books it', async () => {
    const shop = await paidShop('payout-cairo', 100_000);
    expect(await db.transaction((q) => balance(q, shop.tenantId, shop.partnerId))).toBe(82_900);
    await payoutJob({ db, payouts: provider, now, logger: silent });
    expect(await payouts(shop.partnerId)).toEqual([
      { status: 'paid', amount_minor: '82900', transfer_ref: transfersTo(shop.account)[0]!.id },
    ]);
    expect(transfersTo(shop.account).map((t) => t.amount)).toEqual([82_900]);
    expect(await db.transaction((q) => balance(q, shop.tenantId, shop.partnerId))).toBe(0);
    const { rows } = await db.query<{ covered: number }>(
      `SELECT count(*)::int AS covered FROM commissions WHERE partner_id = $1 AND payout_id IS NOT NULL`,
      [shop.partnerId],
    );
    expect(rows[0]!.covered).toBe(1);
    // The same week again (the cron runs hourly): nothing more.
    await payoutJob({ db, payouts: provider, now, logger: silent });
    expect(await payouts(shop.partnerId)).toHaveLength(1);
    expect(transfersTo(shop.account)).toHaveLength(1);
  });

  it('never pays twice when a run dies after the provider paid: the retry gets the same transfer back', async () => {
    const shop = await paidShop('payout-crash', 50_000);
    // A run that dies right after the provider's answer, before booking it.
    const dying: PayoutProvider = {
      name: 'stripe',
      createConnectedAccount: (input) => provider.createConnectedAccount(input),
      async transfer(input) {
        await provider.transfer(input);
        throw new Error('killed between the transfer and its booking');
      },
    };
    await expect(payoutJob({ db, payouts: dying, now, logger: silent })).rejects.toThrow(
      /payouts failed.*killed between/,
    );
    expect(await payouts(shop.partnerId)).toEqual([{ status: 'pending', amount_minor: '41450', transfer_ref: null }]);
    expect(transfersTo(shop.account)).toHaveLength(1);
    // The job queue's retry: the pending row is found, the provider answers the first transfer again.
    await payoutJob({ db, payouts: provider, now, logger: silent });
    expect(transfersTo(shop.account).map((t) => t.amount)).toEqual([41_450]);
    expect(await payouts(shop.partnerId)).toEqual([
      { status: 'paid', amount_minor: '41450', transfer_ref: transfersTo(shop.account)[0]!.id },
    ]);
    expect(await db.transaction((q) => balance(q, shop.tenantId, shop.partnerId))).toBe(0);
  });

  it('keeps a payout pending through a provider outage and completes it on the retry', async () => {
    const shop = await paidShop('payout-outage', 20_000);
    stripe.failNext('POST', '/v1/transfers', 503);
    await expect(payoutJob({ db, payouts: provider, now, logger: silent })).rejects.toThrow(/payouts failed/);
    expect((await payouts(shop.partnerId)).map((p) => p.status)).toEqual(['pending']);
    await payoutJob({ db, payouts: provider, now, logger: silent });
    expect((await payouts(shop.partnerId)).map((p) => p.status)).toEqual(['paid']);
    expect(transfersTo(shop.account)).toHaveLength(1);
  });

  it('carries a negative balance over: a shop owing commission on cash jobs is paid nothing', async () => {
    const shop = await paidShop('payout-owes', 0);
    expect(await db.transaction((q) => balance(q, shop.tenantId, shop.partnerId))).toBe(-1_710);
    await payoutJob({ db, payouts: provider, now, logger: silent });
    expect(await payouts(shop.partnerId)).toEqual([]);
    expect(transfersTo(shop.account)).toHaveLength(0);
    expect(await db.transaction((q) => balance(q, shop.tenantId, shop.partnerId))).toBe(-1_710);
  });

  it('keeps the ledger verifiable', async () => {
    expect((await ledger.verify(db)).problems).toEqual([]);
  });
});
