import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CORS_HEADERS,
  parseFailNextArgs,
  randomId,
  readBody,
  sendJson,
  takeFailure,
  type InjectedFailure,
} from '../http.js';
import { WebhookDispatcher, type DeliverOptions, type DeliveryAttempt, type DeliveryReport } from '../webhooks.js';
import { canonicalParams, decodeForm, type FormObject, type FormValue } from './form.js';
import type {
  Account,
  BalanceTransaction,
  Charge,
  PaymentIntent,
  Payout,
  Refund,
  StripeEvent,
  Transfer,
} from './objects.js';
import { ApiError, invalid, PLATFORM, str, StripeState, type RequestContext } from './state.js';

/** The API version the emulator reports on events (the one stripe@23 pins). */
export const STRIPE_API_VERSION = '2026-10-28.endive';

const MAX_LOGGED_REQUESTS = 10_000;

export interface StripeEmulatorOptions {
  /** Where signed events are POSTed. Can be set later with `setWebhookUrl`. */
  webhookUrl?: string | undefined;
  /** `whsec_...`; random when absent. */
  webhookSecret?: string | undefined;
  secretKey?: string | undefined;
  publishableKey?: string | undefined;
  /** Days an uncaptured card authorisation stays capturable (Stripe: 7). */
  authorizationDays?: number | undefined;
  /** The emulator's clock (default: the wall clock); `advanceClock` moves it on. */
  now?: (() => Date) | undefined;
  /** `auto` (default): webhooks go out as events happen, retried with backoff; `manual`: only on `deliverWebhooks()`. */
  webhookMode?: 'auto' | 'manual' | undefined;
  /** Delivery attempts per event before it is given up (default 5). */
  webhookMaxAttempts?: number | undefined;
  port?: number | undefined;
  host?: string | undefined;
}

export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  replayed: boolean;
  status: number;
}

export interface StripeEmulator {
  /** `http://127.0.0.1:<port>` */
  url: string;
  host: string;
  port: number;
  secretKey: string;
  publishableKey: string;
  webhookSecret: string;
  setWebhookUrl(url: string | undefined): void;
  /** Attempts every pending webhook now; failures stay pending. Duplicate/shuffle/delay to test receivers. */
  deliverWebhooks(options?: DeliverOptions): Promise<DeliveryReport>;
  /** Queues an already sent event again (Stripe redelivers). */
  redeliverEvent(eventId: string): void;
  webhookAttempts(): DeliveryAttempt[];
  pendingWebhooks(): number;
  /** Signs a payload like Stripe does, for receivers' negative tests. */
  signPayload(body: string, options?: { secret?: string; timestamp?: number }): string;
  events(): StripeEvent[];
  paymentIntents(): PaymentIntent[];
  /** One PaymentIntent (undefined when there is none with this id), without copying all of them. */
  paymentIntent(id: string): PaymentIntent | undefined;
  charges(): Charge[];
  refunds(): Refund[];
  accounts(): Account[];
  transfers(): Transfer[];
  payouts(): Payout[];
  /** Balance transactions of the platform (or of a connected account), oldest first. */
  balanceTransactions(account?: string): BalanceTransaction[];
  /** Available balance in minor units for a currency (`usd`), of the platform or a connected account. */
  balance(currency: string, account?: string): number;
  requests(): RecordedRequest[];
  /** What moved money for one PaymentIntent, from the emulator's balance transactions. */
  paymentBooks(paymentIntentId: string): PaymentBooks;
  /** Every event with the exact body the emulator POSTs and a fresh valid signature, for receivers' own delivery tests. */
  signedEvents(): { id: string; type: string; body: string; headers: Record<string, string> }[];
  /** The payer completes (or fails) 3D Secure on a PaymentIntent in `requires_action`. */
  authenticate(paymentIntentId: string, outcome?: 'succeed' | 'fail'): PaymentIntent;
  /** Opens a dispute on a captured charge (`charge.dispute.created`); returns the dispute id. */
  dispute(paymentIntentId: string): string;
  /** Closes a dispute as won or lost (`charge.dispute.closed`). */
  closeDispute(disputeId: string, outcome: 'won' | 'lost'): void;
  /**
   * The next matching request answers `status` with `body` (Stripe's error shape by default) without
   * being executed, `times` times: `failNext('/v1/payment_intents', 503)` or
   * `failNext('POST', '/v1/refunds', 429, undefined, 3)`. The path matches itself and everything under it.
   */
  failNext(...args: [string, number, unknown?, number?] | [string, string, number, unknown?, number?]): void;
  advanceClock(ms: number): void;
  now(): Date;
  close(): Promise<void>;
}

