import {
  createCashProvider,
  createPayPalProvider,
  createStripeProvider,
  type PaymentProvider,
  type ProviderName,
  type WiredPayments,
} from '@clutch/api';
import { startStripeEmulator, type StripeEmulator } from '@clutch/emulators';
import type { Database } from '@clutch/db';
import type { Logger } from 'pino';

/**
 * The payment providers from the environment (docs/payments-flows.md, "Configuration"):
 *
 * | variable | meaning |
 * |---|---|
 * | `CLUTCH_STRIPE_SECRET_KEY` | Stripe secret key (`sk_...`); unset: the Stripe emulator runs in this process |
 * | `CLUTCH_STRIPE_WEBHOOK_SECRET` | the webhook endpoint's signing secret (`whsec_...`) |
 * | `CLUTCH_STRIPE_API_BASE` | another Stripe-speaking server (`http://127.0.0.1:12111`); default api.stripe.com |
 * | `CLUTCH_STRIPE_PUBLISHABLE_KEY` | the browser's key (`pk_...`), for the card step |
 * | `CLUTCH_PAYPAL_CLIENT_ID`, `CLUTCH_PAYPAL_CLIENT_SECRET` | PayPal REST app; unset: no PayPal |
 * | `CLUTCH_PAYPAL_API_BASE` | PayPal's API (default the sandbox) |
 * | `CLUTCH_PAYPAL_WEBHOOK_ID` | the webhook's id, for verifying PayPal's signatures |
 *
 * Cash (pay at the shop) is always there. Without a Stripe key the demo still takes cards: the
 * Stripe emulator (@clutch/emulators) starts here, its webhooks pointed at this API's own webhook
 * route once the API listens (`pointWebhooksAt`), and the log says so.
 */
export interface PaymentsConfig {
  stripe?: {
    secretKey: string;
    webhookSecret: string;
    apiBase?: string | undefined;
    publishableKey?: string | undefined;
  };
  paypal?: { clientId: string; clientSecret: string; apiBase?: string | undefined; webhookId?: string | undefined };
}

export function paymentsConfig(env: NodeJS.ProcessEnv = process.env): PaymentsConfig {
  const config: PaymentsConfig = {};
  const stripeKey = env.CLUTCH_STRIPE_SECRET_KEY?.trim();
  if (stripeKey) {
    const webhookSecret = env.CLUTCH_STRIPE_WEBHOOK_SECRET?.trim();
    if (!webhookSecret) throw new Error('CLUTCH_STRIPE_WEBHOOK_SECRET is required with CLUTCH_STRIPE_SECRET_KEY');
    config.stripe = {
      secretKey: stripeKey,
      webhookSecret,
      apiBase: env.CLUTCH_STRIPE_API_BASE?.trim() || undefined,
      publishableKey: env.CLUTCH_STRIPE_PUBLISHABLE_KEY?.trim() || undefined,
    };
  }
  const paypalId = env.CLUTCH_PAYPAL_CLIENT_ID?.trim();
  if (paypalId) {
    const secret = env.CLUTCH_PAYPAL_CLIENT_SECRET?.trim();
    if (!secret) throw new Error('CLUTCH_PAYPAL_CLIENT_SECRET is required with CLUTCH_PAYPAL_CLIENT_ID');
    config.paypal = {
      clientId: paypalId,
      clientSecret: secret,
      apiBase: env.CLUTCH_PAYPAL_API_BASE?.trim() || undefined,
      webhookId: env.CLUTCH_PAYPAL_WEBHOOK_ID?.trim() || undefined,
    };
  }
  return config;
}

export interface RunningPayments {
  /** What the API and the jobs get (`ApiDeps.payments`). */
  payments: WiredPayments;
  /** The in-process Stripe emulator, when no key was configured. */
  emulator?: StripeEmulator | undefined;
  /** Points the emulator's webhooks at the API once it listens (no-op with a real Stripe account). */
  pointWebhooksAt(apiUrl: string): void;
  close(): Promise<void>;
}

/**
 * `emulate: false` (the scaled-out roles, whose processes could not share one in-process emulator's
 * state): without a Stripe key there is no Stripe, only cash; point CLUTCH_STRIPE_API_BASE at a shared
 * emulator or Stripe instead.
 */
export async function startPayments(
  config: PaymentsConfig,
  logger: Logger,
  options: { emulate?: boolean; db?: Database } = {},
): Promise<RunningPayments> {
  const log = logger.child({ component: 'payments' });
  const providers = new Map<ProviderName, PaymentProvider>();
  // Pay-at-shop IOUs in the platform's database: they outlive a restart and every process sees them.
  providers.set('cash', createCashProvider({ db: options.db }));
  let emulator: StripeEmulator | undefined;
  let stripeBrowser: { publishableKey: string; apiBase: string } | undefined;
  let stripe: ReturnType<typeof createStripeProvider> | undefined;
  if (config.stripe) {
    stripe = createStripeProvider(config.stripe);
    if (config.stripe.publishableKey)
      stripeBrowser = {
        publishableKey: config.stripe.publishableKey,
        apiBase: config.stripe.apiBase ?? 'https://api.stripe.com',
      };
    log.info({ apiBase: config.stripe.apiBase ?? 'https://api.stripe.com' }, 'Stripe configured');
  } else if (options.emulate === false) {
    log.warn('no CLUTCH_STRIPE_SECRET_KEY: no card payments in this process (cash only)');
  } else {
    emulator = await startStripeEmulator({});
    stripe = createStripeProvider({
      secretKey: emulator.secretKey,
      webhookSecret: emulator.webhookSecret,
      apiBase: emulator.url,
    });
    stripeBrowser = { publishableKey: emulator.publishableKey, apiBase: emulator.url };
    log.info(
      { url: emulator.url },
      'no CLUTCH_STRIPE_SECRET_KEY: the Stripe emulator runs in this process (test cards such as pm_card_visa; no real money)',
    );
  }
  if (stripe) providers.set('stripe', stripe);
  if (config.paypal) {
    providers.set('paypal', createPayPalProvider(config.paypal));
    log.info({ apiBase: config.paypal.apiBase ?? 'sandbox' }, 'PayPal configured');
  }
  return {
    payments: {
      providers,
      payouts: stripe,
      balance: stripe,
      browser: stripeBrowser ? { stripe: stripeBrowser } : undefined,
    },
    emulator,
    pointWebhooksAt(apiUrl) {
      if (!emulator) return;
      emulator.setWebhookUrl(`${apiUrl.replace(/\/$/, '')}/api/payments/webhooks/stripe`);
      log.info({ webhookUrl: `${apiUrl}/api/payments/webhooks/stripe` }, 'Stripe emulator webhooks point at this API');
    },
    async close() {
      await emulator?.close();
    },
  };
}
