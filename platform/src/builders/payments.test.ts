import { migrate, openPglite } from '@clutch/db';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { paymentsConfig, startPayments } from './payments.js';

describe('payment providers from the environment', () => {
  it('reads Stripe and PayPal settings, and refuses a key without its webhook secret', () => {
    expect(paymentsConfig({})).toEqual({});
    expect(
      paymentsConfig({
        CLUTCH_STRIPE_SECRET_KEY: 'sk_test_1',
        CLUTCH_STRIPE_WEBHOOK_SECRET: 'whsec_1',
        CLUTCH_STRIPE_API_BASE: 'http://127.0.0.1:12111',
        CLUTCH_PAYPAL_CLIENT_ID: 'id',
        CLUTCH_PAYPAL_CLIENT_SECRET: 'secret',
      }),
    ).toEqual({
      stripe: {
        secretKey: 'sk_test_1',
        webhookSecret: 'whsec_1',
        apiBase: 'http://127.0.0.1:12111',
        publishableKey: undefined,
      },
      paypal: { clientId: 'id', clientSecret: 'secret', apiBase: undefined, webhookId: undefined },
    });
    expect(() => paymentsConfig({ CLUTCH_STRIPE_SECRET_KEY: 'sk_test_1' })).toThrow(/CLUTCH_STRIPE_WEBHOOK_SECRET/);
    expect(() => paymentsConfig({ CLUTCH_PAYPAL_CLIENT_ID: 'id' })).toThrow(/CLUTCH_PAYPAL_CLIENT_SECRET/);
  });

  it('runs the Stripe emulator in process without a key, with cash beside it, and says so', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const running = await startPayments({}, logger);
    try {
      expect([...running.payments.providers.keys()].sort()).toEqual(['cash', 'stripe']);
      expect(running.emulator).toBeDefined();
      expect(running.payments.browser?.stripe?.apiBase).toBe(running.emulator!.url);
      expect(lines.join('')).toMatch(/Stripe emulator runs in this process/);
      // The adapter really talks to it: a hold on a test card.
      const held = await running.payments.providers.get('stripe')!.authorize({
        idempotencyKey: 'builder-test',
        amount: { amountMinor: 1200, currency: 'EUR' },
        capture: 'manual',
        paymentMethod: 'pm_card_visa',
        confirm: true,
        metadata: {},
      });
      expect(held.status).toBe('authorized');
      running.pointWebhooksAt('http://127.0.0.1:1');
      expect(lines.join('')).toMatch(/127\.0\.0\.1:1\/api\/payments\/webhooks\/stripe/);
    } finally {
      await running.close();
    }
  });

  it('keeps pay-at-shop IOUs in the platform database it is given', async () => {
    const db = await openPglite();
    await migrate(db);
    const running = await startPayments({}, pino({ level: 'silent' }), { emulate: false, db });
    try {
      const held = await running.payments.providers.get('cash')!.authorize({
        idempotencyKey: 'builder-cash',
        amount: { amountMinor: 45_000, currency: 'EGP' },
        capture: 'manual',
        metadata: {},
      });
      const { rows } = await db.query<{ ref: string }>(`SELECT ref FROM cash_ious`);
      expect(rows).toEqual([{ ref: held.providerRef }]);
    } finally {
      await running.close();
      await db.close();
    }
  });
});
