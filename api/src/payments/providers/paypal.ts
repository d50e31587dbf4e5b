import {
  ApiError,
  CheckoutPaymentIntent,
  Client,
  Environment,
  OrdersController,
  PaymentsController,
  type Money as PayPalMoney,
  type Order,
} from '@paypal/paypal-server-sdk';
import {
  ProviderError,
  type AuthorizeInput,
  type CaptureInput,
  type PaymentProvider,
  type ProviderEvent,
  type ProviderPayment,
  type ProviderRefund,
  type RefundInput,
} from './provider.js';

export interface PayPalProviderOptions {
  clientId: string;
  clientSecret: string;
  /** The webhook subscription's id; without it webhooks cannot be verified and are refused. */
  webhookId?: string | undefined;
  /** `http://127.0.0.1:<port>` of a local server speaking PayPal's wire format (@clutch/emulators). */
  apiBase?: string | undefined;
  /** Without `apiBase`: PayPal's sandbox (default) or live API. */
  environment?: 'sandbox' | 'production' | undefined;
  /** SDK retries of 5xx/429/timeouts; POSTs too, which is safe because each carries PayPal-Request-Id (default 2). */
  maxRetries?: number | undefined;
  timeoutMs?: number | undefined;
  /** The clock webhook transmission times are checked against. */
  now?: (() => Date) | undefined;
}

/** How old a webhook's transmission time may be before we refuse it (replay protection, as for Stripe). */
const WEBHOOK_TOLERANCE_MS = 5 * 60_000;

/**
 * PayPal Orders v2 through the official `@paypal/paypal-server-sdk`: an order with intent AUTHORIZE
 * (hold) or CAPTURE, the buyer approves at PayPal (`approvalUrl`), `confirm` authorises or captures it,
 * captures are final (the rest of the authorisation is released), refunds go against the capture.
 * Webhooks are verified by PayPal's own `verify-webhook-signature` API.
 */