export interface PaymentBooks {
  /** Captures that put money in the platform balance (a charge balance transaction each). */
  captures: number;
  capturedMinor: number;
  refunds: { id: string; amount: number }[];
  refundedMinor: number;
}

interface StoredResponse {
  method: string;
  path: string;
  params: string;
  status: number;
  body: unknown;
}

/**
 * A local server speaking Stripe's documented wire format for the parts Clutch uses: PaymentIntents,
 * refunds, Connect accounts/transfers/payouts, balance transactions, events and signed webhooks.
 */
export async function startStripeEmulator(options: StripeEmulatorOptions = {}): Promise<StripeEmulator> {
  const secretKey = options.secretKey ?? `sk_test_${randomId('', 32)}`;
  const publishableKey = options.publishableKey ?? `pk_test_${randomId('', 32)}`;
  const webhookSecret = options.webhookSecret ?? `whsec_${randomId('', 32)}`;
  let offsetMs = 0;
  const now = (): Date => new Date((options.now ? options.now().getTime() : Date.now()) + offsetMs);

  const sign = (body: string, secret = webhookSecret, timestamp = Math.floor(now().getTime() / 1000)): string =>
    `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

  const dispatcher = new WebhookDispatcher(
    {
      headersFor: (event) => ({
        'stripe-signature': sign(event.body),
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      }),
      mode: options.webhookMode ?? 'auto',
      maxAttempts: options.webhookMaxAttempts ?? 5,
      retryDelayMs: 200,
    },
    options.webhookUrl,
  );
  const state = new StripeState({
    now,
    authorizationDays: options.authorizationDays ?? 7,
    apiVersion: STRIPE_API_VERSION,
    onEvent: (event) => dispatcher.enqueue({ id: event.id, body: eventBody(event) }),
  });
  const idempotency = new Map<string, StoredResponse>();
  const failures: InjectedFailure[] = [];
  const log: RecordedRequest[] = [];

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { type: 'api_error', message: String(err) } }, CORS_HEADERS);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const requestId = randomId('req', 14);
    const headers: Record<string, string> = {
      ...CORS_HEADERS,
      'request-id': requestId,
      'stripe-version': STRIPE_API_VERSION,
    };
    if (method === 'OPTIONS') {
      res.writeHead(204, headers);
      res.end();
      return;
    }
    const text = await readBody(req);
    const idempotencyKey = headerValue(req, 'idempotency-key');
    const record = (status: number, replayed = false): void => {
      log.push({ method, path, idempotencyKey, replayed, status });
      // A long-running demo must not grow without bound; tests look at recent requests.
      if (log.length > MAX_LOGGED_REQUESTS) log.splice(0, log.length - MAX_LOGGED_REQUESTS);
    };
    const reply = (status: number, body: unknown, extra: Record<string, string> = {}): void => {
      sendJson(res, status, body, { ...headers, ...extra });
    };

    const failure = takeFailure(failures, method, path);
    if (failure) {
      record(failure.status);
      const type =
        failure.status === 429 ? 'rate_limit_error' : failure.status >= 500 ? 'api_error' : 'invalid_request_error';
      reply(
        failure.status,
        failure.body ?? { error: { type, message: `Injected failure (${failure.status}) by the emulator.` } },
      );
      return;
    }

    let params: FormObject;
    try {
      params = decodeForm(method === 'GET' || method === 'DELETE' ? url.search.slice(1) : text);
    } catch {
      record(400);
      reply(400, { error: { type: 'invalid_request_error', message: 'Could not parse the request body.' } });
      return;
    }

    const auth = authenticate(req, params, path, method);
    if (auth instanceof ApiError) {
      record(auth.status);
      reply(auth.status, { error: auth.error });
      return;
    }

    const stripeAccount = headerValue(req, 'stripe-account');
    const ctx: RequestContext = { requestId, idempotencyKey, account: stripeAccount };
    const canonical = canonicalParams(params);
    const storeKey = idempotencyKey && method === 'POST' ? `${auth}|${stripeAccount ?? ''}|${idempotencyKey}` : null;
    if (storeKey) {
      const stored = idempotency.get(storeKey);
      if (stored) {
        if (stored.method !== method || stored.path !== path || stored.params !== canonical) {
          record(400);
          reply(400, {
            error: {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
            },
          });
          return;
        }
        record(stored.status, true);
        reply(stored.status, stored.body, { 'idempotent-replayed': 'true', 'original-request': requestId });
        return;
      }
    }

    let status = 200;
    let body: unknown;
    try {
      state.sweep();
      body = route(method, path, params, ctx);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      status = err.status;
      body = { error: err.error };
    }
    // Stripe saves the result of any request that started executing, errors included (a 402 decline
    // replays as the same decline); validation failures before execution are not saved. We save both.
    if (storeKey) idempotency.set(storeKey, { method, path, params: canonical, status, body });
    record(status);
    reply(status, body, idempotencyKey ? { 'idempotency-key': idempotencyKey } : {});
  }

  /** Returns the key used (scopes idempotency keys) or an ApiError. */
  function authenticate(req: IncomingMessage, params: FormObject, path: string, method: string): string | ApiError {
    if (path.startsWith('/_emulator/')) return 'emulator';
    const header = req.headers.authorization ?? '';
    let key = '';
    if (header.startsWith('Bearer ')) key = header.slice(7).trim();
    else if (header.startsWith('Basic '))
      key = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')[0] ?? '';
    else if (str(params.key)?.startsWith('pk_')) {
      // Stripe.js sends the publishable key as the `key` form field (a simple CORS request, no preflight).
      key = str(params.key) as string;
      delete params.key;
    }
    if (!key) {
      return new ApiError(401, {
        type: 'invalid_request_error',
        message:
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
      });
    }
    if (key === secretKey) return key;
    if (key === publishableKey) {
      // What Stripe.js may do with a publishable key: read and confirm a PaymentIntent it holds the client secret of.
      const match = /^\/v1\/payment_intents\/([^/]+)(\/confirm)?$/.exec(path);
      const allowed = match && ((method === 'GET' && !match[2]) || (method === 'POST' && match[2]));
      if (!allowed) {
        return new ApiError(401, {
          type: 'invalid_request_error',
          message: 'This API call cannot be made with a publishable API key. Please use a secret API key.',
        });
      }
      const pi = state.paymentIntents.get(match[1] as string);
      if (!pi || str(params.client_secret) !== pi.client_secret) {
        return new ApiError(404, {
          type: 'invalid_request_error',
          code: 'resource_missing',
          message: `No such payment_intent: '${match[1] as string}'`,
          param: 'client_secret',
        });
      }
      delete params.client_secret;
      return key;
    }
    return new ApiError(401, {
      type: 'invalid_request_error',
      message: `Invalid API Key provided: ${key.slice(0, 8)}${'*'.repeat(8)}`,
    });
  }

  function route(method: string, path: string, p: FormObject, ctx: RequestContext): unknown {
    const seg = path.split('/').filter(Boolean);
    const [v1, resource, id, action] = seg;
    if (v1 === '_emulator') return testRoute(seg.slice(1), p, ctx);
    if (v1 !== 'v1' || seg.length > 4) throw notFound(method, path);
    const expandPi = (pi: PaymentIntent): PaymentIntent => expand(pi, p);
    switch (`${method} ${resource ?? ''}${id ? '/:id' : ''}${action ? `/${action}` : ''}`) {
      case 'POST payment_intents':
        return expandPi(state.createPaymentIntent(p, ctx));
      case 'GET payment_intents':
        return list([...state.paymentIntents.values()], p, '/v1/payment_intents');
      case 'GET payment_intents/:id':
        return expandPi(state.paymentIntent(id as string));
      case 'POST payment_intents/:id':
        return expandPi(state.updatePaymentIntent(id as string, p));
      case 'POST payment_intents/:id/confirm':
        return expandPi(state.confirmPaymentIntent(id as string, p, ctx));
      case 'POST payment_intents/:id/capture':
        return expandPi(state.capturePaymentIntent(id as string, p, ctx));
      case 'POST payment_intents/:id/cancel':
        return expandPi(state.cancelPaymentIntent(id as string, p, ctx));
      case 'GET charges/:id':
        return state.charge(id as string);
      case 'GET charges':
        return list([...state.charges.values()], p, '/v1/charges');
      case 'POST refunds':
        return state.createRefund(p, ctx);
      case 'GET refunds/:id':
        return state.refund(id as string);
      case 'GET refunds':
        return list(
          [...state.refunds.values()].filter((r) => !p.payment_intent || r.payment_intent === p.payment_intent),
          p,
          '/v1/refunds',
        );
      case 'POST accounts':
        return state.createAccount(p, ctx);
      case 'GET accounts/:id':
        return state.account(id as string);
      case 'POST transfers':
        return state.createTransfer(p, ctx);
      case 'GET transfers/:id':
        return state.transfer(id as string);
      case 'GET transfers':
        return list([...state.transfers.values()], p, '/v1/transfers');
      case 'POST payouts':
        return state.createPayout(p, ctx);
      case 'GET payouts/:id':
        return state.payout(id as string);
      case 'GET balance': {
        const currencies = new Set(
          (state.balanceTransactions.get(ctx.account ?? PLATFORM) ?? []).map((t) => t.currency),
        );
        return {
          object: 'balance',
          livemode: false,
          available: [...currencies].map((currency) => ({
            amount: state.available(ctx.account ?? PLATFORM, currency),
            currency,
          })),
          pending: [],
        };
      }
      case 'GET balance_transactions': {
        let txns = [...(state.balanceTransactions.get(ctx.account ?? PLATFORM) ?? [])];
        const created = p.created;
        if (typeof created === 'string') txns = txns.filter((t) => t.created === Number(created));
        else if (created && !Array.isArray(created)) txns = txns.filter((t) => inRange(t.created, created));
        if (typeof p.type === 'string') txns = txns.filter((t) => t.type === p.type);
        if (typeof p.source === 'string') txns = txns.filter((t) => t.source === p.source);
        const page = list(txns, p, '/v1/balance_transactions');
        if (Array.isArray(p.expand) && p.expand.includes('data.source')) {
          return { ...page, data: page.data.map((t) => ({ ...t, source: sourceObject(t.source) ?? t.source })) };
        }
        return page;
      }
      case 'GET balance_transactions/:id': {
        const txn = (state.balanceTransactions.get(ctx.account ?? PLATFORM) ?? []).find((t) => t.id === id);
        if (!txn) throw invalid(`No such balance transaction: '${id as string}'`, 'id', 'resource_missing', 404);
        const expandSource = Array.isArray(p.expand) && p.expand.includes('source');
        return expandSource ? { ...txn, source: sourceObject(txn.source) ?? txn.source } : txn;
      }
      case 'GET events':
        return list(
          state.events.filter((e) => typeof p.type !== 'string' || e.type === p.type),
          p,
          '/v1/events',
        );
      case 'GET events/:id':
        return state.event(id as string);
      default:
        throw notFound(method, path);
    }
  }

  function testRoute(seg: string[], p: FormObject, ctx: RequestContext): unknown {
    const [resource, id, action] = seg;
    if (resource === 'payment_intents' && id && action === 'authenticate') {
      return state.authenticate(id, str(p.outcome) === 'fail' ? 'fail' : 'succeed', ctx);
    }
    if (resource === 'clock' && id === 'advance') {
      emulator.advanceClock(Number(str(p.ms) ?? '0'));
      return { now: now().toISOString() };
    }
    if (resource === 'fail_next' && id === undefined) {
      const path = str(p.path);
      const status = Number(str(p.status));
      if (!path?.startsWith('/') || !Number.isInteger(status) || status < 400 || status > 599) {
        throw invalid('fail_next needs path (starting with /) and status (400..599)', 'path');
      }
      const method = str(p.method)?.toUpperCase();
      failures.push({ method, path, status, times: Number(str(p.times) ?? '1') || 1 });
      return { ok: true };
    }
    if (resource === 'webhooks' && id === 'deliver') {
      return dispatcher.deliver();
    }
    throw notFound('POST', `/_emulator/${seg.join('/')}`);
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';

  const emulator: StripeEmulator = {
    url: `http://${host}:${address.port}`,
    host,
    port: address.port,
    secretKey,
    publishableKey,
    webhookSecret,
    setWebhookUrl: (url) => dispatcher.setUrl(url),
    deliverWebhooks: (opts) => dispatcher.deliver(opts),
    redeliverEvent: (eventId) => {
      const event = state.event(eventId);
      dispatcher.redeliver({ id: event.id, body: eventBody(event) });
    },
    webhookAttempts: () => dispatcher.attempts(),
    pendingWebhooks: () => dispatcher.pendingCount(),
    signPayload: (body, opts = {}) => sign(body, opts.secret, opts.timestamp),
    events: () => structuredClone(state.events),
    paymentIntents: () => structuredClone([...state.paymentIntents.values()]),
    paymentIntent: (id) => structuredClone(state.paymentIntents.get(id)),
    charges: () => structuredClone([...state.charges.values()]),
    refunds: () => structuredClone([...state.refunds.values()]),
    accounts: () => structuredClone([...state.accounts.values()]),
    transfers: () => structuredClone([...state.transfers.values()]),
    payouts: () => structuredClone([...state.payouts.values()]),
    balanceTransactions: (account) => structuredClone(state.balanceTransactions.get(account ?? PLATFORM) ?? []),
    balance: (currency, account) => state.available(account ?? PLATFORM, currency.toLowerCase()),
    requests: () => [...log],
    paymentBooks: (id) => {
      const charges = new Set([...state.charges.values()].filter((c) => c.payment_intent === id).map((c) => c.id));
      const refunds = [...state.refunds.values()].filter((r) => r.payment_intent === id);
      const refundIds = new Set(refunds.map((r) => r.id));
      const txns = state.balanceTransactions.get(PLATFORM) ?? [];
      const captures = txns.filter((t) => t.type === 'charge' && charges.has(t.source));
      const refunded = txns.filter((t) => t.type === 'refund' && refundIds.has(t.source));
      return {
        captures: captures.length,
        capturedMinor: captures.reduce((sum, t) => sum + t.amount, 0),
        refunds: refunded.map((t) => ({ id: t.source, amount: -t.amount })),
        refundedMinor: refunded.reduce((sum, t) => sum - t.amount, 0),
      };
    },
    signedEvents: () =>
      state.events.map((event) => {
        const body = eventBody(event);
        return {
          id: event.id,
          type: event.type,
          body,
          headers: { 'content-type': 'application/json', 'stripe-signature': sign(body) },
        };
      }),
    authenticate: (id, outcome = 'succeed') =>
      structuredClone(state.authenticate(id, outcome, { requestId: '', idempotencyKey: null, account: null })),
    dispute: (id) => {
      const pi = state.paymentIntent(id);
      return state.openDispute(state.charge(String(pi.latest_charge)), {
        requestId: '',
        idempotencyKey: null,
        account: null,
      }).id;
    },
    closeDispute: (id, outcome) => {
      state.closeDispute(id, outcome, { requestId: '', idempotencyKey: null, account: null });
    },
    failNext: (...args: unknown[]) => {
      failures.push(parseFailNextArgs(args));
    },
    advanceClock: (ms) => {
      offsetMs += ms;
      state.sweep();
    },
    now,
    close: async () => {
      dispatcher.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return emulator;

  /** The object a balance transaction comes from, for `expand[]=data.source`. */
  function sourceObject(id: string): object | undefined {
    const found =
      state.charges.get(id) ??
      state.refunds.get(id) ??
      state.transfers.get(id) ??
      state.payouts.get(id) ??
      state.disputes.get(id);
    return found ? structuredClone(found) : undefined;
  }

  function expand(pi: PaymentIntent, p: FormObject): PaymentIntent {
    const wanted = Array.isArray(p.expand) ? p.expand : [];
    const copy = structuredClone(pi);
    if (wanted.includes('latest_charge') && typeof pi.latest_charge === 'string') {
      copy.latest_charge = structuredClone(state.charge(pi.latest_charge));
    }
    return copy;
  }
}

/** Stripe's list object, newest first, paged by `limit` (1..100, default 10), `starting_after`, `ending_before`. */
function list<T extends { id: string }>(
  items: T[],
  p: FormObject,
  url: string,
): { object: 'list'; data: T[]; has_more: boolean; url: string } {
  const limitText = str(p.limit);
  const limit = limitText === undefined ? 10 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw invalid('Invalid limit: must be between 1 and 100', 'limit', 'parameter_invalid_integer');
  }
  const newestFirst = [...items].reverse();
  let start = 0;
  let end = newestFirst.length;
  const after = str(p.starting_after);
  const before = str(p.ending_before);
  if (after !== undefined) {
    const index = newestFirst.findIndex((i) => i.id === after);
    if (index < 0) throw invalid(`No such object: '${after}'`, 'starting_after', 'resource_missing', 404);
    start = index + 1;
  }
  if (before !== undefined) {
    const index = newestFirst.findIndex((i) => i.id === before);
    if (index < 0) throw invalid(`No such object: '${before}'`, 'ending_before', 'resource_missing', 404);
    end = index;
    start = Math.max(start, end - limit);
  }
  const page = newestFirst.slice(start, Math.min(end, start + limit));
  return { object: 'list', data: structuredClone(page), has_more: start + limit < end, url };
}

function inRange(value: number, range: { [key: string]: FormValue }): boolean {
  const bound = (k: string): number | undefined => (typeof range[k] === 'string' ? Number(range[k]) : undefined);
  const gte = bound('gte');
  const gt = bound('gt');
  const lte = bound('lte');
  const lt = bound('lt');
  return (
    (gte === undefined || value >= gte) &&
    (gt === undefined || value > gt) &&
    (lte === undefined || value <= lte) &&
    (lt === undefined || value < lt)
  );
}

/** Stripe posts events pretty-printed; receivers must verify the exact bytes. */
function eventBody(event: StripeEvent): string {
  return JSON.stringify(event, null, 2);
}

function notFound(method: string, path: string): ApiError {
  return invalid(
    `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    undefined,
    undefined,
    404,
  );
}

function headerValue(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}
