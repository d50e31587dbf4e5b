// The access matrix's money (issue 16): payments, installment plans, wallets and their holds,
// commissions, payouts and payout accounts, risk assessments, fraud alerts and blocks, one set per
// principal so every money route has an "own" and a "foreign" resource (only imported by tests).
// Written as the platform (the fixture's owner connection) straight into the tables, like
// marketplace-fixture.ts: the matrix tests who may reach a resource, not how it came to be. The
// wallets' money moves through the ledger's own functions (its accounts and totals are kept by them).
import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '@clutch/db';
import { transferId } from '../ledger/ids.js';
import { ledger } from '../ledger/ledger.js';
import type { MarketplaceBundle } from './marketplace-fixture.js';

/** The money resources a principal calls its own. */
export interface MoneyBundle {
  /** A captured wallet payment of the principal's booking (marketplace bundle): read, refunded, receipted. */
  paymentId: string;
  /** A paid (closed) installment plan of that booking's repair order. */
  planId: string;
  /** A paid payout of the bundle's shop (its statement PDF). */
  payoutId: string;
  /**
   * A pending hold of the principal's own wallet, for the routes that release one. Platform staff
   * hold no wallet: theirs names the fleet's hold (they are refused before it is looked at).
   */
  holdId: string;
  /** A stored risk assessment of the principal as payer, and the open fraud alert it raised. */
  assessmentId: string;
  alertId: string;
  /** A block (of a device nobody uses) to lift. */
  blockId: string;
  /** Whom wallet transfers go to: the same person for every principal (a transfer names no resource of the caller's). */
  recipientUserId: string;
}

type Name = 'ownerA' | 'ownerB' | 'staffX' | 'techY' | 'fleet' | 'platform';

export interface MoneyParties {
  /** Each principal's tenant and user (the wallet's holder: the person in the consumer tenant, else the organisation). */
  users: Record<Name, { tenantId: string; userId: string; consumer: boolean }>;
  /** Each principal's marketplace bundle: its booking, repair order and shop. */
  market: Record<Name, MarketplaceBundle>;
}

const CURRENCY = 'EUR';

const one = async (q: Queryable, sql: string, params: unknown[]): Promise<string> =>
  (await q.query<{ id: string }>(sql, params)).rows[0]!.id;

interface OrderFacts {
  tenantId: string;
  partnerId: string;
  customerTenantId: string;
  customerUserId: string | null;
}

async function orderFacts(q: Queryable, bookingId: string): Promise<OrderFacts> {
  const { rows } = await q.query<OrderFacts>(
    `SELECT tenant_id AS "tenantId", partner_id::text AS "partnerId", customer_tenant_id AS "customerTenantId",
            customer_user_id::text AS "customerUserId"
       FROM bookings WHERE id = $1`,
    [bookingId],
  );
  return rows[0]!;
}

/** A wallet payment of the booking, walked pending -> captured through the status gate. */
async function payment(q: Queryable, m: MarketplaceBundle): Promise<string> {
  const o = await orderFacts(q, m.bookingId);
  const id = await one(
    q,
    `INSERT INTO payments (tenant_id, partner_id, booking_id, repair_order_id, customer_tenant_id, customer_user_id,
                           purpose, provider, amount_minor, currency, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, 'booking', 'wallet', 5000, $7, 'matrix') RETURNING id::text AS id`,
    [o.tenantId, o.partnerId, m.bookingId, m.repairOrderId, o.customerTenantId, o.customerUserId, CURRENCY],
  );
  await q.query(`UPDATE payments SET status = 'authorized' WHERE id = $1`, [id]);
  await q.query(`UPDATE payments SET status = 'captured', captured_minor = 5000, capture_seq = 1 WHERE id = $1`, [id]);
  return id;
}

