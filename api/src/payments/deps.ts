import type { Logger } from 'pino';
import type { JobEnqueuer } from '../ai/retrain-jobs.js';
import type { PaymentProviders } from './providers/provider.js';

/** What the browser needs to confirm a card itself (Stripe.js's role): never a secret. */
export interface BrowserPaymentConfig {
  stripe?: { publishableKey: string; apiBase: string } | undefined;
}

/**
 * What the platform wires in as `DomainDeps.payments` / `ApiDeps.payments`: the adapters, and what
 * the browser may know about them (GET /api/payments/config).
 */
export type WiredPayments = PaymentProviders & { browser?: BrowserPaymentConfig | undefined };

/** What the payments use cases need besides the caller's scope. */
export interface PaymentDeps {
  /** The configured provider adapters; absent: only wallet payments work (and cash once wired). */
  providers?: PaymentProviders | undefined;
  browser?: BrowserPaymentConfig | undefined;
  /** The durable job queue (webhook processing); absent: webhooks are processed after commit, in process. */
  jobs?: JobEnqueuer | undefined;
  logger?: Logger | undefined;
  /** The clock (tests move it). */
  now?: () => Date;
}

/** PaymentDeps from what a domain gets (P4's installments build theirs with it too). */
export function paymentDeps(deps: {
  payments?: PaymentProviders | undefined;
  jobs?: JobEnqueuer | undefined;
  logger?: Logger | undefined;
}): PaymentDeps {
  const wired = deps.payments as WiredPayments | undefined;
  return { providers: wired, browser: wired?.browser, jobs: deps.jobs, logger: deps.logger };
}