export function createPayPalProvider(options: PayPalProviderOptions): PaymentProvider & { readonly client: Client } {
  const client = new Client({
    clientCredentialsAuthCredentials: { oAuthClientId: options.clientId, oAuthClientSecret: options.clientSecret },
    environment: options.environment === 'production' ? Environment.Production : Environment.Sandbox,
    timeout: options.timeoutMs ?? 20_000,
    httpClientOptions: {
      retryConfig: {
        maxNumberOfRetries: options.maxRetries ?? 2,
        retryOnTimeout: true,
        retryInterval: 0.2,
        maximumRetryWaitTime: 5,
        backoffFactor: 2,
        httpStatusCodesToRetry: [408, 429, 500, 502, 503, 504],
        httpMethodsToRetry: ['GET', 'POST'],
      },
    },
    // The SDK has no base-URL option: a custom axios adapter sends its requests to the local server.
    ...(options.apiBase ? { unstable_httpClientOptions: { adapter: localServerAdapter(options.apiBase) } } : {}),
  });
  const orders = new OrdersController(client);
  const payments = new PaymentsController(client);

  const call = async <T>(fn: () => Promise<{ result: T }>): Promise<T> => {
    try {
      return (await fn()).result;
    } catch (err) {
      throw toProviderError(err);
    }
  };
  const getOrder = (id: string): Promise<Order> => call(() => orders.getOrder({ id }));

  /** The authorisation and the capture of an order (the adapter makes at most one of each). */
  const paymentsOf = (order: Order) => order.purchaseUnits?.[0]?.payments;

  return {
    name: 'paypal',
    client,

    async authorize(input: AuthorizeInput): Promise<ProviderPayment> {
      if (input.destination) {
        throw new ProviderError(
          'PROVIDER_INVALID_REQUEST',
          'PayPal payments are not destination charges here; pay partners through Stripe Connect',
        );
      }
      const order = await call(() =>
        orders.createOrder({
          paypalRequestId: input.idempotencyKey,
          prefer: 'return=representation',
          body: {
            intent: input.capture === 'manual' ? CheckoutPaymentIntent.Authorize : CheckoutPaymentIntent.Capture,
            purchaseUnits: [
              {
                amount: toPayPalMoney(input.amount.amountMinor, input.amount.currency),
                ...(input.metadata.paymentId ? { customId: input.metadata.paymentId.slice(0, 127) } : {}),
                ...(input.description ? { description: input.description.slice(0, 127) } : {}),
              },
            ],
          },
        }),
      );
      return toPayment(order);
    },

    /** After the buyer approved: authorise (hold) or capture, as the order's intent says. */
    async confirm(providerRef, input): Promise<ProviderPayment> {
      const order = await getOrder(providerRef);
      const args = { id: providerRef, paypalRequestId: input.idempotencyKey, prefer: 'return=representation' };
      const done =
        order.intent === CheckoutPaymentIntent.Authorize
          ? await call(() => orders.authorizeOrder(args))
          : await call(() => orders.captureOrder(args));
      return toPayment(done as Order);
    },

    async capture(providerRef: string, input: CaptureInput): Promise<ProviderPayment> {
      const authorization = paymentsOf(await getOrder(providerRef))?.authorizations?.at(-1);
      if (!authorization?.id)
        throw new ProviderError(
          'PROVIDER_INVALID_REQUEST',
          `PayPal order ${providerRef} has no authorisation to capture`,
        );
      await call(() =>
        payments.captureAuthorizedPayment({
          authorizationId: authorization.id as string,
          paypalRequestId: input.idempotencyKey,
          prefer: 'return=representation',
          body: {
            ...(input.amountMinor !== undefined
              ? { amount: toPayPalMoney(input.amountMinor, authorization.amount?.currencyCode ?? 'USD') }
              : {}),
            // One capture per hold: whatever is not captured is released, as with Stripe.
            finalCapture: true,
          },
        }),
      );
      return toPayment(await getOrder(providerRef));
    },

    async cancel(providerRef, input): Promise<ProviderPayment> {
      const order = await getOrder(providerRef);
      const authorization = paymentsOf(order)?.authorizations?.at(-1);
      if (!authorization?.id) {
        // Nothing is held before the buyer's approval is authorised; PayPal lets such orders lapse.
        return { ...toPayment(order), status: 'cancelled', approvalUrl: undefined };
      }
      await call(() =>
        payments.voidPayment({ authorizationId: authorization.id as string, paypalRequestId: input.idempotencyKey }),
      );
      return toPayment(await getOrder(providerRef));
    },

    async refund(providerRef: string, input: RefundInput): Promise<ProviderRefund> {
      const capture = paymentsOf(await getOrder(providerRef))?.captures?.at(-1);
      if (!capture?.id)
        throw new ProviderError('PROVIDER_INVALID_REQUEST', `PayPal order ${providerRef} has no capture to refund`);
      const currency = capture.amount?.currencyCode ?? 'USD';
      const refund = await call(() =>
        payments.refundCapturedPayment({
          captureId: capture.id as string,
          paypalRequestId: input.idempotencyKey,
          prefer: 'return=representation',
          body: {
            ...(input.amountMinor !== undefined ? { amount: toPayPalMoney(input.amountMinor, currency) } : {}),
            ...(input.reason ? { noteToPayer: input.reason.replace(/_/g, ' ') } : {}),
          },
        }),
      );
      return {
        refundRef: refund.id ?? '',
        providerRef,
        status: refund.status === 'COMPLETED' ? 'succeeded' : refund.status === 'PENDING' ? 'pending' : 'failed',
        amountMinor: refund.amount ? toMinor(refund.amount) : 0,
        currency: refund.amount?.currencyCode ?? currency,
      };
    },

    async retrieve(providerRef: string): Promise<ProviderPayment> {
      return toPayment(await getOrder(providerRef));
    },

    async parseWebhook(rawBody, headers): Promise<ProviderEvent> {
      const header = (name: string): string | undefined => {
        const v = headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const transmissionId = header('paypal-transmission-id');
      const transmissionTime = header('paypal-transmission-time');
      const signature = header('paypal-transmission-sig');
      const certUrl = header('paypal-cert-url');
      const authAlgo = header('paypal-auth-algo');
      if (!options.webhookId)
        throw new ProviderError('WEBHOOK_SIGNATURE_INVALID', 'No PayPal webhook id is configured');
      if (!transmissionId || !transmissionTime || !signature || !certUrl || !authAlgo) {
        throw new ProviderError('WEBHOOK_SIGNATURE_INVALID', 'PayPal webhook signature headers are missing');
      }
      const sentAt = Date.parse(transmissionTime);
      const now = options.now?.().getTime() ?? Date.now();
      if (!Number.isFinite(sentAt) || now - sentAt > WEBHOOK_TOLERANCE_MS) {
        throw new ProviderError(
          'WEBHOOK_SIGNATURE_INVALID',
          'PayPal webhook transmission time is outside the tolerance',
        );
      }
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(rawBody.toString('utf8')) as Record<string, unknown>;
      } catch {
        throw new ProviderError('WEBHOOK_SIGNATURE_INVALID', 'PayPal webhook body is not JSON');
      }
      const verification = await verifyWebhookSignature(client, {
        auth_algo: authAlgo,
        cert_url: certUrl,
        transmission_id: transmissionId,
        transmission_sig: signature,
        transmission_time: transmissionTime,
        webhook_id: options.webhookId,
        webhook_event: event,
      });
      if (verification !== 'SUCCESS')
        throw new ProviderError('WEBHOOK_SIGNATURE_INVALID', 'PayPal did not verify the webhook signature');
      return toEvent(event);
    },
  };
}

