import { startStripeEmulator, type StripeEmulator } from '@clutch/emulators';
import { testDatabaseUrl } from '@clutch/db/testing';
import { generateSigningKeys } from '@clutch/identity';
import { createJobQueue, type JobQueue } from '@clutch/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEnqueuer } from '../ai/retrain-jobs.js';
import { createOwnedVehicle, createTestShop, type TestShop } from '../bookings/test-shop.js';
import type { WiredPayments } from '../payments/deps.js';
import { createStripeProvider } from '../payments/providers/stripe.js';
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
import { recordAudit } from '../audit/repository.js';
import { Scope } from '../auth/scope.js';
import { ledger } from '../ledger/ledger.js';
import { paymentDeps } from '../payments/deps.js';
import { receivableBalance } from './books.js';
import { ACTOR, INSTALLMENT_CHARGE_QUEUE, INSTALLMENT_CHARGE_SETTINGS, payOff, type ChargeJobData } from './collect.js';
import { installmentChargeJob } from './jobs.js';
import { InstallmentsRepository } from './repository.js';

const DAY = 24 * 3600_000;

/** `days` days from today (UTC) at hh:mm UTC. */
const dayAt = (days: number, hhmm: string): string => {
  const d = new Date();
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + days, h, m)).toISOString();
};

interface PlanBody {
  id: string;
  status: string;
  closeReason: string | null;
  financedMinor: number;
  totalFeeMinor: number;
  payoffMinor: number | null;
  paidMinor: number;
  installments: {
    id: string;
    seq: number;
    dueAt: string;
    principalMinor: number;
    feeMinor: number;
    feeWaivedMinor: number;
    lateFeeMinor: number;
    totalMinor: number;
    status: string;
    attempts: number;
    paymentId: string | null;
    nextAttemptAt: string | null;
  }[];
}

