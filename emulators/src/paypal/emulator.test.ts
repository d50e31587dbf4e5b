import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32, fromMinor, toMinor } from './amounts.js';
import { startPayPalEmulator, type PayPalEmulator } from './emulator.js';

/** Raw wire-format checks, without the SDK. */
describe('paypal emulator wire format', () => {
  let em: PayPalEmulator;
  let token: string;
  beforeAll(async () => {
    em = await startPayPalEmulator({ webhookMode: 'manual' });
    const res = await fetch(`${em.url}/v1/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${em.clientId}:${em.clientSecret}`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    token = ((await res.json()) as { access_token: string }).access_token;
  });
  afterAll(async () => {
    await em.close();
  });

  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${em.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const order = (value = '10.00') => ({
    intent: 'AUTHORIZE',
    purchase_units: [{ amount: { currency_code: 'USD', value } }],
  });

  it('converts amounts exactly and checksums like zlib', () => {
    expect(toMinor({ currency_code: 'USD', value: '19.99' })).toBe(1999);
    expect(toMinor({ currency_code: 'JPY', value: '500' })).toBe(500);
    expect(fromMinor(5, 'EUR')).toEqual({ currency_code: 'EUR', value: '0.05' });
    expect(fromMinor(123456, 'KWD')).toEqual({ currency_code: 'KWD', value: '123.456' });
    expect(crc32(Buffer.from('hello'))).toBe(907060870);
  });

  it('issues tokens only for the right client credentials and refuses calls without one', async () => {
    const wrong = await fetch(`${em.url}/v1/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${em.clientId}:nope`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_client' });
    expect((await api('POST', '/v2/checkout/orders', order(), { authorization: 'Bearer forged' })).status).toBe(401);
  });

  it('answers a repeated PayPal-Request-Id with the latest state and refuses it for another request', async () => {
    const first = await api('POST', '/v2/checkout/orders', order(), { 'paypal-request-id': 'r-1' });
    expect(first.status).toBe(201);
    const created = (await first.json()) as { id: string; status: string };
    expect(created.status).toBe('CREATED');
    em.approve(created.id);
    const again = await api('POST', '/v2/checkout/orders', order(), { 'paypal-request-id': 'r-1' });
    expect(again.status).toBe(201);
    expect(await again.json()).toMatchObject({ id: created.id, status: 'APPROVED' });
    const other = await api('POST', '/v2/checkout/orders', order('11.00'), { 'paypal-request-id': 'r-1' });
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({
      name: 'UNPROCESSABLE_ENTITY',
      details: [{ issue: 'PAYPAL_REQUEST_ID_PREVIOUSLY_USED' }],
    });
    expect(em.orders()).toHaveLength(1);
  });

  it('a buyer can approve on the checkout page', async () => {
    const created = (await (await api('POST', '/v2/checkout/orders', order())).json()) as {
      id: string;
      links: { rel: string; href: string }[];
    };
    const approve = created.links.find((l) => l.rel === 'approve')?.href as string;
    const page = await fetch(approve);
    expect(await page.text()).toContain(`/_emulator/orders/${created.id}/approve`);
    expect((await fetch(`${em.url}/_emulator/orders/${created.id}/approve`, { method: 'POST' })).status).toBe(200);
    const authorized = await api('POST', `/v2/checkout/orders/${created.id}/authorize`, {});
    expect(authorized.status).toBe(201);
    expect(await authorized.json()).toMatchObject({
      status: 'COMPLETED',
      purchase_units: [{ payments: { authorizations: [{ status: 'CREATED', amount: { value: '10.00' } }] } }],
    });
  });

  it('verifies webhook signatures through verify-webhook-signature', async () => {
    const event = em.events()[0];
    const body = JSON.stringify(event);
    const headers = em.signWebhook(body);
    const verify = async (webhookEvent: unknown, webhookId = em.webhookId, h = headers) =>
      (
        (await (
          await api('POST', '/v1/notifications/verify-webhook-signature', {
            auth_algo: h['paypal-auth-algo'],
            cert_url: h['paypal-cert-url'],
            transmission_id: h['paypal-transmission-id'],
            transmission_sig: h['paypal-transmission-sig'],
            transmission_time: h['paypal-transmission-time'],
            webhook_id: webhookId,
            webhook_event: webhookEvent,
          })
        ).json()) as { verification_status: string }
      ).verification_status;
    expect(await verify(event)).toBe('SUCCESS');
    expect(await verify({ ...event, summary: 'changed' })).toBe('FAILURE');
    expect(await verify(event, 'ANOTHER-WEBHOOK')).toBe('FAILURE');
    expect(await verify(event, em.webhookId, em.signWebhook(body, { webhookId: 'ANOTHER-WEBHOOK' }))).toBe('FAILURE');
    const cert = await fetch(headers['paypal-cert-url'] as string);
    expect(await cert.text()).toContain('BEGIN PUBLIC KEY');
  });
});