/**
 * PayPal verifies webhook signatures through its API (the SDK has no call for it): the request goes
 * through the SDK's own request builder, so it carries the same OAuth token and transport.
 */
async function verifyWebhookSignature(client: Client, body: Record<string, unknown>): Promise<string> {
  const req = client.getRequestBuilderFactory()('POST', '/v1/notifications/verify-webhook-signature');
  req.header('Content-Type', 'application/json');
  req.text(JSON.stringify(body));
  req.authenticate([{ oauth2: true }]);
  try {
    const res = await req.callAsText();
    const parsed = JSON.parse(res.result) as { verification_status?: string };
    return parsed.verification_status ?? 'FAILURE';
  } catch (err) {
    throw toProviderError(err);
  }
}

interface AxiosLikeConfig {
  url?: string;
  method?: string;
  headers?: Record<string, unknown> & { toJSON?: () => Record<string, unknown> };
  data?: unknown;
  auth?: { username: string; password?: string };
  timeout?: number;
}

/**
 * An axios adapter (axios' documented extension point for transports) that sends the SDK's requests
 * to `apiBase` with fetch: the path and query of PayPal's URL are kept, the origin is replaced.
 */
function localServerAdapter(apiBase: string) {
  const base = new URL(apiBase);
  return async (config: AxiosLikeConfig) => {
    const original = new URL(config.url ?? '/', 'https://api-m.sandbox.paypal.com');
    const target = new URL(`${original.pathname}${original.search}`, base);
    const headers = new Headers();
    const plain = config.headers?.toJSON ? config.headers.toJSON() : (config.headers ?? {});
    for (const [name, value] of Object.entries(plain)) {
      if (value !== undefined && value !== null && value !== false) headers.set(name, String(value));
    }
    if (config.auth) {
      headers.set(
        'authorization',
        `Basic ${Buffer.from(`${config.auth.username}:${config.auth.password ?? ''}`).toString('base64')}`,
      );
    }
    const res = await fetch(target, {
      method: (config.method ?? 'get').toUpperCase(),
      headers,
      body: typeof config.data === 'string' || config.data instanceof Uint8Array ? config.data : undefined,
      ...(config.timeout ? { signal: AbortSignal.timeout(config.timeout) } : {}),
    });
    const responseHeaders: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      responseHeaders[name] = value;
    });
    return {
      data: await res.text(),
      status: res.status,
      statusText: res.statusText,
      headers: responseHeaders,
      config,
      request: {},
    };
  };
}

function currencyDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Minor units to PayPal's decimal string, without floating point. */
function toPayPalMoney(minor: number, currency: string): PayPalMoney {
  if (!Number.isSafeInteger(minor) || minor < 0)
    throw new ProviderError('PROVIDER_INVALID_REQUEST', `Invalid amount ${minor}`);
  const digits = currencyDigits(currency);
  const text = String(minor).padStart(digits + 1, '0');
  return {
    currencyCode: currency.toUpperCase(),
    value: digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`,
  };
}

function toMinor(money: { currencyCode?: string; value?: string; currency_code?: string }): number {
  const currency = money.currencyCode ?? money.currency_code ?? 'USD';
  const digits = currencyDigits(currency);
  const [whole = '0', fraction = ''] = (money.value ?? '0').split('.');
  return Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, '0').slice(0, digits) || '0');
}

function toPayment(order: Order): ProviderPayment {
  const unit = order.purchaseUnits?.[0];
  const amount = unit?.amount;
  const currency = amount?.currencyCode ?? 'USD';
  const collection = unit?.payments;
  const authorization = collection?.authorizations?.at(-1);
  const captures = (collection?.captures ?? []).filter((c) => c.status !== 'DECLINED' && c.status !== 'FAILED');
  const declined = (collection?.captures ?? []).some((c) => c.status === 'DECLINED' || c.status === 'FAILED');
  const refunds = (collection?.refunds ?? []).filter((r) => r.status === 'COMPLETED');
  const capturedMinor = captures.reduce((sum, c) => sum + (c.amount ? toMinor(c.amount) : 0), 0);
  let status: ProviderPayment['status'];
  if (captures.length > 0) status = 'captured';
  else if (authorization) {
    status =
      authorization.status === 'VOIDED' || (authorization.status as string) === 'EXPIRED'
        ? 'cancelled'
        : authorization.status === 'DENIED'
          ? 'failed'
          : 'authorized';
  } else if (declined) status = 'failed';
  else if (order.status === 'VOIDED') status = 'cancelled';
  else status = 'requires_action';
  const approval = order.links?.find((l) => l.rel === 'approve' || l.rel === 'payer-action');
  return {
    provider: 'paypal',
    providerRef: order.id ?? '',
    status,
    currency,
    amountAuthorizedMinor: authorization?.amount
      ? toMinor(authorization.amount)
      : captures.length > 0 && amount
        ? toMinor(amount)
        : 0,
    amountCapturedMinor: capturedMinor,
    amountRefundedMinor: refunds.reduce((sum, r) => sum + (r.amount ? toMinor(r.amount) : 0), 0),
    approvalUrl: status === 'requires_action' ? approval?.href : undefined,
    authorizationExpiresAt:
      status === 'authorized' && authorization?.expirationTime ? new Date(authorization.expirationTime) : undefined,
    failureCode: status === 'failed' ? (authorization?.statusDetails?.reason ?? 'DECLINED') : undefined,
  };
}

function toEvent(event: Record<string, unknown>): ProviderEvent {
  const resource = (event.resource ?? {}) as Record<string, unknown>;
  const related = ((resource.supplementary_data as Record<string, unknown> | undefined)?.related_ids ?? {}) as Record<
    string,
    string
  >;
  const money = resource.amount as { currency_code: string; value: string } | undefined;
  const base = {
    id: String(event.id),
    provider: 'paypal' as const,
    occurredAt: new Date(String(event.create_time)),
    raw: event,
    amountMinor: money ? toMinor(money) : undefined,
    currency: money?.currency_code,
    providerRef: related.order_id ?? (event.resource_type === 'checkout-order' ? String(resource.id) : undefined),
  };
  const objectRef = typeof resource.id === 'string' ? resource.id : undefined;
  switch (event.event_type) {
    case 'PAYMENT.AUTHORIZATION.CREATED':
      return { ...base, type: 'payment.authorized', objectRef };
    case 'PAYMENT.AUTHORIZATION.VOIDED':
      return { ...base, type: 'payment.cancelled', objectRef };
    case 'PAYMENT.CAPTURE.COMPLETED':
      return { ...base, type: 'payment.captured', objectRef };
    case 'PAYMENT.CAPTURE.DENIED':
    case 'PAYMENT.CAPTURE.DECLINED':
      return { ...base, type: 'payment.failed', objectRef };
    case 'PAYMENT.CAPTURE.REFUNDED':
      return { ...base, type: 'refund.succeeded', objectRef };
    case 'CUSTOMER.DISPUTE.CREATED':
      return { ...base, type: 'dispute.opened', objectRef };
    case 'CUSTOMER.DISPUTE.RESOLVED':
      return { ...base, type: 'dispute.closed', objectRef };
    default:
      return { ...base, type: 'other', objectRef };
  }
}

const DECLINE_ISSUES = new Set([
  'INSTRUMENT_DECLINED',
  'TRANSACTION_REFUSED',
  'PAYER_CANNOT_PAY',
  'PAYEE_BLOCKED_TRANSACTION',
]);
const IDEMPOTENCY_ISSUES = new Set(['PAYPAL_REQUEST_ID_PREVIOUSLY_USED', 'DUPLICATE_REQUEST_ID']);

/** PayPal's HTTP status and `details[].issue` onto our codes. */
export function toProviderError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof ApiError) {
    let result = err.result as
      { name?: string; message?: string; details?: { issue?: string; description?: string }[] } | undefined;
    if (!result && typeof err.body === 'string') {
      try {
        result = JSON.parse(err.body) as typeof result;
      } catch {
        result = undefined;
      }
    }
    const issue = result?.details?.[0]?.issue ?? result?.name;
    const message = result?.details?.[0]?.description ?? result?.message ?? err.message;
    if (err.statusCode >= 500 || err.statusCode === 429 || err.statusCode === 401 || err.statusCode === 403) {
      return new ProviderError('PROVIDER_UNAVAILABLE', message, issue);
    }
    if (issue && DECLINE_ISSUES.has(issue)) return new ProviderError('PROVIDER_DECLINED', message, issue);
    if (issue && IDEMPOTENCY_ISSUES.has(issue))
      return new ProviderError('PROVIDER_IDEMPOTENCY_CONFLICT', message, issue);
    return new ProviderError('PROVIDER_INVALID_REQUEST', message, issue);
  }
  return new ProviderError('PROVIDER_UNAVAILABLE', err instanceof Error ? err.message : String(err));
}
