import { randomUUID } from 'node:crypto';
import { testDatabaseUrl } from '@clutch/db/testing';
import { startPayPalEmulator, toMinor, type PayPalEmulator } from '@clutch/emulators';
import { createJobQueue, type JobQueue } from '@clutch/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../audit/repository.js';
import { Scope } from '../auth/scope.js';
import { createTestShop, type TestShop } from '../bookings/test-shop.js';
import type { AssessRisk } from '../fraud/types.js';
import { backends, startFixture, type Fixture } from '../test-fixtures.js';
import type { WiredPayments } from './deps.js';
import { paymentJobDeps, runWebhookJob } from './jobs.js';
import { createPayPalProvider } from './providers/paypal.js';
import { PaymentsRepository } from './repository.js';
import { PaymentsService } from './service.js';
import { PAYMENT_WEBHOOK_QUEUE, PAYMENT_WEBHOOK_SETTINGS, type WebhookJobData } from './webhooks.js';

/**
 * PayPal webhooks end to end (docs/payments.md, "Webhooks"): the PayPal emulator signs its events
 * with PayPal's transmission headers and POSTs them to our real route, which has PayPal verify the
 * signature (`/v1/notifications/verify-webhook-signature`), stores each event once and enqueues it
 * on the durable job queue (pg-boss, as the platform runs it); the queue's worker retrieves the order
 * and moves the payment. The money moves at PayPal without our API hearing the answer (the answer
 * of our call lost), so only the webhooks can bring our rows to where PayPal is — delivered twice
 * and shuffled, which must change nothing.
 */
const allow: AssessRisk = async () => ({ id: randomUUID(), decision: 'allow', score: 0, reasons: [] });

