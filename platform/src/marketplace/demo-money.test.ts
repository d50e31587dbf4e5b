import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStripeProvider, ledger } from '@clutch/api';
import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { startStripeEmulator, type StripeEmulator } from '@clutch/emulators';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { seedDemoAccounts } from '../identity/demo-accounts.js';
import { DEMO_HISTORY, seedDemoMoney } from './demo-money.js';
import { seedDemoShops, type SeededDemoShops } from './demo-shops.js';

describe.each(testDatabases(inject('pgAdminUrl'), 'demo_money'))('demo money: %s', (_engine, open) => {
  let db: Database;
  let emulator: StripeEmulator;
  let shops: SeededDemoShops;
  const dir = mkdtempSync(join(tmpdir(), 'clutch-demo-money-'));

  beforeAll(async () => {
    db = await open({ signals: false });
    emulator = await startStripeEmulator({});
    await seedDemoAccounts(db, { dir, ownedVehicleTenant: 'consumers' });
    shops = await seedDemoShops(db, { vehicleTenants: ['consumers'] });
  });
  afterAll(async () => {
    await emulator?.close();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects payout accounts and books a paid-out history once, leaving the shop owed nothing', async () => {
    const payouts = createStripeProvider({
      secretKey: emulator.secretKey,
      webhookSecret: emulator.webhookSecret,
      apiBase: emulator.url,
    });
    const first = await seedDemoMoney(db, shops, { payouts, emulated: true });
    // Two repair centers (the parts depot takes no payouts); every past job booked.
    expect(first).toEqual({ payoutAccounts: 2, historyAdded: DEMO_HISTORY.length });
    const again = await seedDemoMoney(db, shops, { payouts, emulated: true });
    // The emulator forgets its accounts, so they are made again; the history is not booked twice.
    expect(again).toEqual({ payoutAccounts: 2, historyAdded: 0 });

    const garage = shops.shops.find((s) => s.tenantId === 'demo-shop')!;
    const accounts = await db.query<{ account_ref: string; status: string }>(
      'SELECT account_ref, status FROM partner_payout_accounts WHERE partner_id = $1',
      [garage.id],
    );
    expect(accounts.rows).toHaveLength(1);
    expect(accounts.rows[0]!.status).toBe('active');
    expect(accounts.rows[0]!.account_ref).toMatch(/^acct_/);

    const commissions = await db.query<{ n: number; unpaid: number; gross: string; taken: string; rates: number[] }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE payout_id IS NULL)::int AS unpaid,
              sum(amount_minor)::text AS gross, sum(commission_minor + vat_minor)::text AS taken,
              array_agg(DISTINCT rate_bps) AS rates
         FROM commissions WHERE partner_id = $1`,
      [garage.id],
    );
    const c = commissions.rows[0]!;
    expect(c).toMatchObject({ n: DEMO_HISTORY.length, unpaid: 0 });
    expect(Number(c.gross)).toBe(DEMO_HISTORY.reduce((s, j) => s + j.amountMinor, 0));
    // The garage's own tier (12 %), not the platform's 15 %.
    expect(c.rates).toEqual([1200]);

    const paid = await db.query<{ n: number; total: string }>(
      `SELECT count(*)::int AS n, sum(amount_minor)::text AS total FROM payouts WHERE partner_id = $1 AND status = 'paid'`,
      [garage.id],
    );
    expect(paid.rows[0]!.n).toBe(3);
    // The payouts paid the shop exactly its net: gross less commission and VAT.
    expect(Number(paid.rows[0]!.total)).toBe(Number(c.gross) - Number(c.taken));

    const payable = await ledger.ensureAccount(db, {
      tenantId: 'demo-shop',
      ownerUserId: null,
      partnerId: garage.id,
      qualifier: null,
      code: 'shop_payable',
      currency: 'EUR',
    });
    const [balance] = await ledger.balances(db, [payable.id]);
    expect(balance!.postedMinor).toBe(0);
    const verified = await ledger.verify(db);
    expect(verified.problems).toEqual([]);
    expect(verified.ok).toBe(true);
  }, 60_000);
});
