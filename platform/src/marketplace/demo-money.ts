import { ledger, recordCommission, transferId, type PayoutProvider } from '@clutch/api';
import type { Database, Queryable } from '@clutch/db';
import { DEMO_SHOPS, type SeededDemoShops } from './demo-shops.js';

/**
 * The money side of the `npm start` demo (docs/payments.md, "Demo"), after the demo shops exist:
 *
 * - **Commission tiers**: the demo garage (the demo shop admin's) gets its own bands (12 % from the
 *   first euro, 10 % above €20,000 a month), so the payouts page shows a partner's override at work;
 *   the other shops keep the platform's defaults (db/migrations/034_commissions.sql).
 * - **VAT**: the demo shops are in Germany; the platform's VAT table ships Egypt, Saudi Arabia and the
 *   UAE, so the demo adds Germany's 19 % (a row an operator would add the same way).
 * - **Payout accounts**: each demo repair shop gets a Connect account on the platform's payout provider
 *   (the in-process Stripe emulator when no keys are set). The emulator forgets its accounts when it
 *   stops, so with the emulator the account is made again and stored on every start.
 * - **History**: eight past card jobs of the demo fleet at the demo garage over the last four weeks, each
 *   booked as a capture books it (`provider_clearing(stripe) -> shop_payable`) with its commission recorded
 *   by the commissions domain (`shop_payable -> platform_revenue` and `-> tax_payable`), and three weekly
 *   payouts that paid the shop its net (`shop_payable -> provider_clearing(stripe)`), with their
 *   statements. So the payouts page has figures before anyone pays in the walk, and the shop's balance
 *   starts at zero: the next payout pays only what the provider holds (the emulator starts empty). The
 *   history has no payment rows and no provider objects: it is ledger and commission history only.
 *   Deterministic ids make a restart on the same data directory add nothing twice.
 */

/**
 * The demo garage's past card jobs: days ago and the amount in euro cents (diagnostics, brakes,
 * ignition ...), each paid out with the others of its week `payoutDaysAgo` days ago.
 */
export const DEMO_HISTORY: readonly { daysAgo: number; amountMinor: number; payoutDaysAgo: number }[] = [
  { daysAgo: 27, amountMinor: 4900, payoutDaysAgo: 21 },
  { daysAgo: 25, amountMinor: 18950, payoutDaysAgo: 21 },
  { daysAgo: 22, amountMinor: 9900, payoutDaysAgo: 21 },
  { daysAgo: 20, amountMinor: 32480, payoutDaysAgo: 14 },
  { daysAgo: 16, amountMinor: 4900, payoutDaysAgo: 14 },
  { daysAgo: 13, amountMinor: 16767, payoutDaysAgo: 7 },
  { daysAgo: 11, amountMinor: 7450, payoutDaysAgo: 7 },
  { daysAgo: 8, amountMinor: 24900, payoutDaysAgo: 7 },
];

const DEMO_GARAGE_TENANT = DEMO_SHOPS[0]!.tenantId;
const CURRENCY = 'EUR';

export interface DemoMoneyOptions {
  /** The platform's payout provider (absent: no payout accounts are connected). */
  payouts?: PayoutProvider | undefined;
  /** The payout provider is the in-process emulator, which forgets its accounts between starts. */
  emulated: boolean;
  now?: Date;
}

export interface SeededDemoMoney {
  /** Partners given a payout account (this start). */
  payoutAccounts: number;
  /** Past jobs recorded this start (0 on a restart). */
  historyAdded: number;
}

async function seedTiers(q: Queryable, partnerId: string): Promise<void> {
  for (const band of [
    { tier: 'partner', min: 0, rate: 1200 },
    { tier: 'partner-plus', min: 2_000_000, rate: 1000 },
  ]) {
    await q.query(
      `INSERT INTO commission_tiers (tenant_id, partner_id, currency, tier, min_volume_minor, rate_bps)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT DO NOTHING`,
      [DEMO_GARAGE_TENANT, partnerId, CURRENCY, band.tier, band.min, band.rate],
    );
  }
}

