import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeEmulator, type StripeEmulator } from './emulator.js';
import { decodeForm } from './form.js';

/** Raw wire-format checks, without the SDK: what a Stripe client library relies on. */
describe('stripe emulator wire format', () => {
  let em: StripeEmulator;
  beforeAll(async () => {
    em = await startStripeEmulator({ webhookMode: 'manual' });
  });
  afterAll(async () => {
    await em.close();
  });

  const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${em.url}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${em.secretKey}`,
        'content-type': 'application/x-www-form-urlencoded',
        ...headers,
      },
      body: new URLSearchParams(form).toString(),
    });

  it('decodes nested form keys and arrays as Stripe encodes them', () => {
    expect(
      decodeForm(
        'amount=100&metadata[a]=1&metadata[b]=x%20y&expand[0]=latest_charge&expand[1]=customer&transfer_data[destination]=acct_1&list[]=p&list[]=q',
      ),
    ).toEqual({
      amount: '100',
      metadata: { a: '1', b: 'x y' },
      expand: ['latest_charge', 'customer'],
      transfer_data: { destination: 'acct_1' },
      list: ['p', 'q'],
    });
  });

  it("refuses requests without the secret key, in Stripe's error shape", async () => {
    const none = await fetch(`${em.url}/v1/payment_intents`, { method: 'POST', body: 'amount=100&currency=usd' });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    const wrong = await post(
      '/v1/payment_intents',
      { amount: '100', currency: 'usd' },
      { authorization: 'Bearer sk_test_wrong' },
    );
    expect(wrong.status).toBe(401);
    expect(em.paymentIntents()).toHaveLength(0);
  });

  it('validates parameters with param and code', async () => {
    const res = await post('/v1/payment_intents', { amount: '-3', currency: 'usd' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'amount' } });
    const missing = await fetch(`${em.url}/v1/payment_intents/pi_nope`, {
      headers: { authorization: `Bearer ${em.secretKey}` },
    });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'resource_missing' } });
  });

  it('replays an idempotent request and refuses the key with other parameters', async () => {
    const first = await post(
      '/v1/payment_intents',
      { amount: '1000', currency: 'usd', 'metadata[x]': '1' },
      { 'idempotency-key': 'k-1' },
    );
    const firstBody = (await first.json()) as { id: string };
    // Same parameters in another order: the same request.
    const again = await fetch(`${em.url}/v1/payment_intents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${em.secretKey}`, 'idempotency-key': 'k-1' },
      body: 'metadata%5Bx%5D=1&currency=usd&amount=1000',
    });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { id: string }).id).toBe(firstBody.id);
    const other = await post('/v1/payment_intents', { amount: '2000', currency: 'usd' }, { 'idempotency-key': 'k-1' });
    expect(other.status).toBe(400);
    expect(await other.json()).toMatchObject({ error: { type: 'idempotency_error' } });
    expect(em.paymentIntents().filter((p) => p.amount === 1000 || p.amount === 2000)).toHaveLength(1);
  });

  it('lets the browser confirm with the publishable key and the client secret, CORS open', async () => {
    const created = (await (
      await post('/v1/payment_intents', { amount: '5000', currency: 'eur', capture_method: 'manual' })
    ).json()) as {
      id: string;
      client_secret: string;
      status: string;
    };
    expect(created.status).toBe('requires_payment_method');
    const preflight = await fetch(`${em.url}/v1/payment_intents/${created.id}/confirm`, { method: 'OPTIONS' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    const confirm = (form: Record<string, string>) =>
      fetch(`${em.url}/v1/payment_intents/${created.id}/confirm`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ key: em.publishableKey, ...form }).toString(),
      });
    const wrongSecret = await confirm({ client_secret: `${created.id}_secret_wrong`, payment_method: 'pm_card_visa' });
    expect(wrongSecret.status).toBe(404);
    const declined = await confirm({ client_secret: created.client_secret, payment_method: 'pm_card_chargeDeclined' });
    expect(declined.status).toBe(402);
    expect(await declined.json()).toMatchObject({
      error: {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'generic_decline',
        payment_intent: { id: created.id, status: 'requires_payment_method' },
      },
    });
    const ok = await confirm({ client_secret: created.client_secret, payment_method: 'pm_card_visa' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('*');
    expect(await ok.json()).toMatchObject({ id: created.id, status: 'requires_capture', amount_capturable: 5000 });
    // The publishable key cannot do what needs the secret key.
    const capture = await fetch(`${em.url}/v1/payment_intents/${created.id}/capture`, {
      method: 'POST',
      body: new URLSearchParams({ key: em.publishableKey, client_secret: created.client_secret }).toString(),
    });
    expect(capture.status).toBe(401);
  });

  it('declines an off-session charge on a card that needs authentication', async () => {
    const res = await post('/v1/payment_intents', {
      amount: '700',
      currency: 'usd',
      payment_method: 'pm_card_authenticationRequired',
      confirm: 'true',
      off_session: 'true',
    });
    expect(res.status).toBe(402);
    expect(await res.json()).toMatchObject({ error: { type: 'card_error', code: 'authentication_required' } });
  });

  it('answers injected failures without executing the request', async () => {
    em.failNext('POST', '/v1/refunds', 429);
    const res = await post('/v1/refunds', { payment_intent: 'pi_whatever' });
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ error: { type: 'rate_limit_error' } });
    expect((await post('/v1/refunds', { payment_intent: 'pi_whatever' })).status).toBe(404);
    // The same over HTTP, for browser tests.
    expect((await post('/_emulator/fail_next', { method: 'POST', path: '/v1/refunds', status: '502' })).status).toBe(
      200,
    );
    expect((await post('/v1/refunds', { payment_intent: 'pi_whatever' })).status).toBe(502);
    expect((await post('/_emulator/fail_next', { path: 'v1', status: '200' })).status).toBe(400);
  });

  it('signs webhooks as Stripe documents (HMAC-SHA256 over "t.body") and delivers duplicated, shuffled, retried', async () => {
    const received: { body: string; headers: IncomingHttpHeaders }[] = [];
    let refuseNext = 1;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        if (refuseNext > 0) {
          refuseNext -= 1;
          res.writeHead(500).end();
          return;
        }
        received.push({ body, headers: req.headers });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      em.setWebhookUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
      const pending = em.pendingWebhooks();
      expect(pending).toBeGreaterThan(0);
      const first = await em.deliverWebhooks({ duplicate: true, shuffle: true, seed: 7 });
      // Each event twice; the very first send was refused (its event is delivered by its twin or the next flush).
      expect(first.attempted).toBe(pending * 2);
      const second = await em.deliverWebhooks();
      expect(first.delivered + second.delivered).toBe(pending);
      expect(em.pendingWebhooks()).toBe(0);
      for (const r of received) {
        const header = String(r.headers['stripe-signature']);
        const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header) ?? [];
        expect(v1).toBe(createHmac('sha256', em.webhookSecret).update(`${t}.${r.body}`).digest('hex'));
      }
      const ids = received.map((r) => (JSON.parse(r.body) as { id: string }).id);
      expect(new Set(ids).size).toBe(pending);
      expect(ids.length).toBeGreaterThan(pending);
      const order = em.events().map((e) => e.id);
      expect(ids).not.toEqual(order);
    } finally {
      em.setWebhookUrl(undefined);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('flushes only the events a filter accepts, leaving the others pending', async () => {
    const received: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push(body);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const create = async () =>
        (
          (await (
            await post('/v1/payment_intents', {
              amount: '1500',
              currency: 'eur',
              capture_method: 'manual',
              confirm: 'true',
              payment_method: 'pm_card_visa',
            })
          ).json()) as { id: string }
        ).id;
      const a = await create();
      const b = await create();
      em.setWebhookUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
      const before = em.pendingWebhooks();
      // Side by side, as the property test's sequences flush their own payments' events.
      const [ofA, ofB] = await Promise.all([
        em.deliverWebhooks({ only: (e) => e.body.includes(`"${a}"`), concurrency: 2 }),
        em.deliverWebhooks({ only: (e) => e.body.includes(`"${b}"`) }),
      ]);
      expect(ofA.delivered).toBeGreaterThan(0);
      expect(ofB.delivered).toBeGreaterThan(0);
      expect(received).toHaveLength(ofA.delivered + ofB.delivered);
      expect(received.every((body) => body.includes(`"${a}"`) || body.includes(`"${b}"`))).toBe(true);
      // Whatever else was pending (earlier tests' events) is still there, for an unfiltered flush.
      expect(em.pendingWebhooks()).toBe(before - ofA.delivered - ofB.delivered);
    } finally {
      em.setWebhookUrl(undefined);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('delivers on its own in auto mode, retrying a receiver that failed', async () => {
    const bodies: string[] = [];
    let failures = 2;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        if (failures-- > 0) return void res.writeHead(503).end();
        bodies.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const auto = await startStripeEmulator({
      webhookUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    });
    try {
      const res = await fetch(`${auto.url}/v1/accounts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${auto.secretKey}` },
        body: 'country=DE&type=express',
      });
      expect(res.status).toBe(200);
      await expect
        .poll(() => auto.webhookAttempts().map((a) => a.status), { timeout: 10_000, interval: 50 })
        .toEqual([503, 503, 204]);
      expect(bodies).toHaveLength(1);
    } finally {
      await auto.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
