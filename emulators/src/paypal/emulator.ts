import { createSign, createVerify, generateKeyPairSync, type KeyObject } from 'node:crypto';
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

import { crc32, fromMinor, toMinor } from './amounts.js';
import { invalidRequest, notFound, PayPalApiError, unprocessable } from './errors.js';
import type {
  PayPalAmount,
  PayPalAuthorization,
  PayPalCapture,
  PayPalOrder,
  PayPalRefund,
  PayPalWebhookEvent,
} from './objects.js';

export interface PayPalEmulatorOptions {
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  /** The id PayPal gives a webhook subscription; signatures are bound to it. */
  webhookId?: string | undefined;
  webhookUrl?: string | undefined;
  webhookMode?: 'auto' | 'manual' | undefined;
  /** Days an authorisation stays capturable (PayPal: 29, with a 3-day honor period). */
  authorizationDays?: number | undefined;
  now?: (() => Date) | undefined;
  port?: number | undefined;
  host?: string | undefined;
}

export interface PayPalEmulator {
  url: string;
  clientId: string;
  clientSecret: string;
  webhookId: string;
  /** The buyer approves an order (PayPal's checkout page); `decline`: the buyer's funding is refused at authorize/capture. */
  approve(orderId: string, outcome?: 'approve' | 'decline'): void;
  orders(): PayPalOrder[];
  /** Captures and refunds that moved money for one order. */
  orderBooks(orderId: string): { captures: PayPalCapture[]; refunds: PayPalRefund[] };
  events(): PayPalWebhookEvent[];
  setWebhookUrl(url: string | undefined): void;
  deliverWebhooks(options?: DeliverOptions): Promise<DeliveryReport>;
  webhookAttempts(): DeliveryAttempt[];
  /** Webhook headers for `body`, as PayPal signs them (other webhook id or time for negative tests). */
  signWebhook(body: string, options?: { webhookId?: string; time?: Date }): Record<string, string>;
  requests(): { method: string; path: string; requestId: string | null; replayed: boolean; status: number }[];
  failNext(...args: [string, number, unknown?, number?] | [string, string, number, unknown?, number?]): void;
  advanceClock(ms: number): void;
  close(): Promise<void>;
}

interface Stored {
  method: string;
  path: string;
  body: string;
  status: number;
  /** What to answer again: the resource's latest representation, or the same error. */
  render: () => unknown;
}

/**
 * A local server speaking PayPal's documented REST wire format for Orders v2 (create, approve by a
 * test buyer, authorize, capture), Payments v2 (capture authorisation, void, refund), OAuth 2 client
 * credentials, `PayPal-Request-Id` idempotency, and signed webhooks verified through
 * `/v1/notifications/verify-webhook-signature`.
 */
