import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '@clutch/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestShop } from '../bookings/test-shop.js';
import { ledger } from '../ledger/ledger.js';
import type { AccountRef } from '../ledger/types.js';
import { backends } from '../test-fixtures.js';
import {
  CommissionError,
  commissionAccounts,
  computeCommission,
  recordCommission,
  reverseCommission,
} from './commission.js';

/** Posted balance (credits - debits) of an account, opening it if needed. */
async function balance(q: Queryable, ref: AccountRef): Promise<number> {
  const account = await ledger.ensureAccount(q, ref);
  const [b] = await ledger.balances(q, [account.id]);
  return b!.postedMinor;
}

describe.each(backends('commissions'))('commission at capture: %s', (_name, open) => {
  let db: Database;
  let egypt: { tenantId: string; partnerId: string };
  let nowhere: { tenantId: string; partnerId: string };
  const at = new Date();

  beforeAll(async () => {
    db = await open!();
    egypt = await createTestShop(db, { tenantId: 'shop-cairo' });
    await db.query(
      `UPDATE partners SET currency = 'EGP', address = '{"line1": "1 Tahrir Sq", "country": "eg"}' WHERE id = $1`,
      [egypt.partnerId],
    );
    nowhere = await createTestShop(db, { tenantId: 'shop-nowhere' });
  });
  afterAll(async () => {
    await db?.close();
  });

  const record = (
    shop: { tenantId: string; partnerId: string },
    amountMinor: number,
    captureRef = randomUUID(),
    paymentId = randomUUID(),
  ) =>
    // As a shop's user captures: confined to the shop's tenant (role clutch_app).
    db.withTenant(shop.tenantId, (q) =>
      recordCommission(q, {
        paymentId,
        captureRef,
        shopTenantId: shop.tenantId,
        partnerId: shop.partnerId,
        amountMinor,
        currency: shop === egypt ? 'EGP' : 'EUR',
        at,
      }),
    );

  it('takes the standard tier and Egyptian VAT, stores the row and moves the money in the shop’s transaction', async () => {
    const accounts = commissionAccounts(egypt.tenantId, egypt.partnerId, 'EGP', 'EG');
    const before = {
      shop: await balance(db, accounts.shopPayable),
      revenue: await balance(db, accounts.revenue),
      tax: await balance(db, accounts.tax),
    };
    const c = await record(egypt, 100_000);
    expect(c).toMatchObject({
      tier: 'standard',
      rateBps: 1500,
      region: 'EG',
      vatRateBps: 1400,
      commissionMinor: 15_000,
      vatMinor: 2_100,
      netMinor: 82_900,
    });
    expect(await balance(db, accounts.shopPayable)).toBe(before.shop - 17_100);
    expect(await balance(db, accounts.revenue)).toBe(before.revenue + 15_000);
    expect(await balance(db, accounts.tax)).toBe(before.tax + 2_100);
  });

  it('records a capture once: a second call, even a concurrent one, returns the first row and moves nothing', async () => {
    const accounts = commissionAccounts(egypt.tenantId, egypt.partnerId, 'EGP', 'EG');
    const ref = randomUUID();
    const paymentId = randomUUID();
    const revenueBefore = await balance(db, accounts.revenue);
    const [a, b] = await Promise.all([record(egypt, 20_000, ref, paymentId), record(egypt, 20_000, ref, paymentId)]);
    const c = await record(egypt, 20_000, ref, paymentId);
    expect(new Set([a.id, b.id, c.id]).size).toBe(1);
    expect(await balance(db, accounts.revenue)).toBe(revenueBefore + 3_000);
    const { rows } = await db.query('SELECT count(*)::int AS n FROM commissions WHERE capture_ref = $1', [ref]);
    expect(rows[0]).toEqual({ n: 1 });
    // The same capture reference for another amount is a caller's bug, not a second commission.
    await expect(record(egypt, 20_001, ref, paymentId)).rejects.toMatchObject({ code: 'CAPTURE_REF_CONFLICT' });
  });

  it('charges no VAT where the region is unknown and refuses a partner of another tenant', async () => {
    const c = await record(nowhere, 9_999);
    expect(c).toMatchObject({ region: 'ZZ', vatRateBps: 0, vatMinor: 0, commissionMinor: 1_499, netMinor: 8_500 });
    await expect(
      db.withTenant(nowhere.tenantId, (q) =>
        computeCommission(q, {
          shopTenantId: egypt.tenantId,
          partnerId: egypt.partnerId,
          amountMinor: 100,
          currency: 'EGP',
          at,
        }),
      ),
    ).rejects.toBeInstanceOf(CommissionError);
  });

  it('moves a busy shop up a tier, lowers the rate for a top-rated one, and lets a partner override win', async () => {
    const busy = await createTestShop(db, { tenantId: 'shop-busy' });
    await db.query(`UPDATE partners SET currency = 'EGP', address = '{"country": "EG"}' WHERE id = $1`, [
      busy.partnerId,
    ]);
    const quote = () =>
      db.withTenant(busy.tenantId, (q) =>
        computeCommission(q, {
          shopTenantId: busy.tenantId,
          partnerId: busy.partnerId,
          amountMinor: 10_000,
          currency: 'EGP',
          at,
        }),
      );
    expect(await quote()).toMatchObject({ tier: 'standard', rateBps: 1500, volumeMinor: 0 });
    // 600,000 EGP captured in the last 30 days (and more before that, which does not count).
    await db.query(
      `INSERT INTO commissions (tenant_id, partner_id, payment_id, capture_ref, amount_minor, currency, tier, tier_rate_bps,
         bonus_bps, rate_bps, commission_minor, region, vat_rate_bps, vat_minor, net_minor, captured_at)
       VALUES ($1, $2, gen_random_uuid(), $3, 60000000, 'EGP', 'standard', 1500, 0, 1500, 0, 'EG', 0, 0, 60000000, now() - interval '3 days'),
              ($1, $2, gen_random_uuid(), $4, 900000000, 'EGP', 'standard', 1500, 0, 1500, 0, 'EG', 0, 0, 900000000, now() - interval '40 days')`,
      [busy.tenantId, busy.partnerId, randomUUID(), randomUUID()],
    );
    expect(await quote()).toMatchObject({ tier: 'silver', tierRateBps: 1200, rateBps: 1200, volumeMinor: 60_000_000 });
    await db.query(`UPDATE partners SET rating_avg = 4.8, rating_count = 12, rating_sum = 58 WHERE id = $1`, [
      busy.partnerId,
    ]);
    expect(await quote()).toMatchObject({ tier: 'silver', bonusBps: 100, bonuses: ['top_rated'], rateBps: 1100 });
    await db.query(
      `INSERT INTO commission_tiers (tenant_id, partner_id, currency, tier, min_volume_minor, rate_bps)
       VALUES ($1, $2, NULL, 'partner-deal', 0, 800)`,
      [busy.tenantId, busy.partnerId],
    );
    expect(await quote()).toMatchObject({ tier: 'partner-deal', tierRateBps: 800, rateBps: 700 });
    // Another shop sees only the defaults (row-level security), and keeps them.
    const other = await db.withTenant(egypt.tenantId, (q) =>
      q.query<{ n: number }>(`SELECT count(*)::int AS n FROM commission_tiers WHERE partner_id IS NOT NULL`),
    );
    expect(other.rows[0]!.n).toBe(0);
  });

  it('gives the on-time bonus to a shop that had 95 % of its booked repairs ready by the booking’s end', async () => {
    const punctual = await createTestShop(db, { tenantId: 'shop-punctual' });
    const quote = () =>
      db.withTenant(punctual.tenantId, (q) =>
        computeCommission(q, {
          shopTenantId: punctual.tenantId,
          partnerId: punctual.partnerId,
          amountMinor: 10_000,
          currency: 'EUR',
          at,
        }),
      );
    const deliver = async (n: number, late: boolean) => {
      for (let i = 0; i < n; i++) {
        const booking = randomUUID();
        const order = randomUUID();
        await db.query(
          `INSERT INTO bookings (id, tenant_id, partner_id, customer_tenant_id, service_code, service_name, status, starts_at, ends_at,
             currency, created_by)
           VALUES ($1, $2, $3, 'consumers', 'oil_change', 'Oil change', 'confirmed', now() - interval '10 days',
             now() - interval '10 days' + interval '2 hours', 'EUR', 'test')`,
          [booking, punctual.tenantId, punctual.partnerId],
        );
        await db.query(
          `INSERT INTO repair_orders (id, tenant_id, partner_id, booking_id, customer_tenant_id, status) VALUES ($1, $2, $3, $4, 'consumers', 'requested')`,
          [order, punctual.tenantId, punctual.partnerId, booking],
        );
        // The order's history as the lifecycle writes it: ready (on time or a day late), then delivered.
        await db.query(
          `INSERT INTO repair_order_events (tenant_id, repair_order_id, customer_tenant_id, from_status, to_status, actor, side, at)
           VALUES ($1, $2, 'consumers', 'quality_check', 'ready_for_pickup', 'test', 'shop', now() - interval '10 days' + $3::interval),
                  ($1, $2, 'consumers', 'ready_for_pickup', 'delivered', 'test', 'shop', now() - interval '8 days')`,
          [punctual.tenantId, order, late ? '1 day' : '1 hour'],
        );
      }
    };
    await deliver(9, false);
    expect(await quote()).toMatchObject({ bonuses: [], rateBps: 1500 }); // 9 orders: fewer than 10
    await deliver(1, false);
    expect(await quote()).toMatchObject({ bonuses: ['on_time'], bonusBps: 50, rateBps: 1450 });
    await deliver(1, true); // 10 of 11 on time: 91 %
    expect(await quote()).toMatchObject({ bonuses: [], rateBps: 1500 });
  });

  it('returns the commission pro rata on refunds, exactly all of it by the last one, once per refund', async () => {
    const accounts = commissionAccounts(egypt.tenantId, egypt.partnerId, 'EGP', 'EG');
    const paymentId = randomUUID();
    const revenueBefore = await balance(db, accounts.revenue);
    const taxBefore = await balance(db, accounts.tax);
    const c = await record(egypt, 33_333, `${paymentId}:1`, paymentId);
    // 4,999.95 + 699.993 + 27,633.057: the two units left go to the net, then the commission.
    expect(c).toMatchObject({ commissionMinor: 5_000, vatMinor: 699, netMinor: 27_634 });
    const reverse = (refundRef: string, refundedMinor: number) =>
      db.withTenant(egypt.tenantId, (q) => reverseCommission(q, { paymentId, refundRef, refundedMinor, at }));
    const first = await reverse('r1', 10_000);
    expect(first).toMatchObject({ commissionMinor: 1_500, vatMinor: 209 });
    expect((await reverse('r1', 10_000))!.id).toBe(first!.id);
    const second = await reverse('r2', 10_000);
    expect(second).toMatchObject({ commissionMinor: 1_500, vatMinor: 210 });
    const last = await reverse('r3', 13_333);
    expect(last).toMatchObject({ commissionMinor: 2_000, vatMinor: 280 });
    expect(await balance(db, accounts.revenue)).toBe(revenueBefore);
    expect(await balance(db, accounts.tax)).toBe(taxBefore);
    // A payment without commission (a wallet top-up) has nothing to return.
    expect(
      await db.withTenant(egypt.tenantId, (q) =>
        reverseCommission(q, { paymentId: randomUUID(), refundRef: 'x', refundedMinor: 5 }),
      ),
    ).toBeNull();
  });

  it('keeps the ledger verifiable', async () => {
    const result = await ledger.verify(db);
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
  });
});