describe.each(backends('api_paypal_webhooks'))('PayPal webhooks through our route on %s', (_name, open) => {
  let fx: Fixture;
  let em: PayPalEmulator;
  let queue: JobQueue | undefined;
  let payments: WiredPayments;
  let paypal: ReturnType<typeof createPayPalProvider>;
  let service: PaymentsService;
  let shop: TestShop;
  let route: string;
  const scope = () => Scope.system(fx.db, { actor: 'test:paypal', action: 'payments.paypal-webhooks' }, recordAudit);

  beforeAll(async () => {
    em = await startPayPalEmulator({ webhookMode: 'manual' });
    paypal = createPayPalProvider({
      clientId: em.clientId,
      clientSecret: em.clientSecret,
      webhookId: em.webhookId,
      apiBase: em.url,
      maxRetries: 0,
    });
    payments = { providers: new Map([['paypal', paypal]]) };
    fx = await startFixture({
      payments,
      rateLimit: { enabled: false },
      jobs: {
        enqueue: (name, data, options) => {
          if (!queue) throw new Error('job queue not started');
          return queue.enqueue(name, data, options);
        },
      },
      ...(open ? { open } : {}),
    });
    queue = createJobQueue({ db: fx.db, url: testDatabaseUrl(fx.db), pollingIntervalSeconds: 0.5 });
    await queue.start();
    // The worker as the platform defines it (platform/src/builders/jobs.ts).
    const deps = paymentJobDeps(fx.db, { payments, jobs: queue });
    await queue.define<WebhookJobData>(
      PAYMENT_WEBHOOK_QUEUE,
      async (job) => void (await runWebhookJob(deps, job.data)),
      PAYMENT_WEBHOOK_SETTINGS,
    );
    route = `${fx.api.url}/api/payments/webhooks/paypal`;
    em.setWebhookUrl(route);
    service = new PaymentsService({ providers: payments, assessRisk: allow });
    shop = await createTestShop(fx.db, { tenantId: 'paypal-shop' });
  }, 60_000);
  afterAll(async () => {
    await queue?.stop({ graceful: false, timeoutMs: 1000 });
    await fx?.close();
    await em?.close();
  });

  /** A booking hold at PayPal the buyer approved: our row waits in requires_action. */
  const approvedOrder = async (amountMinor: number) => {
    const view = await service.start(
      { scope: scope(), actor: 'test:paypal' },
      {
        purpose: 'booking',
        provider: 'paypal',
        amountMinor,
        currency: 'USD',
        capture: 'manual',
        partnerId: shop.partnerId,
        customerTenantId: 'consumers',
        idempotencyKey: randomUUID(),
      },
    );
    expect(view.status).toBe('requires_action');
    em.approve(view.providerRef!);
    return { id: view.id, ref: view.providerRef! };
  };
  const row = (id: string) => fx.db.transaction(async (q) => (await new PaymentsRepository(q).get(id))!);
  /** Every event PayPal sent is stored once and processed by the queue's worker. */
  const allProcessed = async (): Promise<void> => {
    const sent = new Set(em.events().map((e) => e.id));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { rows } = await fx.db.query<{ event_id: string; processed: boolean }>(
        `SELECT event_id, processed_at IS NOT NULL AS processed FROM payment_webhook_events WHERE provider = 'paypal'`,
      );
      if (rows.length === sent.size && rows.every((r) => r.processed)) return;
      if (Date.now() > deadline) throw new Error(`webhooks not processed: ${JSON.stringify(rows)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  it('moves payments to where PayPal has them: authorised, captured, refunded, voided', async () => {
    const captured = await approvedOrder(12_000);
    const voided = await approvedOrder(3_000);
    // Our calls reach PayPal but their answers never come back: only the webhooks tell us.
    await paypal.confirm(captured.ref, { idempotencyKey: `${captured.id}:confirm`, paymentMethod: '' });
    await paypal.confirm(voided.ref, { idempotencyKey: `${voided.id}:confirm`, paymentMethod: '' });
    await em.deliverWebhooks({ duplicate: true, shuffle: true, concurrency: 3, seed: 11 });
    await allProcessed();
    expect((await row(captured.id)).status).toBe('authorized');
    expect((await row(voided.id)).status).toBe('authorized');

    await paypal.capture(captured.ref, { idempotencyKey: `${captured.id}:capture:1`, amountMinor: 10_000 });
    await em.deliverWebhooks({ duplicate: true, seed: 3 });
    await allProcessed();
    expect(await row(captured.id)).toMatchObject({ status: 'captured', capturedMinor: 10_000 });
    await paypal.refund(captured.ref, { idempotencyKey: `${captured.id}:refund:1`, amountMinor: 4_000 });
    await paypal.cancel(voided.ref, { idempotencyKey: `${voided.id}:cancel` });
    // Each twice, shuffled (an older event after a newer one), several at once.
    await em.deliverWebhooks({ duplicate: true, shuffle: true, concurrency: 4, seed: 5 });
    await allProcessed();

    const books = em.orderBooks(captured.ref);
    expect(books.captures).toHaveLength(1);
    expect(books.refunds).toHaveLength(1);
    expect(await row(captured.id)).toMatchObject({
      status: 'partially_refunded',
      capturedMinor: books.captures.reduce((s, c) => s + toMinor(c.amount), 0),
      refundedMinor: books.refunds.reduce((s, r) => s + toMinor(r.amount), 0),
    });
    expect((await row(captured.id)).capturedMinor).toBe(10_000);
    expect((await row(captured.id)).refundedMinor).toBe(4_000);
    expect(await row(voided.id)).toMatchObject({ status: 'cancelled', capturedMinor: 0 });

    // The ledger moved the capture and the refund once each, whatever the duplicates.
    const transfers = await fx.db.query<{ reason: string; n: number; amount: number }>(
      `SELECT reason, count(*)::int AS n, sum(amount)::float8 AS amount FROM ledger_transfers
        WHERE reference = $1 AND reason IN ('capture', 'refund') GROUP BY reason ORDER BY reason`,
      [`payment:${captured.id}`],
    );
    const resolved = await fx.db.query<{ kind: string; amount: number }>(
      `SELECT r.kind, r.amount::float8 AS amount FROM ledger_transfers r
         JOIN ledger_transfers h ON h.id = r.pending_id WHERE h.reference = $1`,
      [`payment:${captured.id}`],
    );
    const capturedInLedger =
      resolved.rows.filter((r) => r.kind === 'post_pending').reduce((s, r) => s + r.amount, 0) +
      transfers.rows.filter((r) => r.reason === 'capture').reduce((s, r) => s + r.amount, 0);
    expect(capturedInLedger).toBe(10_000);
    expect(transfers.rows.find((r) => r.reason === 'refund')).toMatchObject({ n: 1, amount: 4_000 });

    // Each event was stored once and queued once, however often it arrived.
    const attempts = em.webhookAttempts();
    const distinct = new Set(em.events().map((e) => e.id));
    expect(attempts.length).toBeGreaterThan(distinct.size);
    expect(attempts.every((a) => a.status === 200)).toBe(true);
    const jobs = await fx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1`, [
      PAYMENT_WEBHOOK_QUEUE,
    ]);
    expect(jobs.rows[0]!.n).toBe(distinct.size);
  });

  it('brings a payment captured and refunded at PayPal before we applied either to where PayPal has it', async () => {
    const order = await approvedOrder(12_000);
    await paypal.confirm(order.ref, { idempotencyKey: `${order.id}:confirm`, paymentMethod: '' });
    await em.deliverWebhooks({ duplicate: true, seed: 7 });
    await allProcessed();
    expect((await row(order.id)).status).toBe('authorized');

    // The capture's answer is lost and a refund is made at PayPal before any webhook is processed:
    // every later retrieve says captured 10,000 and refunded 4,000 at once.
    await paypal.capture(order.ref, { idempotencyKey: `${order.id}:capture:1`, amountMinor: 10_000 });
    await paypal.refund(order.ref, { idempotencyKey: `${order.id}:refund:1`, amountMinor: 4_000 });
    await em.deliverWebhooks({ duplicate: true, shuffle: true, concurrency: 4, seed: 9 });
    await allProcessed();

    expect(await row(order.id)).toMatchObject({
      status: 'partially_refunded',
      capturedMinor: 10_000,
      refundedMinor: 4_000,
    });
    // Its history shows the capture and then the refund, once each.
    const history = await fx.db.query<{ from_status: string; to_status: string }>(
      `SELECT from_status, to_status FROM payment_events WHERE payment_id = $1 ORDER BY id`,
      [order.id],
    );
    expect(history.rows.slice(-2)).toEqual([
      { from_status: 'authorized', to_status: 'captured' },
      { from_status: 'captured', to_status: 'partially_refunded' },
    ]);
    // The ledger posted the hold for 10,000 and refunded 4,000, once each.
    const resolved = await fx.db.query<{ kind: string; amount: number }>(
      `SELECT r.kind, r.amount::float8 AS amount FROM ledger_transfers r
         JOIN ledger_transfers h ON h.id = r.pending_id WHERE h.reference = $1`,
      [`payment:${order.id}`],
    );
    expect(resolved.rows).toEqual([{ kind: 'post_pending', amount: 10_000 }]);
    const refunds = await fx.db.query<{ n: number; amount: number }>(
      `SELECT count(*)::int AS n, sum(amount)::float8 AS amount FROM ledger_transfers
        WHERE reference = $1 AND reason = 'refund'`,
      [`payment:${order.id}`],
    );
    expect(refunds.rows[0]).toEqual({ n: 1, amount: 4_000 });
  });

  it('refuses a forged or stale PayPal webhook with problem+json and stores nothing', async () => {
    const body = JSON.stringify({
      id: `WH-FORGED-${randomUUID()}`,
      event_version: '1.0',
      create_time: new Date().toISOString(),
      resource_type: 'capture',
      event_type: 'PAYMENT.CAPTURE.COMPLETED',
      resource: { id: 'CAP-1', amount: { currency_code: 'USD', value: '1000.00' } },
    });
    const post = (headers: Record<string, string>) =>
      fetch(route, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const refused = [
      // Signed for another webhook subscription (someone else's PayPal app).
      await post(em.signWebhook(body, { webhookId: 'WH-SOMEONE-ELSES' })),
      // A genuine delivery replayed after the tolerance.
      await post(em.signWebhook(body, { time: new Date(Date.now() - 10 * 60_000) })),
      // No signature at all.
      await post({}),
    ];
    for (const res of refused) {
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await res.json()).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    }
    // The same body signed properly is accepted, which shows the refusals were about the signature.
    const accepted = await post(em.signWebhook(body));
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({ received: true, duplicate: false });
    const again = await post(em.signWebhook(body));
    expect(await again.json()).toMatchObject({ received: true, duplicate: true });
  });
});