export async function startPayPalEmulator(options: PayPalEmulatorOptions = {}): Promise<PayPalEmulator> {
  const clientId = options.clientId ?? `client-${randomId('', 20)}`;
  const clientSecret = options.clientSecret ?? `secret-${randomId('', 30)}`;
  const webhookId = options.webhookId ?? randomId('', 17).toUpperCase();
  let offsetMs = 0;
  const now = (): Date => new Date((options.now ? options.now().getTime() : Date.now()) + offsetMs);
  const iso = (): string =>
    now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
  const authorizationDays = options.authorizationDays ?? 29;

  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const certId = `CERT-${randomId('', 8)}`;
  const tokens = new Set<string>();
  const orders = new Map<string, PayPalOrder>();
  const approvals = new Map<string, 'approve' | 'decline'>();
  const authorizations = new Map<string, PayPalAuthorization>();
  const captures = new Map<string, PayPalCapture>();
  const refunds = new Map<string, PayPalRefund>();
  const events: PayPalWebhookEvent[] = [];
  const idempotency = new Map<string, Stored>();
  const failures: InjectedFailure[] = [];
  const log: { method: string; path: string; requestId: string | null; replayed: boolean; status: number }[] = [];
  let baseUrl = '';

  const signWebhook = (body: string, opts: { webhookId?: string; time?: Date } = {}): Record<string, string> => {
    const transmissionId = randomId('', 32);
    const time = (opts.time ?? now()).toISOString();
    const signed = `${transmissionId}|${time}|${opts.webhookId ?? webhookId}|${crc32(Buffer.from(body, 'utf8'))}`;
    const signature = createSign('RSA-SHA256')
      .update(signed)
      .sign(privateKey as KeyObject, 'base64');
    return {
      'paypal-transmission-id': transmissionId,
      'paypal-transmission-time': time,
      'paypal-transmission-sig': signature,
      'paypal-cert-url': `${baseUrl}/v1/notifications/certs/${certId}`,
      'paypal-auth-algo': 'SHA256withRSA',
    };
  };

  const dispatcher = new WebhookDispatcher(
    {
      headersFor: (event) => signWebhook(event.body),
      mode: options.webhookMode ?? 'auto',
      maxAttempts: 5,
      retryDelayMs: 200,
    },
    options.webhookUrl,
  );

  const emit = (eventType: string, resourceType: string, resource: unknown, summary: string): void => {
    const event: PayPalWebhookEvent = {
      id: `WH-${randomId('', 17).toUpperCase()}-${randomId('', 17).toUpperCase()}`,
      event_version: '1.0',
      create_time: iso(),
      resource_type: resourceType,
      resource_version: '2.0',
      event_type: eventType,
      summary,
      resource: structuredClone(resource),
    };
    events.push(event);
    dispatcher.enqueue({ id: event.id, body: JSON.stringify(event) });
  };

  const sweep = (): void => {
    for (const auth of authorizations.values()) {
      if (
        (auth.status === 'CREATED' || auth.status === 'PARTIALLY_CAPTURED') &&
        new Date(auth.expiration_time) <= now()
      ) {
        auth.status = 'EXPIRED';
        auth.update_time = iso();
      }
    }
  };

  const order = (id: string): PayPalOrder => {
    const found = orders.get(id);
    if (!found) throw notFound(id);
    return found;
  };

  /** Orders carry their payments, as GET /v2/checkout/orders/:id shows them. */
  const renderOrder = (o: PayPalOrder): PayPalOrder => {
    const copy = structuredClone(o);
    for (const unit of copy.purchase_units) {
      const auths = [...authorizations.values()].filter((a) => a.supplementary_data.related_ids.order_id === o.id);
      const caps = [...captures.values()].filter((c) => c.supplementary_data.related_ids.order_id === o.id);
      const refs = [...refunds.values()].filter((r) => r.supplementary_data.related_ids.order_id === o.id);
      if (auths.length + caps.length + refs.length > 0) {
        unit.payments = {
          ...(auths.length ? { authorizations: structuredClone(auths) } : {}),
          ...(caps.length ? { captures: structuredClone(caps) } : {}),
          ...(refs.length ? { refunds: structuredClone(refs) } : {}),
        };
      }
    }
    return copy;
  };

  const unitAmount = (o: PayPalOrder): PayPalAmount =>
    (o.purchase_units[0] as PayPalOrder['purchase_units'][number]).amount;

  const capturedMinor = (auth: PayPalAuthorization): number =>
    [...captures.values()]
      .filter((c) => c.supplementary_data.related_ids.authorization_id === auth.id)
      .reduce((sum, c) => sum + toMinor(c.amount), 0);

  const refundedMinor = (capture: PayPalCapture): number =>
    [...refunds.values()]
      .filter((r) => r.supplementary_data.related_ids.capture_id === capture.id)
      .reduce((sum, r) => sum + toMinor(r.amount), 0);

  const newCapture = (
    orderId: string,
    amount: PayPalAmount,
    finalCapture: boolean,
    authorizationId?: string,
  ): PayPalCapture => {
    const id = randomId('', 17).toUpperCase();
    const capture: PayPalCapture = {
      id,
      status: 'COMPLETED',
      amount,
      final_capture: finalCapture,
      create_time: iso(),
      update_time: iso(),
      supplementary_data: {
        related_ids: { order_id: orderId, ...(authorizationId ? { authorization_id: authorizationId } : {}) },
      },
      links: [
        { href: `${baseUrl}/v2/payments/captures/${id}`, rel: 'self', method: 'GET' },
        { href: `${baseUrl}/v2/payments/captures/${id}/refund`, rel: 'refund', method: 'POST' },
      ],
    };
    captures.set(id, capture);
    emit(
      'PAYMENT.CAPTURE.COMPLETED',
      'capture',
      capture,
      `Payment completed for ${amount.value} ${amount.currency_code}`,
    );
    return capture;
  };

  /** Executes one API call; returns status and a renderer for the (latest) answer. */
  function route(
    method: string,
    path: string,
    body: Record<string, unknown>,
  ): { status: number; render: () => unknown } {
    const seg = path.split('/').filter(Boolean);
    const key = `${method} /${seg.map((s, i) => (i >= 3 && i % 2 === 1 ? ':id' : s)).join('/')}`;
    const id = seg[3] ?? '';
    switch (key) {
      case 'POST /v2/checkout/orders': {
        const intent = body.intent;
        if (intent !== 'CAPTURE' && intent !== 'AUTHORIZE')
          throw invalidRequest('INVALID_PARAMETER_VALUE', 'intent must be CAPTURE or AUTHORIZE');
        const units = body.purchase_units;
        if (!Array.isArray(units) || units.length !== 1) {
          throw invalidRequest(
            'MISSING_REQUIRED_PARAMETER',
            'purchase_units must hold exactly one unit (the emulator supports one)',
          );
        }
        const unit = units[0] as Record<string, unknown>;
        const amount = unit.amount as PayPalAmount | undefined;
        if (!amount || typeof amount.currency_code !== 'string' || typeof amount.value !== 'string') {
          throw invalidRequest('MISSING_REQUIRED_PARAMETER', 'purchase_units[0].amount is required');
        }
        if (toMinor(amount) <= 0)
          throw unprocessable('AMOUNT_MUST_BE_POSITIVE', 'The amount must be greater than zero.');
        const orderId = randomId('', 17).toUpperCase();
        const created: PayPalOrder = {
          id: orderId,
          intent,
          status: 'CREATED',
          purchase_units: [
            {
              reference_id: typeof unit.reference_id === 'string' ? unit.reference_id : 'default',
              amount: { currency_code: amount.currency_code, value: amount.value },
              ...(typeof unit.custom_id === 'string' ? { custom_id: unit.custom_id } : {}),
              ...(typeof unit.invoice_id === 'string' ? { invoice_id: unit.invoice_id } : {}),
              ...(typeof unit.description === 'string' ? { description: unit.description } : {}),
            },
          ],
          create_time: iso(),
          update_time: iso(),
          links: [
            { href: `${baseUrl}/v2/checkout/orders/${orderId}`, rel: 'self', method: 'GET' },
            { href: `${baseUrl}/checkoutnow?token=${orderId}`, rel: 'approve', method: 'GET' },
            { href: `${baseUrl}/v2/checkout/orders/${orderId}`, rel: 'update', method: 'PATCH' },
            {
              href: `${baseUrl}/v2/checkout/orders/${orderId}/${intent === 'AUTHORIZE' ? 'authorize' : 'capture'}`,
              rel: intent === 'AUTHORIZE' ? 'authorize' : 'capture',
              method: 'POST',
            },
          ],
        };
        orders.set(orderId, created);
        return { status: 201, render: () => renderOrder(order(orderId)) };
      }
      case 'GET /v2/checkout/orders/:id': {
        const o = order(id);
        return { status: 200, render: () => renderOrder(o) };
      }
      case 'POST /v2/checkout/orders/:id/authorize':
      case 'POST /v2/checkout/orders/:id/capture': {
        const o = order(id);
        const action = seg[4] as 'authorize' | 'capture';
        if ((action === 'authorize') !== (o.intent === 'AUTHORIZE')) {
          throw unprocessable('ACTION_DOES_NOT_MATCH_INTENT', `Order was created with an intent of '${o.intent}'.`);
        }
        if (o.status === 'COMPLETED') {
          throw unprocessable(
            action === 'authorize' ? 'ORDER_ALREADY_AUTHORIZED' : 'ORDER_ALREADY_CAPTURED',
            'The order has already been processed.',
          );
        }
        if (o.status !== 'APPROVED')
          throw unprocessable('ORDER_NOT_APPROVED', 'Payer has not yet approved the Order for payment.');
        if (approvals.get(o.id) === 'decline') {
          throw unprocessable(
            'INSTRUMENT_DECLINED',
            "The instrument presented was either declined by the processor or bank, or it can't be used for this payment.",
          );
        }
        o.status = 'COMPLETED';
        o.update_time = iso();
        const amount = unitAmount(o);
        if (action === 'capture') {
          newCapture(o.id, { ...amount }, true);
        } else {
          const authId = randomId('', 17).toUpperCase();
          const auth: PayPalAuthorization = {
            id: authId,
            status: 'CREATED',
            amount: { ...amount },
            expiration_time: new Date(now().getTime() + authorizationDays * 86_400_000)
              .toISOString()
              .replace(/\.\d{3}Z$/, 'Z'),
            create_time: iso(),
            update_time: iso(),
            supplementary_data: { related_ids: { order_id: o.id } },
            links: [
              { href: `${baseUrl}/v2/payments/authorizations/${authId}`, rel: 'self', method: 'GET' },
              { href: `${baseUrl}/v2/payments/authorizations/${authId}/capture`, rel: 'capture', method: 'POST' },
              { href: `${baseUrl}/v2/payments/authorizations/${authId}/void`, rel: 'void', method: 'POST' },
            ],
          };
          authorizations.set(authId, auth);
          emit(
            'PAYMENT.AUTHORIZATION.CREATED',
            'authorization',
            auth,
            `A payment authorization was created for ${amount.value} ${amount.currency_code}`,
          );
        }
        return { status: 201, render: () => renderOrder(o) };
      }
      case 'GET /v2/payments/authorizations/:id': {
        const auth = authorizations.get(id);
        if (!auth) throw notFound(id);
        return { status: 200, render: () => structuredClone(auth) };
      }
      case 'POST /v2/payments/authorizations/:id/capture': {
        const auth = authorizations.get(id);
        if (!auth) throw notFound(id);
        if (auth.status === 'VOIDED')
          throw unprocessable('AUTHORIZATION_VOIDED', 'A voided authorization cannot be captured or reauthorized.');
        if (auth.status === 'EXPIRED')
          throw unprocessable('AUTHORIZATION_EXPIRED', 'An expired authorization cannot be captured.');
        if (auth.status === 'CAPTURED')
          throw unprocessable(
            'AUTHORIZATION_ALREADY_CAPTURED',
            'Authorization has been previously captured and hence cannot be voided or captured again.',
          );
        const left = toMinor(auth.amount) - capturedMinor(auth);
        const asked = body.amount as PayPalAmount | undefined;
        if (asked && asked.currency_code !== auth.amount.currency_code) {
          throw unprocessable(
            'CURRENCY_MISMATCH',
            'Currency of capture must be the same as currency of authorization.',
          );
        }
        const amount = asked ? toMinor(asked) : left;
        if (amount <= 0) throw unprocessable('AMOUNT_MUST_BE_POSITIVE', 'The amount must be greater than zero.');
        if (amount > left)
          throw unprocessable('MAX_CAPTURE_AMOUNT_EXCEEDED', 'Capture amount exceeds allowable limit.');
        const finalCapture = body.final_capture === true;
        const capture = newCapture(
          auth.supplementary_data.related_ids.order_id,
          fromMinor(amount, auth.amount.currency_code),
          finalCapture,
          auth.id,
        );
        // A final capture releases whatever was not taken.
        auth.status = finalCapture || amount === left ? 'CAPTURED' : 'PARTIALLY_CAPTURED';
        auth.update_time = iso();
        return { status: 201, render: () => structuredClone(captures.get(capture.id)) };
      }
      case 'POST /v2/payments/authorizations/:id/void': {
        const auth = authorizations.get(id);
        if (!auth) throw notFound(id);
        if (auth.status === 'VOIDED')
          throw unprocessable(
            'PREVIOUSLY_VOIDED',
            'Authorization has been previously voided and hence cannot be voided again.',
          );
        if (auth.status === 'CAPTURED' || auth.status === 'PARTIALLY_CAPTURED') {
          throw unprocessable(
            'PREVIOUSLY_CAPTURED',
            'Authorization has been previously captured and hence cannot be voided.',
          );
        }
        if (auth.status === 'EXPIRED')
          throw unprocessable('AUTHORIZATION_EXPIRED', 'An expired authorization cannot be voided.');
        auth.status = 'VOIDED';
        auth.update_time = iso();
        emit('PAYMENT.AUTHORIZATION.VOIDED', 'authorization', auth, `A payment authorization was voided`);
        return { status: 200, render: () => structuredClone(auth) };
      }
      case 'GET /v2/payments/captures/:id': {
        const capture = captures.get(id);
        if (!capture) throw notFound(id);
        return { status: 200, render: () => structuredClone(capture) };
      }
      case 'POST /v2/payments/captures/:id/refund': {
        const capture = captures.get(id);
        if (!capture) throw notFound(id);
        const left = toMinor(capture.amount) - refundedMinor(capture);
        if (left <= 0) throw unprocessable('CAPTURE_FULLY_REFUNDED', 'The capture has already been fully refunded.');
        const asked = body.amount as PayPalAmount | undefined;
        if (asked && asked.currency_code !== capture.amount.currency_code) {
          throw unprocessable('REFUND_CURRENCY_MISMATCH', 'Refund must be in the same currency as the capture.');
        }
        const amount = asked ? toMinor(asked) : left;
        if (amount <= 0) throw unprocessable('AMOUNT_MUST_BE_POSITIVE', 'The amount must be greater than zero.');
        if (amount > left)
          throw unprocessable(
            'REFUND_AMOUNT_EXCEEDED',
            'The refund amount must be less than or equal to the capture amount that has not yet been refunded.',
          );
        const refundId = randomId('', 17).toUpperCase();
        const refund: PayPalRefund = {
          id: refundId,
          status: 'COMPLETED',
          amount: fromMinor(amount, capture.amount.currency_code),
          ...(typeof body.note_to_payer === 'string' ? { note_to_payer: body.note_to_payer } : {}),
          create_time: iso(),
          update_time: iso(),
          supplementary_data: {
            related_ids: { order_id: capture.supplementary_data.related_ids.order_id, capture_id: capture.id },
          },
          links: [
            { href: `${baseUrl}/v2/payments/refunds/${refundId}`, rel: 'self', method: 'GET' },
            { href: `${baseUrl}/v2/payments/captures/${capture.id}`, rel: 'up', method: 'GET' },
          ],
        };
        refunds.set(refundId, refund);
        capture.status = amount === left ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
        capture.update_time = iso();
        emit(
          'PAYMENT.CAPTURE.REFUNDED',
          'refund',
          refund,
          `A ${refund.amount.value} ${refund.amount.currency_code} capture payment was refunded`,
        );
        return { status: 201, render: () => structuredClone(refund) };
      }
      case 'GET /v2/payments/refunds/:id': {
        const refund = refunds.get(id);
        if (!refund) throw notFound(id);
        return { status: 200, render: () => structuredClone(refund) };
      }
      case 'POST /v1/notifications/verify-webhook-signature':
        return { status: 200, render: () => ({ verification_status: verify(body) ? 'SUCCESS' : 'FAILURE' }) };
      default:
        throw new PayPalApiError(404, 'NOT_FOUND', `No route for ${method} ${path}`);
    }
  }

  function verify(body: Record<string, unknown>): boolean {
    const { transmission_id, transmission_time, transmission_sig, webhook_id, webhook_event, auth_algo } = body;
    if (auth_algo !== 'SHA256withRSA' || typeof transmission_sig !== 'string') return false;
    const raw = JSON.stringify(webhook_event);
    const signed = `${String(transmission_id)}|${String(transmission_time)}|${String(webhook_id)}|${crc32(Buffer.from(raw, 'utf8'))}`;
    try {
      return createVerify('RSA-SHA256').update(signed).verify(publicKey, transmission_sig, 'base64');
    } catch {
      return false;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const debugHeaders = { ...CORS_HEADERS, 'paypal-debug-id': randomId('', 13).toLowerCase() };
    if (method === 'OPTIONS') {
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }
    const text = await readBody(req);
    const requestId = typeof req.headers['paypal-request-id'] === 'string' ? req.headers['paypal-request-id'] : null;
    const record = (status: number, replayed = false): void => {
      log.push({ method, path, requestId, replayed, status });
      if (log.length > 10_000) log.splice(0, log.length - 10_000);
    };
    const failure = takeFailure(failures, method, path);
    if (failure) {
      record(failure.status);
      sendJson(
        res,
        failure.status,
        failure.body ?? {
          name: failure.status === 429 ? 'RATE_LIMIT_REACHED' : 'INTERNAL_SERVER_ERROR',
          message: `Injected failure (${failure.status}) by the emulator.`,
          debug_id: 'emulator',
        },
        debugHeaders,
      );
      return;
    }

    // Test-only routes standing in for the buyer and the PayPal site.
    if (path === '/checkoutnow' && method === 'GET') {
      const token = url.searchParams.get('token') ?? '';
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><title>PayPal emulator</title><form method="post" action="/_emulator/orders/${encodeURIComponent(token)}/approve"><button>Approve order ${token.replace(/[^A-Z0-9]/g, '')}</button></form>`,
      );
      return;
    }
    const approveMatch = /^\/_emulator\/orders\/([^/]+)\/approve$/.exec(path);
    if (approveMatch && method === 'POST') {
      try {
        emulator.approve(approveMatch[1] as string, /outcome=decline|"decline"/.test(text) ? 'decline' : 'approve');
        sendJson(res, 200, renderOrder(order(approveMatch[1] as string)), debugHeaders);
      } catch (err) {
        if (err instanceof PayPalApiError) sendJson(res, err.status, err.body(), debugHeaders);
        else throw err;
      }
      return;
    }
    const certMatch = /^\/v1\/notifications\/certs\/([^/]+)$/.exec(path);
    if (certMatch && method === 'GET') {
      // A real PayPal cert URL serves an X.509 certificate; the emulator serves the public key (PEM).
      res.writeHead(200, { 'content-type': 'application/x-pem-file' });
      res.end(publicKey.export({ type: 'spki', format: 'pem' }));
      return;
    }

    if (path === '/v1/oauth2/token' && method === 'POST') {
      const header = req.headers.authorization ?? '';
      const [id, secret] = header.startsWith('Basic ')
        ? Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')
        : [];
      if (id !== clientId || secret !== clientSecret) {
        record(401);
        sendJson(
          res,
          401,
          { error: 'invalid_client', error_description: 'Client Authentication failed' },
          debugHeaders,
        );
        return;
      }
      if (new URLSearchParams(text).get('grant_type') !== 'client_credentials') {
        record(400);
        sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'Grant Type is NULL' }, debugHeaders);
        return;
      }
      const token = `A21AA${randomId('', 60)}`;
      tokens.add(token);
      record(200);
      sendJson(
        res,
        200,
        {
          scope: 'https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund',
          access_token: token,
          token_type: 'Bearer',
          app_id: 'APP-80W284485P519543T',
          expires_in: 32400,
          nonce: `${iso()}${randomId('', 20)}`,
        },
        debugHeaders,
      );
      return;
    }

    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || !tokens.has(auth.slice(7))) {
      record(401);
      sendJson(
        res,
        401,
        { error: 'invalid_token', error_description: 'Token signature verification failed' },
        debugHeaders,
      );
      return;
    }
    let body: Record<string, unknown> = {};
    if (text.trim()) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        body = parsed as Record<string, unknown>;
      } catch {
        record(400);
        sendJson(
          res,
          400,
          invalidRequest('MALFORMED_REQUEST_JSON', 'The request JSON is not well formed.').body(),
          debugHeaders,
        );
        return;
      }
    }

    const storeKey = requestId && method === 'POST' ? requestId : null;
    const canonical = JSON.stringify(body);
    if (storeKey) {
      const stored = idempotency.get(storeKey);
      if (stored) {
        if (stored.method !== method || stored.path !== path || stored.body !== canonical) {
          record(422);
          sendJson(
            res,
            422,
            unprocessable(
              'PAYPAL_REQUEST_ID_PREVIOUSLY_USED',
              'The PayPal-Request-Id has already been used for another request.',
            ).body(),
            debugHeaders,
          );
          return;
        }
        // PayPal answers a repeated PayPal-Request-Id with the latest state of what the first request did.
        record(stored.status, true);
        sendJson(res, stored.status, stored.render(), debugHeaders);
        return;
      }
    }
    let status: number;
    let render: () => unknown;
    try {
      sweep();
      ({ status, render } = route(method, path, body));
    } catch (err) {
      if (!(err instanceof PayPalApiError)) throw err;
      status = err.status;
      const errorBody = err.body();
      render = () => errorBody;
    }
    if (storeKey && status !== 400) idempotency.set(storeKey, { method, path, body: canonical, status, render });
    record(status);
    const prefer = req.headers.prefer;
    const answer = render();
    if (
      prefer === 'return=minimal' &&
      status < 300 &&
      typeof answer === 'object' &&
      answer !== null &&
      'id' in answer
    ) {
      const { id, status: s, links } = answer as { id: string; status?: string; links?: unknown };
      sendJson(res, status, { id, status: s, links }, debugHeaders);
      return;
    }
    sendJson(res, status, answer, debugHeaders);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { name: 'INTERNAL_SERVER_ERROR', message: String(err) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const host = options.host ?? '127.0.0.1';
  baseUrl = `http://${host}:${(server.address() as AddressInfo).port}`;

  const emulator: PayPalEmulator = {
    url: baseUrl,
    clientId,
    clientSecret,
    webhookId,
    approve: (orderId, outcome = 'approve') => {
      const o = order(orderId);
      if (o.status !== 'CREATED' && o.status !== 'APPROVED')
        throw unprocessable('ORDER_ALREADY_COMPLETED', 'The order cannot be approved again.');
      o.status = 'APPROVED';
      o.payer = { email_address: 'buyer@example.test', payer_id: randomId('', 13).toUpperCase() };
      o.update_time = iso();
      approvals.set(orderId, outcome);
      emit('CHECKOUT.ORDER.APPROVED', 'checkout-order', renderOrder(o), 'An order has been approved by buyer');
    },
    orders: () => [...orders.values()].map(renderOrder),
    orderBooks: (orderId) => ({
      captures: structuredClone(
        [...captures.values()].filter((c) => c.supplementary_data.related_ids.order_id === orderId),
      ),
      refunds: structuredClone(
        [...refunds.values()].filter((r) => r.supplementary_data.related_ids.order_id === orderId),
      ),
    }),
    events: () => structuredClone(events),
    setWebhookUrl: (url) => dispatcher.setUrl(url),
    deliverWebhooks: (opts) => dispatcher.deliver(opts),
    webhookAttempts: () => dispatcher.attempts(),
    signWebhook,
    requests: () => [...log],
    failNext: (...args: unknown[]) => {
      failures.push(parseFailNextArgs(args));
    },
    advanceClock: (ms) => {
      offsetMs += ms;
      sweep();
    },
    close: async () => {
      dispatcher.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return emulator;
}