/** A paid installment plan of the repair order (closed: an early payoff answers 409, nothing is charged). */
async function plan(q: Queryable, m: MarketplaceBundle): Promise<string> {
  const o = await orderFacts(q, m.bookingId);
  return one(
    q,
    `INSERT INTO installment_plans (tenant_id, partner_id, customer_tenant_id, customer_user_id, repair_order_id, provider,
                                    payment_method, status, financed_minor, total_fee_minor, currency, installment_count,
                                    region, terms, time_zone, starts_at, closed_at, close_reason, created_by)
     VALUES ($1, $2, $3, $4, $5, 'stripe', 'pm_card_visa', 'paid', 30000, 0, $6, 3, 'default', '{}', 'Europe/Berlin',
             now() - interval '90 days', now(), 'paid', 'matrix') RETURNING id::text AS id`,
    [o.tenantId, o.partnerId, o.customerTenantId, o.customerUserId, m.repairOrderId, CURRENCY],
  );
}

/** The shop's payout account, a commission on `paymentId` and a paid payout that settled it. */
async function shopMoney(q: Queryable, partnerId: string, paymentId: string): Promise<string> {
  const { rows } = await q.query<{ tenantId: string }>(`SELECT tenant_id AS "tenantId" FROM partners WHERE id = $1`, [
    partnerId,
  ]);
  const tenantId = rows[0]!.tenantId;
  const account = `acct_matrix_${partnerId.slice(0, 8)}`;
  await q.query(
    `INSERT INTO partner_payout_accounts (tenant_id, partner_id, provider, account_ref, status, created_by)
     VALUES ($1, $2, 'stripe', $3, 'active', 'matrix')`,
    [tenantId, partnerId, account],
  );
  const payoutId = await one(
    q,
    `INSERT INTO payouts (tenant_id, partner_id, run_key, provider, account_ref, amount_minor, currency, status, transfer_ref,
                          period_start, period_end, created_by, completed_at)
     VALUES ($1, $2, $3, 'stripe', $4, 4500, $5, 'paid', $6, now() - interval '7 days', now(), 'matrix', now())
     RETURNING id::text AS id`,
    [tenantId, partnerId, `matrix:${partnerId}`, account, CURRENCY, `tr_matrix_${partnerId.slice(0, 8)}`],
  );
  await q.query(
    `INSERT INTO commissions (tenant_id, partner_id, payment_id, capture_ref, amount_minor, currency, tier, tier_rate_bps,
                              bonus_bps, rate_bps, commission_minor, region, vat_rate_bps, vat_minor, net_minor, payout_id,
                              captured_at)
     VALUES ($1, $2, $3, $4, 5000, $5, 'standard', 1000, 0, 1000, 500, 'DE', 0, 0, 4500, $6, now() - interval '3 days')`,
    [tenantId, partnerId, paymentId, `capture:${paymentId}:1`, CURRENCY, payoutId],
  );
  return payoutId;
}

/**
 * The holder's EUR wallet with 100.00 in it (a top-up through the provider's clearing account) and
 * a pending hold of 10.00 for the principal's shop, through the ledger's own functions.
 */
async function wallet(
  q: Queryable,
  holder: { tenantId: string; userId: string; consumer: boolean },
  partnerId: string,
): Promise<string> {
  const shop = (
    await q.query<{ tenantId: string }>(`SELECT tenant_id AS "tenantId" FROM partners WHERE id = $1`, [partnerId])
  ).rows[0]!.tenantId;
  const account = await ledger.ensureAccount(q, {
    tenantId: holder.tenantId,
    ownerUserId: holder.consumer ? holder.userId : null,
    partnerId: null,
    qualifier: null,
    code: 'customer_wallet',
    currency: CURRENCY,
  });
  const clearing = await ledger.ensureAccount(q, {
    tenantId: 'platform',
    ownerUserId: null,
    partnerId: null,
    qualifier: 'stripe',
    code: 'provider_clearing',
    currency: CURRENCY,
  });
  const payable = await ledger.ensureAccount(q, {
    tenantId: shop,
    ownerUserId: null,
    partnerId,
    qualifier: null,
    code: 'shop_payable',
    currency: CURRENCY,
  });
  const topUp = transferId(`matrix-topup:${account.id}`);
  const hold = transferId(`matrix-hold:${account.id}`);
  const results = await ledger.createTransfers(q, [
    {
      id: topUp,
      debitAccountId: clearing.id,
      creditAccountId: account.id,
      amountMinor: 10_000,
      currency: CURRENCY,
      reason: 'wallet_topup',
      reference: 'matrix',
    },
    {
      id: hold,
      debitAccountId: account.id,
      creditAccountId: payable.id,
      amountMinor: 1_000,
      currency: CURRENCY,
      reason: 'wallet_hold',
      reference: `shop:${partnerId}`,
      pending: { timeoutSeconds: 86_400 },
    },
  ]);
  for (const r of results) if (r.status !== 'created') throw new Error(`matrix wallet: ${r.status}`);
  return hold;
}

