import { randomUUID } from 'node:crypto';
import type { Database } from '@clutch/db';
import { startStripeEmulator, type StripeEmulator } from '@clutch/emulators';
import { generateSigningKeys } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOwnedVehicle, createTestShop, type TestShop } from '../bookings/test-shop.js';
import { transitionRepairOrder, type RepairOrderStatus } from '../repair-orders/lifecycle.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import {
  backends,
  call,
  expectProblem,
  outboxPayloads,
  startFixture,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';
import { runSettleJob, paymentJobDeps, reconcileYesterday, renewHolds, verifyStuckPayments } from './jobs.js';
import { createStripeProvider } from './providers/stripe.js';
import { reconcile } from './reconcile.js';
import { computeCommission } from '../commissions/commission.js';
import { runWeeklyPayouts } from '../commissions/payouts.js';
import { ledger } from '../ledger/ledger.js';
import type { AccountCode } from '../ledger/types.js';
import type { WiredPayments } from './deps.js';

/** The n-th free slot of the tests: days ahead, 90 minutes apart inside the shop's 00:00-23:45 day. */
function slotAt(n: number): Date {
  const d = new Date();
  return new Date(
    Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 2 + Math.floor(n / 10), 6 + (n % 10), 0),
  );
}

/** Moves a repair order along the shop's path, as the platform (each move as its lifecycle allows). */
async function moveOrder(db: Database, repairOrderId: string, path: RepairOrderStatus[]): Promise<void> {
  for (const to of path)
    await db.transaction((q) =>
      transitionRepairOrder(q, {
        repairOrderId,
        to,
        actor: 'test',
        side: to === 'approved' ? 'customer' : 'shop',
      }),
    );
}

