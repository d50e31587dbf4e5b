import { startPayPalEmulator, toMinor } from '@clutch/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPayPalProvider } from './paypal.js';
import { providerContract } from './provider.contract.js';

providerContract('paypal', async () => {
  const emulator = await startPayPalEmulator({ webhookMode: 'manual' });
  const provider = createPayPalProvider({
    clientId: emulator.clientId,
    clientSecret: emulator.clientSecret,
    webhookId: emulator.webhookId,
    apiBase: emulator.url,
    maxRetries: 0,
  });
  return {
    provider,
    currency: 'USD',
    approve: async (payment) => {
      expect(payment.approvalUrl).toMatch(/\/checkoutnow\?token=/);
      emulator.approve(payment.providerRef);
    },
    books: async (orderId) => {
      const { captures, refunds } = emulator.orderBooks(orderId);
      return {
        captures: captures.length,
        capturedMinor: captures.reduce((s, c) => s + toMinor(c.amount), 0),
        refunds: refunds.length,
        refundedMinor: refunds.reduce((s, r) => s + toMinor(r.amount), 0),
      };
    },
    attemptDeclined: async (idempotencyKey) => {
      const order = await provider.authorize({
        idempotencyKey,
        amount: { amountMinor: 1_000, currency: 'USD' },
        capture: 'manual',
        metadata: {},
      });
      emulator.approve(order.providerRef, 'decline');
      return provider.confirm(order.providerRef, { idempotencyKey: `${idempotencyKey}:confirm`, paymentMethod: '' });
    },
    failWith5xx: () => emulator.failNext('POST', '/v2/checkout/orders', 503),
    webhooks: {
      async deliverTo(url) {
        emulator.setWebhookUrl(url);
        await emulator.deliverWebhooks();
      },
      async signBadly(body, how) {
        return emulator.signWebhook(body.toString('utf8'), {
          ...(how.wrongSecret ? { webhookId: 'WH-SOMEONE-ELSES' } : {}),
          ...(how.at ? { time: how.at } : {}),
        });
      },
    },
    close: () => emulator.close(),
  };
});