async function connectPayoutAccount(
  db: Database,
  shop: { id: string; tenantId: string; name: string },
  options: DemoMoneyOptions,
): Promise<boolean> {
  const { payouts } = options;
  if (!payouts) return false;
  const stored = await db.query<{ account_ref: string }>(
    `SELECT account_ref FROM partner_payout_accounts WHERE partner_id = $1 AND provider = 'stripe'`,
    [shop.id],
  );
  // A real provider keeps its accounts: one stored stays. The emulator forgets them at every stop.
  if (stored.rows[0] && !options.emulated) return false;
  const { account } = await payouts.createConnectedAccount({
    idempotencyKey: `demo-payout-account:${shop.id}`,
    country: 'DE',
    metadata: { partnerId: shop.id, demo: 'true' },
  });
  await db.query(
    `INSERT INTO partner_payout_accounts (tenant_id, partner_id, provider, account_ref, status, created_by)
     VALUES ($1, $2, 'stripe', $3, 'active', 'demo-seed')
     ON CONFLICT (partner_id, provider) DO UPDATE SET account_ref = EXCLUDED.account_ref, status = 'active', updated_at = now()`,
    [shop.tenantId, shop.id, account],
  );
  return true;
}

const DAY_MS = 86_400_000;

async function book(q: Queryable, transfer: Parameters<typeof ledger.createTransfers>[1][number]): Promise<boolean> {
  const [result] = await ledger.createTransfers(q, [transfer]);
  if (result?.status === 'created') return true;
  if (result?.status === 'exists') return false;
  throw new Error(`demo history: the ledger refused ${transfer.reason} ${transfer.id}: ${result?.status}`);
}

/**
 * Past card jobs, booked as payments book them (`provider_clearing(stripe) -> shop_payable`, then the
 * commission by the commissions domain), and the weekly payouts that paid the shop its net
 * (`shop_payable -> provider_clearing(stripe)`, a `paid` payout row with the commissions it settled).
 * Everything of the history is paid out, so the shop's balance starts at zero and the next payout
 * (the walk's) pays only what the provider really holds: the emulator starts empty at every start.
 */