describe.each(backends('api_installments'))('installment plans on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let stripe: StripeEmulator;
  let payments: WiredPayments;
  let queue: JobQueue | undefined;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let dave: TestUser;
  let pam: TestUser;
  let oscar: TestUser;
  let shop: TestShop;
  let day = 1;
  // The API enqueues through this; the queue itself starts once the fixture's database exists.
  const jobs: JobEnqueuer = {
    enqueue: (name, data, options) => {
      if (!queue) throw new Error('job queue not started');
      return queue.enqueue(name, data, options);
    },
  };

  const api = (method: string, path: string, as: TestUser | undefined, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, `/api${path}`, {
      token: as?.token,
      ...(body !== undefined ? { body } : method === 'GET' ? {} : { headers: { 'x-requested-with': 'test' } }),
    });
  const ok = (res: Reply, status = 200): Record<string, unknown> => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return res.body;
  };
  /** A booking of the shop's 89.00 service by `as`, on a new day each time (no slot clashes). */
  const book = async (as: TestUser): Promise<string> => {
    const vehicleId = await createOwnedVehicle(fx.db, as.userId, `${as.userId} car ${day}`);
    const res = await api('POST', '/bookings', as, {
      partnerId: shop.partnerId,
      serviceId: shop.services.oil_change,
      vehicleId,
      startsAt: dayAt(day++, '10:00'),
    });
    return ok(res, 201).id as string;
  };
  const charge = (now: Date) => installmentChargeJob(fx.db, { payments, jobs, now: () => now });
  /** The charge jobs waiting on the queue for one installment, soonest first. */
  const jobsOf = async (installmentId: string): Promise<{ data: ChargeJobData; startAfter: Date }[]> => {
    const { rows } = await fx.db.query<{ data: ChargeJobData; start_after: Date }>(
      `SELECT data, start_after FROM pgboss.job WHERE name = $1 AND data->>'installmentId' = $2 ORDER BY start_after`,
      [INSTALLMENT_CHARGE_QUEUE, installmentId],
    );
    return rows.map((r) => ({ data: r.data, startAfter: new Date(r.start_after) }));
  };
  const receivable = async (planId: string): Promise<number> => {
    const plan = (await new InstallmentsRepository(fx.db).plan(planId))!;
    return fx.db.transaction((q) => receivableBalance(q, plan));
  };

  beforeAll(async () => {
    stripe = await startStripeEmulator({ webhookMode: 'manual' });
    const adapter = createStripeProvider({
      secretKey: stripe.secretKey,
      webhookSecret: stripe.webhookSecret,
      apiBase: stripe.url,
      maxNetworkRetries: 1,
    });
    payments = { providers: new Map([['stripe', adapter]]) };
    fx = await startFixture({
      requireAuth: true,
      identity: { signingKeys: keys },
      rateLimit: { enabled: false },
      jobs,
      payments,
      ...(open ? { open } : {}),
    });
    queue = createJobQueue({ db: fx.db, url: testDatabaseUrl(fx.db), pollingIntervalSeconds: 0.5 });
    await queue.start();
    // Declared only: no worker here, the test runs the jobs itself with the clock it wants.
    await queue.declare(INSTALLMENT_CHARGE_QUEUE, INSTALLMENT_CHARGE_SETTINGS);
    shop = await createTestShop(fx.db, {
      tenantId: 'installments-shop',
      rules: { minLeadMinutes: 0 },
    });
    alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
    bob = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bob' });
    carol = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Carol' });
    dave = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Dave' });
    pam = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['partner-admin'], name: 'Pam' });
    await createTestShop(fx.db, { tenantId: 'installments-other-shop' });
    oscar = await signedInUser(fx.db, keys, {
      tenantId: 'installments-other-shop',
      roles: ['partner-admin'],
      name: 'Oscar',
    });
  }, 60_000);

  afterAll(async () => {
    await queue?.stop({ graceful: false, timeoutMs: 1000 });
    await fx?.close();
    await stripe?.close();
  });

  it('quotes a schedule without creating anything, for your own booking only', async () => {
    const bookingId = await book(alice);
    const quote = ok(await api('POST', '/payments/installments/quote', alice, { bookingId, count: 3 }));
    const installments = quote.installments as { principalMinor: number; feeMinor: number; dueAt: string }[];
    expect(quote).toMatchObject({ financedMinor: 8900, currency: 'EUR', count: 3, region: 'default' });
    expect(installments.map((i) => i.principalMinor).reduce((a, b) => a + b)).toBe(8900);
    expect(installments[0]!.feeMinor).toBe(0);
    expect(quote.totalMinor).toBe(8900 + (quote.totalFeeMinor as number));
    const { rows } = await fx.db.query('SELECT 1 FROM installment_plans WHERE booking_id = $1', [bookingId]);
    expect(rows).toHaveLength(0);

    expectProblem(
      await api('POST', '/payments/installments/quote', bob, { bookingId, count: 3 }),
      404,
      'BOOKING_NOT_FOUND',
    );
    expectProblem(
      await api('POST', '/payments/installments/quote', pam, { bookingId, count: 3 }),
      404,
      'BOOKING_NOT_FOUND',
    );
    expectProblem(
      await api('POST', '/payments/installments/quote', alice, { bookingId, count: 5 }),
      422,
      'INSTALLMENTS_NOT_AVAILABLE',
    );
    expectProblem(await api('POST', '/payments/installments/quote', alice, { count: 3 }), 400, 'VALIDATION_FAILED');
  });

  it('creates a plan: the first installment charged at once, the rest on the queue, the shop owed the whole amount', async () => {
    const bookingId = await book(alice);
    const created = ok(
      await api('POST', '/payments/installments', alice, {
        bookingId,
        count: 3,
        provider: 'stripe',
        paymentMethod: 'pm_card_visa',
      }),
      201,
    ) as unknown as PlanBody;
    expect(created).toMatchObject({ status: 'active', financedMinor: 8900 });
    const [first, second, third] = created.installments;
    expect(first).toMatchObject({ seq: 1, status: 'paid', attempts: 1 });
    expect(first!.paymentId).toEqual(expect.any(String));
    expect([second!.status, third!.status]).toEqual(['scheduled', 'scheduled']);
    expect(created.paidMinor).toBe(first!.totalMinor);
    // Monthly.
    const gap = (new Date(second!.dueAt).getTime() - new Date(first!.dueAt).getTime()) / DAY;
    expect(gap).toBeGreaterThanOrEqual(28);
    expect(gap).toBeLessThanOrEqual(31);

    // The charge at the provider, in full, captured at once.
    const payment = await fx.db.query<{ status: string; captured_minor: string; purpose: string }>(
      'SELECT status, captured_minor, purpose FROM payments WHERE id = $1',
      [first!.paymentId],
    );
    expect(payment.rows[0]).toMatchObject({ status: 'captured', purpose: 'installment' });
    expect(Number(payment.rows[0]!.captured_minor)).toBe(first!.totalMinor);

    // Each installment has its job, due on its date (the first only as a safety net, later).
    for (const inst of [second!, third!]) {
      const queued = await jobsOf(inst.id);
      expect(queued.map((j) => j.startAfter.toISOString())).toEqual([inst.dueAt]);
      expect(queued[0]!.data).toEqual({ installmentId: inst.id, attempt: 1 });
    }
    expect((await jobsOf(first!.id))[0]!.startAfter.getTime()).toBeGreaterThan(Date.now());

    // Ledger: the customer owes the rest of the principal.
    expect(await receivable(created.id)).toBe(8900 - first!.principalMinor);

    // The same request again (Idempotency-Key) is the same plan; financing it twice is refused.
    expectProblem(
      await api('POST', '/payments/installments', alice, {
        bookingId,
        count: 3,
        provider: 'stripe',
        paymentMethod: 'pm_card_visa',
      }),
      409,
      'INSTALLMENT_PLAN_EXISTS',
    );

    // Who sees it: the customer and the shop; not another owner or another shop.
    ok(await api('GET', `/payments/installments/${created.id}`, alice));
    ok(await api('GET', `/payments/installments/${created.id}`, pam));
    expectProblem(await api('GET', `/payments/installments/${created.id}`, bob), 404, 'INSTALLMENT_PLAN_NOT_FOUND');
    expectProblem(await api('GET', `/payments/installments/${created.id}`, oscar), 404, 'INSTALLMENT_PLAN_NOT_FOUND');
    const mine = ok(await api('GET', '/payments/installments', alice)).plans as PlanBody[];
    expect(mine.map((p) => p.id)).toContain(created.id);
    const shops = ok(await api('GET', '/payments/installments', pam)).plans as PlanBody[];
    expect(shops.map((p) => p.id)).toContain(created.id);
    expect((ok(await api('GET', '/payments/installments', bob)).plans as PlanBody[]).map((p) => p.id)).not.toContain(
      created.id,
    );
    // The shop does not pay off its customer's plan.
    expectProblem(await api('POST', `/payments/installments/${created.id}/payoff`, pam), 403, 'FORBIDDEN');

    // The second installment on its due date (the job's handler, with the clock there): paid.
    const run = charge(new Date(second!.dueAt));
    expect(await run({ installmentId: second!.id, attempt: 1 })).toMatchObject({ outcome: 'paid' });
    // Run twice (at-least-once delivery): nothing more happens.
    expect(await run({ installmentId: second!.id, attempt: 1 })).toMatchObject({ outcome: 'skipped' });
    expect(await receivable(created.id)).toBe(third!.principalMinor);

    // Early payoff now, before the last installment's period has begun: its principal, none of its interest.
    const afterTwo = ok(await api('GET', `/payments/installments/${created.id}`, alice)) as unknown as PlanBody;
    expect(afterTwo.payoffMinor).toBeLessThan(third!.totalMinor);
    expect(afterTwo.payoffMinor).toBeGreaterThanOrEqual(third!.principalMinor);
    const paidOff = ok(await api('POST', `/payments/installments/${created.id}/payoff`, alice)) as unknown as PlanBody;
    expect(paidOff).toMatchObject({ status: 'paid', closeReason: 'payoff', payoffMinor: null });
    const last = paidOff.installments[2]!;
    expect(last.status).toBe('paid');
    expect(last.feeMinor - last.feeWaivedMinor).toBe(afterTwo.payoffMinor! - third!.principalMinor);
    expect(await receivable(created.id)).toBe(0);
    expectProblem(
      await api('POST', `/payments/installments/${created.id}/payoff`, alice),
      409,
      'INSTALLMENT_PLAN_CLOSED',
    );
    // The pending job of the third installment finds it paid.
    expect(await charge(new Date(third!.dueAt))({ installmentId: third!.id, attempt: 1 })).toMatchObject({
      outcome: 'skipped',
    });
    const events = (await outboxPayloads(fx.db, 'installment.updated')).filter((e) => e.planId === created.id);
    expect(events.map((e) => e.planStatus)).toContain('paid');
  });

  it('a card that declines later: failed, retried, late with its fee, then default and suspension', async () => {
    const bookingId = await book(bob);
    const created = ok(
      await api('POST', '/payments/installments', bob, {
        bookingId,
        count: 3,
        provider: 'stripe',
        paymentMethod: 'pm_card_visa',
      }),
      201,
    ) as unknown as PlanBody;
    const second = created.installments[1]!;
    // The card stops working after the first installment.
    await fx.db.query(`UPDATE installment_plans SET payment_method = 'pm_card_chargeDeclined' WHERE id = $1`, [
      created.id,
    ]);
    const due = new Date(second.dueAt).getTime();

    expect(await charge(new Date(due))({ installmentId: second.id, attempt: 1 })).toMatchObject({ outcome: 'failed' });
    let plan = ok(await api('GET', `/payments/installments/${created.id}`, bob)) as unknown as PlanBody;
    expect(plan.installments[1]).toMatchObject({ status: 'failed', attempts: 1, lateFeeMinor: 0 });
    expect(plan.installments[1]!.nextAttemptAt).toBe(new Date(due + DAY).toISOString());

    // The retries are on the queue, each due after the last failure (1, 3 and 7 days after the due date).
    const seen: string[] = [];
    for (const expectedDay of [1, 3, 7]) {
      const queued = (await jobsOf(second.id)).filter((j) => j.data.attempt > 1);
      const next = queued.at(-1)!;
      expect(next.startAfter.toISOString()).toBe(new Date(due + expectedDay * DAY).toISOString());
      expect(await charge(next.startAfter)(next.data)).toMatchObject({ outcome: 'failed' });
      plan = ok(await api('GET', `/payments/installments/${created.id}`, bob)) as unknown as PlanBody;
      seen.push(
        `${plan.installments[1]!.status}:${plan.installments[1]!.lateFeeMinor > 0 ? 'fee' : 'nofee'}:${plan.status}`,
      );
    }
    // Terms of the default region: 3 % of the installment, at most 25.00, once the 3-day grace is over.
    const lateFee = Math.min(2500, Math.round(((second.principalMinor + second.feeMinor) * 300) / 10_000));
    expect(seen).toEqual(['failed:nofee:active', 'late:fee:active', 'late:fee:defaulted']);
    expect(plan.installments[1]).toMatchObject({ attempts: 4, lateFeeMinor: lateFee, nextAttemptAt: null });
    expect(plan.status).toBe('defaulted');
    // The late fee is owed on the books too (receivable: unpaid principal + the late fee).
    expect(await receivable(created.id)).toBe(8900 - created.installments[0]!.principalMinor + lateFee);

    // Flagged: the standing says so, and new bookings are refused with a clear problem.
    const standing = await fx.db.query<{ status: string; plan_id: string }>(
      'SELECT status, plan_id FROM customer_standing WHERE tenant_id = $1 AND user_id = $2',
      ['consumers', bob.userId],
    );
    expect(standing.rows[0]).toMatchObject({ status: 'suspended', plan_id: created.id });
    const vehicleId = await createOwnedVehicle(fx.db, bob.userId, 'Bob second car');
    expectProblem(
      await api('POST', '/bookings', bob, {
        partnerId: shop.partnerId,
        serviceId: shop.services.oil_change,
        vehicleId,
        startsAt: dayAt(day++, '10:00'),
      }),
      403,
      'CUSTOMER_SUSPENDED',
    );
    // Others book as before.
    await book(carol);

    const defaulted = (await outboxPayloads(fx.db, 'installment.defaulted')).filter((e) => e.planId === created.id);
    expect(defaulted).toHaveLength(1);
    expect(defaulted[0]).toMatchObject({
      customerUserId: bob.userId,
      seq: 2,
      amountMinor: second.totalMinor + lateFee,
    });
    const updates = (await outboxPayloads(fx.db, 'installment.updated')).filter((e) => e.planId === created.id);
    expect(updates.map((e) => e.status ?? e.planStatus)).toEqual([
      'active',
      'paid',
      'failed',
      'failed',
      'late',
      'late',
      'late',
    ]);
  });

  it('a first charge that is declined cancels the plan and undoes the financing', async () => {
    const bookingId = await book(dave);
    const res = await api('POST', '/payments/installments', dave, {
      bookingId,
      count: 6,
      provider: 'stripe',
      paymentMethod: 'pm_card_chargeDeclined',
    });
    expectProblem(res, 402, 'PROVIDER_DECLINED');
    const { rows } = await fx.db.query<{ id: string; status: string; close_reason: string }>(
      'SELECT id, status, close_reason FROM installment_plans WHERE booking_id = $1',
      [bookingId],
    );
    expect(rows[0]).toMatchObject({ status: 'cancelled', close_reason: 'first_charge_failed' });
    expect(await receivable(rows[0]!.id)).toBe(0);
    const statuses = await fx.db.query<{ status: string }>(
      'SELECT DISTINCT status FROM installments WHERE plan_id = $1',
      [rows[0]!.id],
    );
    expect(statuses.rows.map((r) => r.status)).toEqual(['waived']);
    // A cancelled plan does not block another try with a card that works.
    ok(
      await api('POST', '/payments/installments', dave, {
        bookingId,
        count: 6,
        provider: 'stripe',
        paymentMethod: 'pm_card_visa',
      }),
      201,
    );
  });
  it("finances a repair order's approved total", async () => {
    const bookingId = await book(carol);
    const order = await fx.db.query<{ id: string }>('SELECT id FROM repair_orders WHERE booking_id = $1', [bookingId]);
    const repairOrderId = order.rows[0]!.id;
    expectProblem(
      await api('POST', '/payments/installments/quote', carol, { repairOrderId, count: 3 }),
      422,
      'INSTALLMENTS_NOT_AVAILABLE',
    );
    // The shop's estimate, decided by the customer: 450.00 of 500.00 approved.
    await fx.db.query(
      `INSERT INTO estimates (tenant_id, partner_id, repair_order_id, customer_tenant_id, customer_user_id, status,
         currency, net_minor, tax_minor, total_minor, approved_total_minor, created_by, sent_at, decided_at, decided_by)
       VALUES ($1, $2, $3, 'consumers', $4, 'decided', 'EUR', 42000, 8000, 50000, 45000, 'test', now(), now(), 'test')`,
      [shop.tenantId, shop.partnerId, repairOrderId, carol.userId],
    );
    const quote = ok(await api('POST', '/payments/installments/quote', carol, { repairOrderId, count: 6 }));
    expect(quote).toMatchObject({ financedMinor: 45000, currency: 'EUR', count: 6 });
    expectProblem(
      await api('POST', '/payments/installments/quote', bob, { repairOrderId, count: 6 }),
      404,
      'REPAIR_ORDER_NOT_FOUND',
    );
    const plan = ok(
      await api('POST', '/payments/installments', carol, {
        repairOrderId,
        count: 6,
        provider: 'stripe',
        paymentMethod: 'pm_card_visa',
      }),
      201,
    ) as unknown as PlanBody;
    expect(plan).toMatchObject({ status: 'active', financedMinor: 45000 });
    expect(plan.installments).toHaveLength(6);
  });

  it('an early payoff mid-period owes the interest accrued to that day, and none of later periods', async () => {
    const bookingId = await book(carol);
    // The receivable is the customer's (one account per customer and currency): Carol owes on another plan too.
    const owedBefore = await fx.db.transaction((q) =>
      receivableBalance(q, {
        id: 'none',
        tenantId: shop.tenantId,
        partnerId: shop.partnerId,
        customerTenantId: 'consumers',
        customerUserId: carol.userId,
        currency: 'EUR',
        provider: 'stripe',
      }),
    );
    const created = ok(
      await api('POST', '/payments/installments', carol, {
        bookingId,
        count: 6,
        provider: 'stripe',
        paymentMethod: 'pm_card_visa',
      }),
      201,
    ) as unknown as PlanBody;
    const [, second, third, ...later] = created.installments;
    const from = new Date(second!.dueAt).getTime();
    const to = new Date(third!.dueAt).getTime();
    // Ten days into the third installment's period; the second (due before) was never paid.
    const at = new Date(from + 10 * DAY);
    const accrued = Math.floor((third!.feeMinor * (at.getTime() - from)) / (to - from));
    const expected = [second!, third!, ...later].reduce((a, i) => a + i.principalMinor, 0) + second!.feeMinor + accrued;
    const scope = Scope.system(fx.db, { actor: ACTOR, action: 'installment.payoff-test' }, recordAudit);
    const result = await payOff(
      { caller: { scope, actor: ACTOR }, payments: paymentDeps({ payments, jobs }), jobs, now: () => at },
      created.id,
      async () => {},
    );
    expect(result).toMatchObject({ outcome: 'paid' });
    const charged = await fx.db.query<{ amount_minor: string; status: string }>(
      'SELECT amount_minor, status FROM payments WHERE id = $1',
      [(result as { paymentId: string }).paymentId],
    );
    expect(charged.rows[0]).toMatchObject({ status: 'captured' });
    expect(Number(charged.rows[0]!.amount_minor)).toBe(expected);
    const plan = ok(await api('GET', `/payments/installments/${created.id}`, carol)) as unknown as PlanBody;
    expect(plan).toMatchObject({ status: 'paid', closeReason: 'payoff' });
    expect(plan.installments.every((i) => i.status === 'paid')).toBe(true);
    expect(plan.installments[2]!.feeWaivedMinor).toBe(third!.feeMinor - accrued);
    for (const [k, i] of later.entries()) expect(plan.installments[3 + k]!.feeWaivedMinor).toBe(i.feeMinor);
    expect(await receivable(created.id)).toBe(owedBefore);
    // Every move above is a balanced, hash-chained transfer.
    const books = await fx.db.transaction((q) => ledger.verify(q));
    expect(books.problems).toEqual([]);
    expect(books.ok).toBe(true);
  });
  /** A plan of `as` whose second installment went unpaid through every retry: defaulted, `as` suspended. */
  const defaultedPlan = async (as: TestUser): Promise<PlanBody> => {
    const created = ok(
      await api('POST', '/payments/installments', as, {
        bookingId: await book(as),
        count: 3,
        provider: 'stripe',
        paymentMethod: 'pm_card_visa',
      }),
      201,
    ) as unknown as PlanBody;
    await fx.db.query(`UPDATE installment_plans SET payment_method = 'pm_card_chargeDeclined' WHERE id = $1`, [
      created.id,
    ]);
    const second = created.installments[1]!;
    const due = new Date(second.dueAt).getTime();
    for (const [attempt, days] of [
      [1, 0],
      [2, 1],
      [3, 3],
      [4, 7],
    ] as const)
      await charge(new Date(due + days * DAY))({ installmentId: second.id, attempt });
    const plan = ok(await api('GET', `/payments/installments/${created.id}`, as)) as unknown as PlanBody;
    expect(plan.status).toBe('defaulted');
    return plan;
  };
  const standingOf = async (as: TestUser) =>
    (
      await fx.db.query<{ status: string; plan_id: string | null }>(
        'SELECT status, plan_id FROM customer_standing WHERE tenant_id = $1 AND user_id = $2',
        ['consumers', as.userId],
      )
    ).rows[0];
  const bookAgain = async (as: TestUser): Promise<Reply> =>
    api('POST', '/bookings', as, {
      partnerId: shop.partnerId,
      serviceId: shop.services.oil_change,
      vehicleId: await createOwnedVehicle(fx.db, as.userId, `${as.userId} again ${day}`),
      startsAt: dayAt(day++, '10:00'),
    });

  it('a defaulted plan paid in full by its customer is paid, and the suspension it caused is lifted', async () => {
    const fay = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Fay' });
    const plan = await defaultedPlan(fay);
    expect(await standingOf(fay)).toMatchObject({ status: 'suspended', plan_id: plan.id });
    expectProblem(await bookAgain(fay), 403, 'CUSTOMER_SUSPENDED');
    // What is owed: the unpaid principal, the late fee, and the fees of the periods begun.
    const owed = await receivable(plan.id);
    expect(plan.payoffMinor).toBeGreaterThanOrEqual(owed);

    // A declined card changes nothing.
    expectProblem(await api('POST', `/payments/installments/${plan.id}/payoff`, fay), 402, 'PROVIDER_DECLINED');
    expect((await standingOf(fay))!.status).toBe('suspended');

    // With a card that works, everything owed is paid.
    await fx.db.query(`UPDATE installment_plans SET payment_method = 'pm_card_visa' WHERE id = $1`, [plan.id]);
    const paid = ok(await api('POST', `/payments/installments/${plan.id}/payoff`, fay)) as unknown as PlanBody;
    expect(paid).toMatchObject({ status: 'paid', closeReason: 'payoff', payoffMinor: null });
    expect(paid.installments.every((i) => i.status === 'paid' || i.status === 'waived')).toBe(true);
    expect(await receivable(plan.id)).toBe(0);
    expect(await standingOf(fay)).toMatchObject({ status: 'good' });
    expect((await bookAgain(fay)).status).toBe(201);
  });

  it('platform staff write a defaulted plan off to bad debt and lift the suspension: second factor, audited, once', async () => {
    const gus = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Gus' });
    const plan = await defaultedPlan(gus);
    const owed = await receivable(plan.id);
    expect(owed).toBeGreaterThan(0);
    const ada = await signedInUser(fx.db, keys, { tenantId: 'platform', roles: ['platform-admin'], name: 'Ada' });
    const adaMfa = await signedInUser(fx.db, keys, {
      tenantId: 'platform',
      userId: ada.userId,
      name: 'Ada',
      mfa: true,
    });
    const writeOff = (as: TestUser, key?: string) =>
      call(fx.api.url, 'POST', `/api/payments/installments/${plan.id}/write-off`, {
        token: as.token,
        body: { reason: 'customer unreachable for 90 days' },
        headers: { 'x-requested-with': 'test', ...(key ? { 'idempotency-key': key } : {}) },
      });

    // Not the shop, not the customer, not staff without a fresh second factor.
    expectProblem(await writeOff(pam), 403, 'FORBIDDEN');
    expectProblem(await writeOff(gus), 403, 'FORBIDDEN');
    expectProblem(await writeOff(ada), 403, 'MFA_STEP_UP_REQUIRED');

    const key = `write-off-${plan.id}`;
    const done = ok(await writeOff(adaMfa, key)) as unknown as PlanBody & {
      writtenOffMinor: number;
      writtenOffAt: string;
    };
    expect(done).toMatchObject({ status: 'defaulted', writtenOffMinor: owed, payoffMinor: null });
    expect(done.writtenOffAt).toEqual(expect.any(String));
    // Nothing is charged any more.
    expect(done.installments.filter((i) => i.status !== 'paid').every((i) => i.status === 'waived')).toBe(true);
    // The same key replays the answer; a new key finds it done. One bad-debt transfer either way.
    expect(ok(await writeOff(adaMfa, key))).toEqual(done);
    ok(await writeOff(adaMfa));
    const moved = await fx.db.query<{ id: string; amount: number; debit: string; credit: string }>(
      `SELECT t.id, t.amount::int AS amount, d.code AS debit, c.code AS credit
         FROM ledger_transfers t
         JOIN ledger_accounts d ON d.id = t.debit_account_id JOIN ledger_accounts c ON c.id = t.credit_account_id
        WHERE t.reference = $1 AND t.reason = 'installment_written_off'`,
      [`installment-plan:${plan.id}`],
    );
    expect(moved.rows).toEqual([
      { id: expect.any(String), amount: owed, debit: 'bad_debt', credit: 'installment_receivable' },
    ]);
    // Double entry: the transfer's postings sum to zero.
    const postings = await fx.db.query<{ n: number; total: number }>(
      `SELECT count(*)::int AS n, sum(amount)::int AS total FROM ledger_postings WHERE transfer_id = $1`,
      [moved.rows[0]!.id],
    );
    expect(postings.rows[0]).toEqual({ n: 2, total: 0 });
    expect(await receivable(plan.id)).toBe(0);
    const audit = await fx.db.query<{ actor: string; target: string }>(
      `SELECT actor, target FROM audit_log WHERE action = 'installment-plan.write-off' AND target = $1`,
      [plan.id],
    );
    expect(audit.rows.length).toBeGreaterThanOrEqual(1);
    expect(audit.rows[0]!.actor).toContain(ada.userId);

    // Written off is not paid: the suspension stays, and the customer can no longer pay it off here.
    expect((await standingOf(gus))!.status).toBe('suspended');
    expectProblem(await api('POST', `/payments/installments/${plan.id}/payoff`, gus), 409, 'INSTALLMENT_PLAN_CLOSED');

    // An active plan is neither written off nor reinstated.
    const active = ok(
      await api('POST', '/payments/installments', carol, {
        bookingId: await book(carol),
        count: 3,
        provider: 'stripe',
        paymentMethod: 'pm_card_visa',
      }),
      201,
    );
    expectProblem(
      await call(fx.api.url, 'POST', `/api/payments/installments/${active.id as string}/write-off`, {
        token: adaMfa.token,
        body: { reason: 'by mistake' },
        headers: { 'x-requested-with': 'test' },
      }),
      409,
      'INSTALLMENT_PLAN_NOT_DEFAULTED',
    );

    // Staff lift the suspension by hand: audited, with a second factor.
    const reinstate = (as: TestUser) =>
      call(fx.api.url, 'POST', `/api/payments/installments/${plan.id}/reinstate`, {
        token: as.token,
        body: { reason: 'settled with collections' },
        headers: { 'x-requested-with': 'test' },
      });
    expectProblem(await reinstate(ada), 403, 'MFA_STEP_UP_REQUIRED');
    expectProblem(await reinstate(pam), 403, 'FORBIDDEN');
    expect(ok(await reinstate(adaMfa))).toEqual({
      planId: plan.id,
      customerTenantId: 'consumers',
      customerUserId: gus.userId,
      lifted: true,
    });
    expect(await standingOf(gus)).toMatchObject({ status: 'good' });
    expect(ok(await reinstate(adaMfa)).lifted).toBe(false);
    const reinstated = await fx.db.query(
      `SELECT 1 FROM audit_log WHERE action = 'installment-plan.reinstate' AND target = $1`,
      [plan.id],
    );
    expect(reinstated.rows.length).toBeGreaterThanOrEqual(2);
    expect((await bookAgain(gus)).status).toBe(201);
  });

  it('the queue runs a charge job that is due, with its handler, by itself', async () => {
    const bookingId = await book(dave);
    const created = ok(
      await api('POST', '/payments/installments', dave, {
        bookingId,
        count: 3,
        provider: 'stripe',
        paymentMethod: 'pm_card_visa',
      }),
      201,
    ) as unknown as PlanBody;
    const second = created.installments[1]!;
    // A worker as the platform runs it, its clock on the second installment's due date; the job is
    // enqueued already due (the one the plan enqueued waits for the real date).
    const run = charge(new Date(second.dueAt));
    await queue!.define<ChargeJobData>(
      INSTALLMENT_CHARGE_QUEUE,
      async (job) => void (await run(job.data)),
      INSTALLMENT_CHARGE_SETTINGS,
    );
    await queue!.enqueue(
      INSTALLMENT_CHARGE_QUEUE,
      { installmentId: second.id, attempt: 1 },
      { startAfter: new Date(Date.now() - 1000) },
    );
    await expect
      .poll(
        async () =>
          (ok(await api('GET', `/payments/installments/${created.id}`, dave)) as unknown as PlanBody).installments[1]!
            .status,
        { timeout: 30_000, interval: 250 },
      )
      .toBe('paid');
  });
});