describe.each(backends('api_payments'))('payments on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let em: StripeEmulator;
  let payments: WiredPayments;
  let shop: TestShop;
  let alice: TestUser;
  let bob: TestUser;
  let pam: TestUser;
  let pamMfa: TestUser;
  let tina: TestUser;
  let aliceCar: string;
  let slot = 0;

  const api = (method: string, path: string, as: TestUser | undefined, body?: unknown, key?: string): Promise<Reply> =>
    call(fx.api.url, method, `/api${path}`, {
      token: as?.token,
      ...(body !== undefined ? { body } : {}),
      headers: { 'x-requested-with': 'test', ...(key ? { 'idempotency-key': key } : {}) },
    });
  const ok = (res: Reply, status = 200): Record<string, unknown> => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return res.body;
  };
  /**
   * A booking, requested (a repair order exists), by a new customer each time unless one is named: the
   * fraud check (P6) counts a customer's payments, and these tests are not about velocity.
   */
  const booking = async (as?: TestUser): Promise<{ id: string; repairOrderId: string }> => {
    slot += 1;
    let vehicleId = aliceCar;
    if (as === undefined) {
      alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: `Customer ${slot}` });
      vehicleId = await createOwnedVehicle(fx.db, alice.userId, `car ${slot}`);
    }
    const res = ok(
      await api('POST', '/bookings', as ?? alice, {
        partnerId: shop.partnerId,
        serviceId: shop.services.oil_change,
        vehicleId,
        startsAt: slotAt(slot).toISOString(),
      }),
      201,
    );
    return { id: res.id as string, repairOrderId: res.repairOrderId as string };
  };
  const hold = async (bookingId: string, paymentMethod = 'pm_card_visa'): Promise<Record<string, unknown>> =>
    ok(await api('POST', '/payments/process', alice, { bookingId, provider: 'stripe', paymentMethod }), 201);
  const jobDeps = () => paymentJobDeps(fx.db, { payments });

  beforeAll(async () => {
    em = await startStripeEmulator({ webhookMode: 'manual' });
    // No SDK retries: an injected failure is seen by the payments domain, once.
    const stripe = createStripeProvider({
      secretKey: em.secretKey,
      webhookSecret: em.webhookSecret,
      apiBase: em.url,
      maxNetworkRetries: 0,
    });
    payments = {
      providers: new Map([['stripe', stripe]]),
      balance: stripe,
      browser: { stripe: { publishableKey: em.publishableKey, apiBase: em.url } },
    };
    fx = await startFixture({
      requireAuth: true,
      identity: { signingKeys: keys },
      rateLimit: { enabled: false },
      payments,
      ...(open ? { open } : {}),
    });
    em.setWebhookUrl(`${fx.api.url}/api/payments/webhooks/stripe`);
    alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
    bob = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bob' });
    aliceCar = await createOwnedVehicle(fx.db, alice.userId, 'Alice hatchback');
    shop = await createTestShop(fx.db, {
      tenantId: 'payments-shop',
      services: [{ code: 'oil_change', durationMinutes: 60, requiredSkill: 'oil_change', priceMinor: 8900 }],
      rules: { minLeadMinutes: 0, freeCancellationHours: 24, cancellationFeeMinor: 2500, noShowFeeMinor: 3000 },
    });
    pam = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['partner-admin'], name: 'Pam' });
    pamMfa = await signedInUser(fx.db, keys, {
      tenantId: shop.tenantId,
      roles: ['partner-admin'],
      name: 'Pam',
      mfa: true,
    });
    tina = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['technician'], name: 'Tina' });
  });
  afterAll(async () => {
    await fx?.close();
    await em?.close();
  });

  it("holds a booking's price at the provider and in the ledger, and tells the browser how to pay", async () => {
    const config = ok(await api('GET', '/payments/config', alice));
    expect(config).toEqual({
      providers: ['stripe', 'wallet'],
      stripe: { publishableKey: em.publishableKey, apiBase: em.url },
    });

    const b = await booking();
    const created = await hold(b.id);
    expect(created).toMatchObject({
      status: 'authorized',
      provider: 'stripe',
      purpose: 'booking',
      amountMinor: 8900,
      capturedMinor: 0,
      currency: 'EUR',
      bookingId: b.id,
      partnerId: shop.partnerId,
      customerUserId: alice.userId,
    });
    expect(created.providerRef).toMatch(/^pi_/);
    expect(created.authorizationExpiresAt).toEqual(expect.any(String));
    const intent = em.paymentIntents().find((p) => p.id === created.providerRef)!;
    expect(intent).toMatchObject({ status: 'requires_capture', amount: 8900, capture_method: 'manual' });

    // The hold is a pending transfer provider_clearing(stripe) -> shop_payable(shop).
    const { rows } = await fx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM payments WHERE id = $1 AND hold_transfer_id IS NOT NULL`,
      [created.id],
    );
    expect(rows[0]!.n).toBe(1);
    const events = (await outboxPayloads(fx.db, 'payment.updated')).filter((e) => e.paymentId === created.id);
    expect(events.map((e) => e.status)).toEqual(['pending', 'authorized']);

    // Reads: Alice and the shop see it; Bob and a technician do not.
    ok(await api('GET', `/payments/${created.id as string}`, alice));
    ok(await api('GET', `/payments/${created.id as string}`, pam));
    expectProblem(await api('GET', `/payments/${created.id as string}`, bob), 404, 'PAYMENT_NOT_FOUND');
    expectProblem(await api('GET', `/payments/${created.id as string}`, tina), 403, 'FORBIDDEN');
    const history = ok(await api('GET', `/payments/history?bookingId=${b.id}`, alice));
    expect((history.payments as { id: string }[]).map((p) => p.id)).toEqual([created.id]);
    const bobs = ok(await api('GET', '/payments/history', bob));
    expect(bobs.payments).toEqual([]);

    // The same Idempotency-Key is the same payment (the stored answer is replayed), not a second charge.
    const key = randomUUID();
    const b2 = await booking();
    const first = ok(
      await api(
        'POST',
        '/payments/process',
        alice,
        { bookingId: b2.id, provider: 'stripe', paymentMethod: 'pm_card_visa' },
        key,
      ),
      201,
    );
    const again = ok(
      await api(
        'POST',
        '/payments/process',
        alice,
        { bookingId: b2.id, provider: 'stripe', paymentMethod: 'pm_card_visa' },
        key,
      ),
      201,
    );
    expect(again.id).toBe(first.id);
    expect(em.paymentIntents().filter((p) => p.metadata?.paymentId === first.id)).toHaveLength(1);
  });

  it('answers a declined card with 402 and stores the payment as failed', async () => {
    const b = await booking();
    const res = await api('POST', '/payments/process', alice, {
      bookingId: b.id,
      provider: 'stripe',
      paymentMethod: 'pm_card_chargeDeclined',
    });
    expectProblem(res, 402, 'PROVIDER_DECLINED');
    const list = ok(await api('GET', `/payments/history?bookingId=${b.id}`, alice));
    expect(list.payments).toMatchObject([{ status: 'failed', failureCode: expect.any(String) }]);
    // Someone else's booking cannot be paid (it does not exist for Bob).
    expectProblem(
      await api('POST', '/payments/process', bob, { bookingId: b.id, provider: 'stripe' }),
      404,
      'BOOKING_NOT_FOUND',
    );
  });

  it('lets the browser confirm the card itself, then verify moves the row without waiting for the webhook', async () => {
    const b = await booking();
    const created = ok(await api('POST', '/payments/process', alice, { bookingId: b.id, provider: 'stripe' }), 201);
    expect(created).toMatchObject({ status: 'requires_action', clientSecret: expect.stringMatching(/^pi_.+_secret_/) });
    // The browser's card step, as Stripe.js does it: the publishable key and the client secret.
    const confirm = await fetch(`${em.url}/v1/payment_intents/${created.providerRef as string}/confirm`, {
      method: 'POST',
      headers: { authorization: `Bearer ${em.publishableKey}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_secret: created.clientSecret as string, payment_method: 'pm_card_visa' }),
    });
    expect(confirm.status).toBe(200);
    const verified = ok(await api('POST', '/payments/verify', alice, { paymentId: created.id }));
    expect(verified.status).toBe('authorized');
    expect(verified.clientSecret).toBeUndefined();
  });

  it('captures part of a hold once, refunds with a second factor and never more than captured', async () => {
    const b = await booking();
    const created = await hold(b.id);
    const id = created.id as string;
    expectProblem(await api('POST', `/payments/${id}/capture`, alice, { amountMinor: 5000 }), 403, 'FORBIDDEN');
    const captured = ok(await api('POST', `/payments/${id}/capture`, pam, { amountMinor: 6000 }));
    expect(captured).toMatchObject({ status: 'captured', capturedMinor: 6000 });
    // Again: nothing more is taken.
    ok(await api('POST', `/payments/${id}/capture`, pam, { amountMinor: 6000 }));
    expect(em.paymentBooks(created.providerRef as string)).toMatchObject({ captures: 1, capturedMinor: 6000 });
    expectProblem(await api('POST', `/payments/${id}/cancel`, pam, {}), 409, 'PAYMENT_STATE_CONFLICT');

    expectProblem(
      await api('POST', '/payments/refund', pam, { paymentId: id, amountMinor: 1000 }),
      403,
      'MFA_STEP_UP_REQUIRED',
    );
    expectProblem(await api('POST', '/payments/refund', alice, { paymentId: id, amountMinor: 1000 }), 403, 'FORBIDDEN');
    const refunded = ok(
      await api('POST', '/payments/refund', pamMfa, { paymentId: id, amountMinor: 1000, reason: 'goodwill' }),
    );
    expect(refunded).toMatchObject({ status: 'partially_refunded', refundedMinor: 1000 });
    expectProblem(
      await api('POST', '/payments/refund', pamMfa, { paymentId: id, amountMinor: 5001 }),
      422,
      'REFUND_EXCEEDS_CAPTURED',
    );
    const rest = ok(await api('POST', '/payments/refund', pamMfa, { paymentId: id }));
    expect(rest).toMatchObject({ status: 'refunded', refundedMinor: 6000 });
    expect(em.paymentBooks(created.providerRef as string)).toMatchObject({ refundedMinor: 6000 });
    expect(em.paymentBooks(created.providerRef as string).refunds).toHaveLength(2);
    // The refund is in the audit log, by Pam.
    const audit = await fx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'payment.refund' AND target = $1 AND actor = $2`,
      [id, `user:${pamMfa.userId}`],
    );
    expect(audit.rows[0]!.n).toBe(2);
  });

  it('stores each webhook once, acknowledges duplicates, refuses bad signatures, and applies the provider state', async () => {
    const b = await booking();
    const created = ok(await api('POST', '/payments/process', alice, { bookingId: b.id, provider: 'stripe' }), 201);
    // The customer completes the card step at Stripe; only the webhook tells us.
    await fetch(`${em.url}/v1/payment_intents/${created.providerRef as string}/confirm`, {
      method: 'POST',
      headers: { authorization: `Bearer ${em.publishableKey}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_secret: created.clientSecret as string, payment_method: 'pm_card_visa' }),
    });
    const report = await em.deliverWebhooks({ duplicate: true });
    expect(report.failed).toBe(0);
    const after = ok(await api('GET', `/payments/${created.id as string}`, alice));
    expect(after.status).toBe('authorized');
    const stored = await fx.db.query<{ n: number; processed: number }>(
      `SELECT count(*)::int AS n, count(processed_at)::int AS processed FROM payment_webhook_events`,
    );
    expect(stored.rows[0]!.n).toBeGreaterThan(0);
    // Every event about a payment we know is processed (one about the declined card, whose intent id
    // the decline did not tell us, waits for the sweep and is set aside after an hour).
    const waiting = await fx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM payment_webhook_events e
        WHERE e.processed_at IS NULL AND EXISTS (SELECT 1 FROM payments p WHERE p.provider_ref = e.provider_ref)`,
    );
    expect(waiting.rows[0]!.n).toBe(0);

    const signed = em.signedEvents().at(-1)!;
    const replay = await fetch(`${fx.api.url}/api/payments/webhooks/stripe`, {
      method: 'POST',
      headers: signed.headers,
      body: signed.body,
    });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ received: true, eventId: signed.id, duplicate: true });
    const forged = await fetch(`${fx.api.url}/api/payments/webhooks/stripe`, {
      method: 'POST',
      headers: { ...signed.headers, 'stripe-signature': em.signPayload(signed.body, { secret: 'whsec_wrong' }) },
      body: signed.body,
    });
    expect(forged.status).toBe(400);

    // A card dispute reported by webhook is listed for platform staff, against its payment.
    const disputed = await hold((await booking()).id);
    ok(await api('POST', `/payments/${disputed.id as string}/capture`, pam, {}));
    em.dispute(disputed.providerRef as string);
    await em.deliverWebhooks();
    const admin = await signedInUser(fx.db, keys, { tenantId: 'platform', roles: ['platform-admin'], name: 'Ada' });
    const disputes = ok(await api('GET', '/payments/disputes', admin)).disputes as Record<string, unknown>[];
    expect(disputes).toContainEqual(
      expect.objectContaining({ paymentId: disputed.id, providerRef: disputed.providerRef, status: 'opened' }),
    );
    expectProblem(await api('GET', '/payments/disputes', pamMfa), 403, 'FORBIDDEN');
  });

  it('captures min(hold, approved estimates) at delivery, and a fee from the hold at a late cancellation', async () => {
    const b = await booking();
    const created = await hold(b.id);
    await moveOrder(fx.db, b.repairOrderId, ['confirmed', 'checked_in', 'estimate_sent']);
    await fx.db.query(
      `INSERT INTO estimates (tenant_id, partner_id, repair_order_id, customer_tenant_id, customer_user_id, status,
         currency, net_minor, tax_minor, total_minor, approved_total_minor, created_by, sent_at, decided_at)
       VALUES ($1, $2, $3, 'consumers', $4, 'decided', 'EUR', 7000, 0, 7000, 7000, 'test', now(), now())`,
      [shop.tenantId, shop.partnerId, b.repairOrderId, alice.userId],
    );
    await moveOrder(fx.db, b.repairOrderId, [
      'approved',
      'in_progress',
      'quality_check',
      'ready_for_pickup',
      'delivered',
    ]);
    const settled = await runSettleJob(jobDeps(), {
      repairOrderId: b.repairOrderId,
      to: 'delivered',
      eventId: randomUUID(),
    });
    expect(settled.captured).toMatchObject([{ id: created.id, status: 'captured', capturedMinor: 7000 }]);
    // The job again (a redelivered event): nothing more.
    await runSettleJob(jobDeps(), { repairOrderId: b.repairOrderId, to: 'delivered', eventId: randomUUID() });
    expect(em.paymentBooks(created.providerRef as string)).toMatchObject({ captures: 1, capturedMinor: 7000 });

    // Alice cancels late: the shop's 25.00 fee is taken from the hold, the rest released.
    const late = await booking();
    const lateHold = await hold(late.id);
    ok(await api('POST', `/bookings/${late.id}/cancel`, alice, { reason: 'plans changed' }));
    const after = await runSettleJob(jobDeps(), {
      repairOrderId: late.repairOrderId,
      to: 'cancelled',
      eventId: randomUUID(),
    });
    const fee = (
      await fx.db.query<{ fee: number }>(`SELECT cancellation_fee_minor AS fee FROM bookings WHERE id = $1`, [late.id])
    ).rows[0]!.fee;
    if (fee > 0) expect(after.captured).toMatchObject([{ id: lateHold.id, capturedMinor: fee }]);
    else expect(after.released).toMatchObject([{ id: lateHold.id, status: 'cancelled' }]);
  });

  it('repairs a payment whose provider answer was lost, with the same idempotency key', async () => {
    const b = await booking();
    em.failNext('POST', '/v1/payment_intents', 503, undefined, 1);
    const res = await api('POST', '/payments/process', alice, {
      bookingId: b.id,
      provider: 'stripe',
      paymentMethod: 'pm_card_visa',
    });
    expectProblem(res, 503, 'PROVIDER_UNAVAILABLE');
    const [stuck] = ok(await api('GET', `/payments/history?bookingId=${b.id}`, alice)).payments as {
      id: string;
      status: string;
    }[];
    expect(stuck!.status).toBe('pending');
    // The job's sweep (it takes rows older than a minute; here: any age).
    expect(await verifyStuckPayments(jobDeps(), 0)).toBeGreaterThanOrEqual(1);
    const repaired = ok(await api('GET', `/payments/${stuck!.id}`, alice));
    expect(repaired.status).toBe('authorized');
    expect(em.paymentIntents().filter((p) => p.metadata?.paymentId === stuck!.id)).toHaveLength(1);
  });

  it('brings a hold captured and refunded at Stripe before we applied either to where Stripe has it', async () => {
    const b = await booking();
    const held = await hold(b.id);
    const id = held.id as string;
    const ref = held.providerRef as string;
    await em.deliverWebhooks();
    const stripe = payments.providers.get('stripe')!;
    // The capture's answer is lost, then a refund is made at Stripe (its dashboard); the webhooks of
    // both arrive after, twice, shuffled: each retrieve says captured and refunded at once.
    await stripe.capture(ref, { idempotencyKey: `${id}:lost-capture`, amountMinor: 7_000 });
    await stripe.refund(ref, { idempotencyKey: `${id}:dashboard-refund`, amountMinor: 2_500 });
    const report = await em.deliverWebhooks({ duplicate: true, shuffle: true });
    expect(report.failed).toBe(0);
    expect(ok(await api('GET', `/payments/${id}`, alice))).toMatchObject({
      status: 'partially_refunded',
      capturedMinor: em.paymentBooks(ref).capturedMinor,
      refundedMinor: em.paymentBooks(ref).refundedMinor,
    });
    const history = await fx.db.query<{ from_status: string; to_status: string }>(
      `SELECT from_status, to_status FROM payment_events WHERE payment_id = $1 ORDER BY id`,
      [id],
    );
    expect(history.rows.slice(-2)).toEqual([
      { from_status: 'authorized', to_status: 'captured' },
      { from_status: 'captured', to_status: 'partially_refunded' },
    ]);
    const moved = await fx.db.query<{ kind: string; reason: string; amount: number }>(
      `SELECT kind, reason, amount::int AS amount FROM ledger_transfers
        WHERE reference = $1 OR pending_id IN (SELECT id FROM ledger_transfers WHERE reference = $1)
        ORDER BY seq`,
      [`payment:${id}`],
    );
    expect(moved.rows.filter((t) => t.kind === 'post_pending')).toEqual([expect.objectContaining({ amount: 7_000 })]);
    expect(moved.rows.filter((t) => t.reason === 'refund')).toEqual([expect.objectContaining({ amount: 2_500 })]);
    // One commission for the capture, reversed once for the refund.
    const commission = await fx.db.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM commissions WHERE payment_id = $1)::int
            + (SELECT count(*) FROM commission_reversals WHERE payment_id = $1)::int AS n`,
      [id],
    );
    expect(commission.rows[0]!.n).toBe(2);
  });

  it('renews a hold about to lapse while the work is ahead, and releases one whose booking ended', async () => {
    const ahead = await booking();
    const held = await hold(ahead.id);
    const ended = await booking();
    const endedHold = await hold(ended.id);
    ok(await api('POST', `/bookings/${ended.id}/cancel`, alice, { reason: 'no longer needed' }));
    // Both lapse within the next 24 hours.
    await fx.db.query(
      `UPDATE payments SET authorization_expires_at = now() + interval '2 hours' WHERE id = ANY ($1::uuid[])`,
      [[held.id, endedHold.id]],
    );
    const result = await renewHolds(jobDeps());
    expect(result).toMatchObject({ renewed: 1, released: 1 });

    const renewed = ok(await api('GET', `/payments/${held.id as string}`, pam));
    expect(renewed.status).toBe('authorized');
    expect(renewed.providerRef).not.toBe(held.providerRef);
    expect(new Date(renewed.authorizationExpiresAt as string).getTime()).toBeGreaterThan(Date.now() + 24 * 3600_000);
    const intents = em.paymentIntents();
    expect(intents.find((p) => p.id === held.providerRef)?.status).toBe('canceled');
    expect(intents.find((p) => p.id === renewed.providerRef)?.status).toBe('requires_capture');
    // In the ledger: the first hold voided, the new one open, for the same amount.
    const holds = await fx.db.query<{ kind: string; resolved: boolean }>(
      `SELECT t.kind, EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id) AS resolved
         FROM ledger_transfers t WHERE t.reference = $1 AND t.kind = 'pending' ORDER BY t.seq`,
      [`payment:${held.id as string}`],
    );
    expect(holds.rows).toEqual([
      { kind: 'pending', resolved: true },
      { kind: 'pending', resolved: false },
    ]);
    expect(ok(await api('GET', `/payments/${endedHold.id as string}`, pam)).status).toBe('cancelled');
    // The renewed hold is captured like any other.
    expect(ok(await api('POST', `/payments/${held.id as string}/capture`, pam, {}))).toMatchObject({
      status: 'captured',
      capturedMinor: 8900,
    });
  });

  it("reports where the provider's books and ours disagree", async () => {
    // A charge at the provider we know nothing of (made around us), and one of ours it does not list.
    const stripe = payments.providers.get('stripe')!;
    const stray = await stripe.authorize({
      idempotencyKey: randomUUID(),
      amount: { amountMinor: 1234, currency: 'EUR' },
      capture: 'automatic',
      paymentMethod: 'pm_card_visa',
      confirm: true,
      metadata: {},
    });
    const from = new Date(Date.now() - 3600_000);
    const to = new Date(Date.now() + 3600_000);
    const report = await reconcile(jobDeps().systemScope({ action: 'test.reconcile' }), 'stripe', payments.balance, {
      from,
      to,
    });
    expect(report.status).toBe('mismatched');
    expect(report.mismatches).toContainEqual(
      expect.objectContaining({ kind: 'missing_ours', ref: stray.providerRef, providerMinor: 1234 }),
    );
    expect(report.matched).toBeGreaterThan(0);
    // Our side: a capture the provider does not list.
    const ghost = randomUUID();
    await fx.db.query(
      `INSERT INTO payments (id, tenant_id, partner_id, customer_tenant_id, purpose, provider, amount_minor, currency, created_by)
       VALUES ($1, $2, $3, 'consumers', 'booking', 'stripe', 500, 'EUR', 'test')`,
      [ghost, shop.tenantId, shop.partnerId],
    );
    await fx.db.query(
      `UPDATE payments SET status = 'captured', captured_minor = 500, provider_ref = 'pi_ghost' WHERE id = $1`,
      [ghost],
    );
    await fx.db.query(
      `INSERT INTO payment_events (tenant_id, payment_id, customer_tenant_id, from_status, to_status, actor, kind)
       VALUES ($1, $2, 'consumers', 'pending', 'captured', 'test', 'capture')`,
      [shop.tenantId, ghost],
    );
    const second = await reconcile(jobDeps().systemScope({ action: 'test.reconcile' }), 'stripe', payments.balance, {
      from,
      to,
    });
    expect(second.mismatches).toContainEqual(
      expect.objectContaining({ kind: 'missing_provider', ref: 'pi_ghost', ourMinor: 500 }),
    );
    // Yesterday's run (the cron's) is stored too; only platform staff read the reports.
    await reconcileYesterday(jobDeps());
    expectProblem(await api('GET', '/payments/reconciliations', pamMfa), 403, 'FORBIDDEN');
    const admin = await signedInUser(fx.db, keys, { tenantId: 'platform', roles: ['platform-admin'], name: 'Ada' });
    const list = ok(await api('GET', '/payments/reconciliations', admin));
    expect((list.reconciliations as unknown[]).length).toBeGreaterThanOrEqual(3);
  });
  it("makes a shop's card hold a Connect destination charge: the fee stays with the platform, the rest goes at capture, once", async () => {
    const stripe = payments.providers.get('stripe')! as ReturnType<typeof createStripeProvider>;
    const connected = await createTestShop(fx.db, {
      tenantId: 'payments-connect-shop',
      services: [{ code: 'oil_change', durationMinutes: 60, requiredSkill: 'oil_change', priceMinor: 12_000 }],
      rules: { minLeadMinutes: 0, freeCancellationHours: 24, cancellationFeeMinor: 0, noShowFeeMinor: 0 },
    });
    const { account } = await stripe.createConnectedAccount({
      idempotencyKey: `connect-test-${connected.partnerId}`,
      country: 'DE',
      metadata: { partnerId: connected.partnerId },
    });
    await fx.db.query(
      `INSERT INTO partner_payout_accounts (tenant_id, partner_id, provider, account_ref, status, created_by)
       VALUES ($1, $2, 'stripe', $3, 'active', 'test')`,
      [connected.tenantId, connected.partnerId, account],
    );
    const owner = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Connie' });
    const car = await createOwnedVehicle(fx.db, owner.userId, 'Connie estate');
    const admin = await signedInUser(fx.db, keys, {
      tenantId: connected.tenantId,
      roles: ['partner-admin'],
      name: 'Cal',
    });
    slot += 1;
    const b = ok(
      await api('POST', '/bookings', owner, {
        partnerId: connected.partnerId,
        serviceId: connected.services.oil_change,
        vehicleId: car,
        startsAt: slotAt(slot).toISOString(),
      }),
      201,
    );
    const held = ok(
      await api('POST', '/payments/process', owner, {
        bookingId: b.id,
        provider: 'stripe',
        paymentMethod: 'pm_card_visa',
      }),
      201,
    );
    // On the wire: a destination charge to the shop's account; the fee waits for the capture.
    const intent = () => em.paymentIntents().find((p) => p.id === held.providerRef)!;
    expect(intent()).toMatchObject({
      status: 'requires_capture',
      amount: 12_000,
      transfer_data: { destination: account },
      application_fee_amount: null,
    });

    // The shop captures part of it: the commission (tier rate and VAT, allocate) is the application fee.
    const captured = ok(await api('POST', `/payments/${held.id as string}/capture`, admin, { amountMinor: 10_000 }));
    const quote = await computeCommission(fx.db, {
      shopTenantId: connected.tenantId,
      partnerId: connected.partnerId,
      amountMinor: 10_000,
      currency: 'EUR',
      at: new Date(),
    });
    const commission = await fx.db.query<{ commission: number; vat: number; net: number }>(
      `SELECT commission_minor::int AS commission, vat_minor::int AS vat, net_minor::int AS net
         FROM commissions WHERE payment_id = $1`,
      [held.id],
    );
    expect(commission.rows).toHaveLength(1);
    const { commission: c, vat, net } = commission.rows[0]!;
    expect(c).toBeGreaterThan(0);
    expect(c + vat + net).toBe(10_000);
    const fee = c + vat;
    // The first capture of this shop: no earlier volume, the same rate as a fresh quote shows.
    expect(quote.commissionMinor + quote.vatMinor).toBe(fee);
    expect(captured).toMatchObject({ status: 'captured', capturedMinor: 10_000, commissionMinor: fee });
    expect(intent()).toMatchObject({
      amount_received: 10_000,
      application_fee_amount: fee,
      transfer_data: { destination: account },
    });
    expect(em.balance('eur', account)).toBe(10_000 - fee);
    expect(em.transfers().filter((t) => t.destination === account)).toHaveLength(1);

    // In our books: the commission in the platform's accounts, the shop's share already paid through Connect.
    const accountOf = (code: AccountCode, tenantId: string, partnerId: string | null, qualifier: string | null) =>
      ledger.ensureAccount(fx.db, { tenantId, ownerUserId: null, partnerId, qualifier, code, currency: 'EUR' });
    const payable = await accountOf('shop_payable', connected.tenantId, connected.partnerId, null);
    const [payableBalance] = await ledger.balances(fx.db, [payable.id]);
    expect(payableBalance!.postedMinor).toBe(0);
    const moved = await fx.db.query<{ reason: string; amount: number }>(
      `SELECT reason, sum(amount)::int AS amount FROM ledger_transfers
        WHERE reference = $1 AND reason IN ('commission', 'vat', 'connect_transfer') GROUP BY reason ORDER BY reason`,
      [`payment:${held.id as string}`],
    );
    expect(moved.rows).toEqual(
      [
        { reason: 'commission', amount: c },
        { reason: 'connect_transfer', amount: 10_000 - fee },
        ...(vat > 0 ? [{ reason: 'vat', amount: vat }] : []),
      ].sort((x, y) => x.reason.localeCompare(y.reason)),
    );

    // The webhooks of the capture change nothing more; the weekly run pays the shop nothing twice.
    await em.deliverWebhooks();
    expect((await fx.db.query(`SELECT 1 FROM commissions WHERE payment_id = $1`, [held.id])).rows).toHaveLength(1);
    const run = await runWeeklyPayouts(
      {
        tx: (fn) => fx.db.transaction(fn),
        ledger,
        provider: stripe,
        now: () => new Date(),
        actor: 'system:test',
      },
      { partnerId: connected.partnerId },
    );
    expect(run.outcomes).toEqual([
      expect.objectContaining({ partnerId: connected.partnerId, status: 'skipped', reason: 'balance_not_positive' }),
    ]);
    // The shop's payout for this payment is the Connect transfer: one paid payout, covering its commission.
    const recorded = await fx.db.query<{
      id: string;
      run_key: string;
      amount: number;
      status: string;
      account_ref: string;
    }>(`SELECT id, run_key, amount_minor::int AS amount, status, account_ref FROM payouts WHERE partner_id = $1`, [
      connected.partnerId,
    ]);
    expect(recorded.rows).toEqual([
      {
        id: expect.any(String),
        run_key: `connect:${held.id as string}:1`,
        amount: 10_000 - fee,
        status: 'paid',
        account_ref: account,
      },
    ]);
    const covered = await fx.db.query<{ payout_id: string }>(
      `SELECT payout_id FROM commissions WHERE payment_id = $1`,
      [held.id],
    );
    expect(covered.rows).toEqual([{ payout_id: recorded.rows[0]!.id }]);
    expect(em.balance('eur', account)).toBe(10_000 - fee);

    // Refunds (docs/payments-flows.md, "Refunds of a destination charge"): Stripe takes the shop's
    // share back from its connected account and returns the platform's fee, each in proportion; in
    // our books the shop owes nothing for them and the platform's Stripe balance moves as Stripe's.
    const adminMfa = await signedInUser(fx.db, keys, {
      tenantId: connected.tenantId,
      roles: ['partner-admin'],
      name: 'Cal',
      mfa: true,
    });
    const clearing = await accountOf('provider_clearing', 'platform', null, 'stripe');
    const posted = async (id: string) => (await ledger.balances(fx.db, [id]))[0]!.postedMinor;
    const connectNet = async () => {
      const { rows } = await fx.db.query<{ reason: string; amount: number }>(
        `SELECT reason, sum(amount)::int AS amount FROM ledger_transfers
          WHERE reference = $1 AND reason IN ('connect_transfer', 'connect_reversal') GROUP BY reason`,
        [`payment:${held.id as string}`],
      );
      const of = (reason: string) => rows.find((r) => r.reason === reason)?.amount ?? 0;
      return of('connect_transfer') - of('connect_reversal');
    };
    const feeReturned = async () => {
      const { rows } = await fx.db.query<{ back: number }>(
        `SELECT coalesce(sum(commission_minor + vat_minor), 0)::int AS back FROM commission_reversals WHERE payment_id = $1`,
        [held.id],
      );
      return rows[0]!.back;
    };
    for (const [amountMinor, status, refundedMinor] of [
      [4_000, 'partially_refunded', 4_000],
      [undefined, 'refunded', 10_000],
    ] as const) {
      const platformBefore = em.balance('eur');
      const clearingBefore = await posted(clearing.id);
      const feeBefore = await feeReturned();
      const refunded = ok(
        await api('POST', '/payments/refund', adminMfa, {
          paymentId: held.id,
          ...(amountMinor !== undefined ? { amountMinor } : {}),
        }),
      );
      expect(refunded).toMatchObject({ status, refundedMinor });
      const feeBack = (await feeReturned()) - feeBefore;
      // The fee comes back in proportion to the amount refunded (to the minor unit), all of it at the end.
      expect(feeBack).toBeGreaterThan(0);
      expect(Math.abs((await feeReturned()) - (fee * refundedMinor) / 10_000)).toBeLessThan(1);
      // Stripe: the shop's connected account gave back its share, the platform only the fee.
      expect(em.balance('eur', account)).toBe(10_000 - fee - (refundedMinor - (await feeReturned())));
      expect(em.balance('eur') - platformBefore).toBe(-feeBack);
      // Ours: the Connect transfer less its reversals is what the connected account holds; the
      // clearing account moved as Stripe's balance did; the shop owes nothing and is owed nothing.
      expect(await connectNet()).toBe(em.balance('eur', account));
      expect((await posted(clearing.id)) - clearingBefore).toBe(feeBack);
      expect(await posted(payable.id)).toBe(0);
    }
    const reversals = em.transfers().find((t) => t.destination === account)!;
    expect(reversals).toMatchObject({ amount: 10_000, amount_reversed: 10_000, reversed: true });
    expect(await feeReturned()).toBe(fee);
    expect(em.balance('eur', account)).toBe(0);
    // Every payment's postings sum to zero.
    const sums = await fx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT currency, sum(credits_posted) - sum(debits_posted) AS s FROM ledger_accounts GROUP BY currency
       ) t WHERE s <> 0`,
    );
    expect(sums.rows[0]!.n).toBe(0);

    // A shop without a connected account keeps the ordinary charge and the weekly payout.
    const plain = await hold((await booking()).id);
    expect(em.paymentIntents().find((p) => p.id === plain.providerRef)).toMatchObject({ transfer_data: null });
  });
});