async function seedHistory(q: Queryable, partnerId: string, accountRef: string, now: Date): Promise<number> {
  const ref = (code: 'shop_payable' | 'provider_clearing') =>
    code === 'shop_payable'
      ? { tenantId: DEMO_GARAGE_TENANT, ownerUserId: null, partnerId, qualifier: null, code, currency: CURRENCY }
      : { tenantId: 'platform', ownerUserId: null, partnerId: null, qualifier: 'stripe', code, currency: CURRENCY };
  const [payable, clearing] = await Promise.all([
    ledger.ensureAccount(q, ref('shop_payable')),
    ledger.ensureAccount(q, ref('provider_clearing')),
  ]);
  let added = 0;
  const weeks = new Map<number, { captureRefs: string[]; netMinor: number }>();
  for (const [index, job] of DEMO_HISTORY.entries()) {
    const name = `demo-history:${partnerId}:${index}`;
    const paymentId = transferId(`${name}:payment`);
    const captureRef = `${name}:capture`;
    if (
      await book(q, {
        id: transferId(captureRef),
        debitAccountId: clearing.id,
        creditAccountId: payable.id,
        amountMinor: job.amountMinor,
        currency: CURRENCY,
        reason: 'capture',
        reference: `payment:${paymentId}`,
        metadata: { demo: 'true' },
      })
    )
      added++;
    const commission = await recordCommission(q, {
      paymentId,
      captureRef,
      shopTenantId: DEMO_GARAGE_TENANT,
      partnerId,
      amountMinor: job.amountMinor,
      currency: CURRENCY,
      at: new Date(now.getTime() - job.daysAgo * DAY_MS),
    });
    const week = weeks.get(job.payoutDaysAgo) ?? { captureRefs: [], netMinor: 0 };
    week.captureRefs.push(captureRef);
    week.netMinor += job.amountMinor - commission.commissionMinor - commission.vatMinor;
    weeks.set(job.payoutDaysAgo, week);
  }
  for (const [daysAgo, week] of weeks) {
    const runKey = `demo-history:${partnerId}:${daysAgo}`;
    const paidAt = new Date(now.getTime() - daysAgo * DAY_MS);
    const inserted = await q.query<{ id: string }>(
      `INSERT INTO payouts (tenant_id, partner_id, run_key, provider, account_ref, amount_minor, currency, status,
                            transfer_ref, period_start, period_end, created_by, created_at, completed_at)
       VALUES ($1, $2, $3, 'stripe', $4, $5, $6, 'paid', $7, $8, $9, 'demo-seed', $9, $9)
       ON CONFLICT (run_key) DO NOTHING RETURNING id::text`,
      [
        DEMO_GARAGE_TENANT,
        partnerId,
        runKey,
        accountRef,
        week.netMinor,
        CURRENCY,
        `tr_demo_${daysAgo}`,
        new Date(paidAt.getTime() - 7 * DAY_MS),
        paidAt,
      ],
    );
    const payoutId = inserted.rows[0]?.id;
    if (!payoutId) continue; // paid out on an earlier start
    const ledgerId = transferId(`payout:${runKey}`);
    await book(q, {
      id: ledgerId,
      debitAccountId: payable.id,
      creditAccountId: clearing.id,
      amountMinor: week.netMinor,
      currency: CURRENCY,
      reason: 'payout',
      reference: `payout:${payoutId}`,
      metadata: { demo: 'true' },
    });
    await q.query('UPDATE payouts SET ledger_transfer_id = $2 WHERE id = $1', [payoutId, ledgerId]);
    await q.query('UPDATE commissions SET payout_id = $1 WHERE capture_ref = ANY($2)', [payoutId, week.captureRefs]);
  }
  return added;
}

/** Seeds the demo's money (idempotent across restarts); runs as the platform's system connection. */
export async function seedDemoMoney(
  db: Database,
  shops: SeededDemoShops,
  options: DemoMoneyOptions,
): Promise<SeededDemoMoney> {
  const now = options.now ?? new Date();
  const garage = shops.shops.find((s) => s.tenantId === DEMO_GARAGE_TENANT);
  await db.query(`INSERT INTO vat_rates (region, rate_bps) VALUES ('DE', 1900) ON CONFLICT (region) DO NOTHING`);
  let payoutAccounts = 0;
  for (const shop of shops.shops) {
    const demo = DEMO_SHOPS.find((s) => s.tenantId === shop.tenantId);
    if (!demo?.kinds.includes('repair_center')) continue;
    if (await connectPayoutAccount(db, shop, options)) payoutAccounts++;
  }
  let historyAdded = 0;
  if (garage) {
    const account = await db.query<{ account_ref: string }>(
      `SELECT account_ref FROM partner_payout_accounts WHERE partner_id = $1 AND provider = 'stripe'`,
      [garage.id],
    );
    historyAdded = await db.transaction(async (q) => {
      await seedTiers(q, garage.id);
      return seedHistory(q, garage.id, account.rows[0]?.account_ref ?? 'acct_demo', now);
    });
  }
  return { payoutAccounts, historyAdded };
}

/** The line `npm start` prints about it. */
export function demoMoneyLines(seeded: SeededDemoMoney, dashboardOrigin: string): string[] {
  return [
    `Demo money: ${seeded.payoutAccounts} payout account(s) connected; the demo garage's earnings: ${dashboardOrigin}/payouts.html, the wallet: ${dashboardOrigin}/wallet.html`,
  ];
}