/** A stored assessment of the payer's payment and the open alert it raised; a block of an unused device. */
async function fraud(
  q: Queryable,
  payer: { tenantId: string; userId: string },
  paymentId: string,
): Promise<{ assessmentId: string; alertId: string; blockId: string }> {
  const assessmentId = randomUUID();
  await q.query(
    `INSERT INTO risk_assessments (id, tenant_id, user_id, kind, reference, amount_minor, currency, score, decision, reasons)
     VALUES ($1, $2, $3, 'payment', $4, 5000, $5, 0.6, 'review', '[{"code":"velocity","weight":0.6}]')`,
    [assessmentId, payer.tenantId, payer.userId, paymentId, CURRENCY],
  );
  const alertId = randomUUID();
  await q.query(
    `INSERT INTO fraud_alerts (id, tenant_id, assessment_id, decision, score) VALUES ($1, $2, $3, 'review', 0.6)`,
    [alertId, payer.tenantId, assessmentId],
  );
  const blockId = await one(
    q,
    `INSERT INTO fraud_blocks (subject, value_hash, label, reason, until, created_by)
     VALUES ('device', encode(sha256(convert_to($1, 'UTF8')), 'hex'), 'matrix', 'matrix', now() + interval '1 day', 'matrix')
     RETURNING id::text AS id`,
    [`matrix-device-${randomUUID()}`],
  );
  return { assessmentId, alertId, blockId };
}

/**
 * "Own" per principal, following the marketplace bundles: the payment and installment plan of the
 * principal's booking (owners and the fleet their own; shop X's admin owner A's at shop X; shop Y's
 * technician owner B's at shop Y; the platform admin the fleet's), the payout of that booking's shop,
 * the principal's own wallet with a hold in it, and a fraud alert and a block of its own.
 */
export async function seedMoney(db: Database, p: MoneyParties): Promise<Record<Name, MoneyBundle>> {
  return db.transaction(async (q) => {
    const names: Name[] = ['ownerA', 'ownerB', 'staffX', 'techY', 'fleet', 'platform'];
    // One payment and plan per booking (bundles sharing a booking share them), one payout per shop.
    const payments = new Map<string, { paymentId: string; planId: string }>();
    const payouts = new Map<string, string>();
    const out = {} as Record<Name, MoneyBundle>;
    for (const name of names) {
      const m = p.market[name];
      let paid = payments.get(m.bookingId);
      if (!paid) {
        paid = { paymentId: await payment(q, m), planId: await plan(q, m) };
        payments.set(m.bookingId, paid);
      }
      let payoutId = payouts.get(m.partnerId);
      if (!payoutId) {
        payoutId = await shopMoney(q, m.partnerId, paid.paymentId);
        payouts.set(m.partnerId, payoutId);
      }
      const user = p.users[name];
      out[name] = {
        ...paid,
        payoutId,
        holdId: name === 'platform' ? out.fleet.holdId : await wallet(q, user, m.partnerId),
        ...(await fraud(q, user, paid.paymentId)),
        recipientUserId: p.users.ownerB.userId,
      };
    }
    return out;
  });
}