describe('paypal adapter specifics', () => {
  let emulator: Awaited<ReturnType<typeof startPayPalEmulator>>;
  let paypal: ReturnType<typeof createPayPalProvider>;
  let seq = 0;
  const key = (what: string): string => `paypal-${what}-${Date.now()}-${++seq}`;

  beforeAll(async () => {
    emulator = await startPayPalEmulator({ webhookMode: 'manual' });
    paypal = createPayPalProvider({
      clientId: emulator.clientId,
      clientSecret: emulator.clientSecret,
      webhookId: emulator.webhookId,
      apiBase: emulator.url,
      maxRetries: 1,
    });
  });
  afterAll(async () => {
    await emulator.close();
  });

  it('sends every mutating call with our PayPal-Request-Id and amounts as decimal strings', async () => {
    const idempotencyKey = key('order');
    const order = await paypal.authorize({
      idempotencyKey,
      amount: { amountMinor: 1_999, currency: 'EUR' },
      capture: 'manual',
      metadata: { paymentId: 'pay-1' },
    });
    expect(order).toMatchObject({ status: 'requires_action', amountAuthorizedMinor: 0, currency: 'EUR' });
    expect(emulator.orders().find((o) => o.id === order.providerRef)?.purchase_units[0]).toMatchObject({
      amount: { currency_code: 'EUR', value: '19.99' },
      custom_id: 'pay-1',
    });
    const posts = emulator.requests().filter((r) => r.method === 'POST' && r.path === '/v2/checkout/orders');
    expect(posts.at(-1)?.requestId).toBe(idempotencyKey);
  });

  it('a currency without minor units keeps whole amounts', async () => {
    const order = await paypal.authorize({
      idempotencyKey: key('jpy'),
      amount: { amountMinor: 5_000, currency: 'JPY' },
      capture: 'automatic',
      metadata: {},
    });
    expect(emulator.orders().find((o) => o.id === order.providerRef)?.purchase_units[0]?.amount.value).toBe('5000');
    emulator.approve(order.providerRef);
    const paid = await paypal.confirm(order.providerRef, { idempotencyKey: key('confirm'), paymentMethod: '' });
    expect(paid).toMatchObject({ status: 'captured', amountCapturedMinor: 5_000, currency: 'JPY' });
  });

  it('confirming before the buyer approved is refused', async () => {
    const order = await paypal.authorize({
      idempotencyKey: key('order'),
      amount: { amountMinor: 1_000, currency: 'USD' },
      capture: 'manual',
      metadata: {},
    });
    await expect(
      paypal.confirm(order.providerRef, { idempotencyKey: key('confirm'), paymentMethod: '' }),
    ).rejects.toMatchObject({
      code: 'PROVIDER_INVALID_REQUEST',
      providerCode: 'ORDER_NOT_APPROVED',
    });
  });

  it('a transient 5xx is retried with the same PayPal-Request-Id and captures once', async () => {
    const order = await paypal.authorize({
      idempotencyKey: key('order'),
      amount: { amountMinor: 3_000, currency: 'USD' },
      capture: 'manual',
      metadata: {},
    });
    emulator.approve(order.providerRef);
    await paypal.confirm(order.providerRef, { idempotencyKey: key('confirm'), paymentMethod: '' });
    const authorizationId = emulator.orders().find((o) => o.id === order.providerRef)?.purchase_units[0]?.payments
      ?.authorizations?.[0]?.id;
    const path = `/v2/payments/authorizations/${authorizationId as string}/capture`;
    emulator.failNext('POST', path, 500);
    const captured = await paypal.capture(order.providerRef, { idempotencyKey: key('capture') });
    expect(captured).toMatchObject({ status: 'captured', amountCapturedMinor: 3_000 });
    const attempts = emulator.requests().filter((r) => r.path === path);
    expect(attempts.map((a) => a.status)).toEqual([500, 201]);
    expect(new Set(attempts.map((a) => a.requestId)).size).toBe(1);
    expect(emulator.orderBooks(order.providerRef).captures).toHaveLength(1);
  });

  it('an expired authorisation can no longer be captured', async () => {
    const order = await paypal.authorize({
      idempotencyKey: key('order'),
      amount: { amountMinor: 2_000, currency: 'USD' },
      capture: 'manual',
      metadata: {},
    });
    emulator.approve(order.providerRef);
    const held = await paypal.confirm(order.providerRef, { idempotencyKey: key('confirm'), paymentMethod: '' });
    expect(held.authorizationExpiresAt).toBeInstanceOf(Date);
    emulator.advanceClock(30 * 86_400_000);
    expect((await paypal.retrieve(order.providerRef)).status).toBe('cancelled');
    await expect(paypal.capture(order.providerRef, { idempotencyKey: key('capture') })).rejects.toMatchObject({
      code: 'PROVIDER_INVALID_REQUEST',
      providerCode: 'AUTHORIZATION_EXPIRED',
    });
  });

  it('refuses destination charges (partners are paid through Stripe Connect)', async () => {
    await expect(
      paypal.authorize({
        idempotencyKey: key('order'),
        amount: { amountMinor: 1_000, currency: 'USD' },
        capture: 'manual',
        destination: { account: 'acct_x', applicationFeeMinor: 100 },
        metadata: {},
      }),
    ).rejects.toMatchObject({ code: 'PROVIDER_INVALID_REQUEST' });
  });

  it('wrong client credentials are PROVIDER_UNAVAILABLE (a configuration fault, not the payer)', async () => {
    const wrong = createPayPalProvider({
      clientId: emulator.clientId,
      clientSecret: 'nope',
      apiBase: emulator.url,
      maxRetries: 0,
    });
    await expect(wrong.retrieve('ANY')).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
  });
});
