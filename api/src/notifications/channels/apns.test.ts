import { sign } from 'node:crypto';
import { connect } from 'node:http2';
import { startApnsEmulator, type ApnsEmulator } from '@clutch/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apnsSender } from './apns.js';
import { describeChannelContract, message } from './channel.contract.js';
import { ChannelUnavailableError } from './payload.js';

function senderFor(em: ApnsEmulator, overrides: Partial<Parameters<typeof apnsSender>[0]> = {}) {
  return apnsSender({
    token: em.token,
    bundleId: em.bundleId,
    address: em.address,
    port: em.port,
    ca: em.ca,
    ...overrides,
  });
}

describeChannelContract('APNs (@parse/node-apn, HTTP/2 token auth) against the local APNs server', async () => {
  const em = await startApnsEmulator();
  const sender = senderFor(em);
  return {
    sender,
    target: () => ({ kind: 'apns', token: em.registerDevice() }),
    deadTarget: () => {
      const token = em.registerDevice();
      em.unregisterDevice(token);
      return { kind: 'apns', token };
    },
    failNextTransiently: () => em.failNext('TooManyRequests'),
    failNextPermanently: () => em.failNext('PayloadTooLarge'),
    delivered: () =>
      em.received.map((n) => {
        const alert = n.payload.aps.alert as { title: string; body: string };
        return { text: `${alert.title}\n${alert.body}` };
      }),
    close: async () => {
      await sender.close();
      await em.close();
    },
  };
});

describe('APNs adapter', () => {
  let em: ApnsEmulator;
  let sender: ReturnType<typeof apnsSender>;
  beforeAll(async () => {
    em = await startApnsEmulator({ bundleId: 'com.clutch.owner' });
    sender = senderFor(em);
  });
  afterAll(async () => {
    await sender?.close();
    await em?.close();
  });

  it('sends an alert for the bundle with the notification id as apns-id and collapse id', async () => {
    const token = em.registerDevice();
    const result = await sender.send({ kind: 'apns', token }, message({ category: 'health_alert', badge: 4 }));
    expect(result).toEqual({ ok: true, providerMessageId: '0b4c3f0e-8d7a-4f5e-9c1b-2a3d4e5f6a7b' });
    const got = await em.waitFor((n) => n.token === token);
    expect(got).toMatchObject({
      topic: 'com.clutch.owner',
      pushType: 'alert',
      priority: 10,
      collapseId: '0b4c3f0e-8d7a-4f5e-9c1b-2a3d4e5f6a7b',
      payload: {
        aps: {
          alert: {
            title: 'New message from Ace Garage',
            body: 'Your car is ready <b>& waiting</b> — pick it up after 5 pm',
          },
          badge: 4,
          'thread-id': 'health_alert',
          'interruption-level': 'time-sensitive',
        },
        notificationId: '0b4c3f0e-8d7a-4f5e-9c1b-2a3d4e5f6a7b',
        url: '/repair-order.html?id=42',
      },
    });
  });

  it('answers BadDeviceToken (a token of another environment) as an invalid target', async () => {
    const stranger = 'ab'.repeat(32);
    expect(await sender.send({ kind: 'apns', token: stranger }, message())).toMatchObject({
      ok: false,
      invalidTarget: true,
      reason: expect.stringContaining('BadDeviceToken'),
    });
    expect(await sender.send({ kind: 'apns', token: 'not hex' }, message())).toMatchObject({ invalidTarget: true });
  });

  it('shortens a body too long for the 4 KB payload limit', async () => {
    const token = em.registerDevice();
    expect(await sender.send({ kind: 'apns', token }, message({ body: 'Reifendruck '.repeat(600) }))).toMatchObject({
      ok: true,
    });
    const got = await em.waitFor((n) => n.token === token);
    expect((got.payload.aps.alert as { body: string }).body.endsWith('…')).toBe(true);
  });

  it('throws when Apple refuses the provider token (wrong key) so the send is retried once fixed', async () => {
    const other = await startApnsEmulator();
    const wrongKey = senderFor(em, { token: { ...em.token, key: other.token.key } });
    await expect(wrongKey.send({ kind: 'apns', token: em.registerDevice() }, message())).rejects.toBeInstanceOf(
      ChannelUnavailableError,
    );
    expect(em.requests.at(-1)).toMatchObject({ status: 403, reason: 'InvalidProviderToken' });
    await wrongKey.close();
    await other.close();
  });

  it('reports BadTopic (a bundle id the key may not push to) as failed for good, keeping the token', async () => {
    const wrongTopic = senderFor(em, { bundleId: 'com.someone.else' });
    expect(await wrongTopic.send({ kind: 'apns', token: em.registerDevice() }, message())).toMatchObject({
      ok: false,
      permanent: true,
      invalidTarget: false,
    });
    await wrongTopic.close();
  });

  it('throws when APNs is unreachable', async () => {
    const down = apnsSender({ token: em.token, bundleId: em.bundleId, address: '127.0.0.1', port: 9, ca: em.ca });
    await expect(down.send({ kind: 'apns', token: em.registerDevice() }, message())).rejects.toBeInstanceOf(
      ChannelUnavailableError,
    );
    await down.close();
  });
});

/** Raw HTTP/2 requests to the APNs server, for what node-apn never sends wrong. */
describe('local APNs server wire checks', () => {
  let em: ApnsEmulator;
  beforeAll(async () => {
    em = await startApnsEmulator();
  });
  afterAll(async () => {
    await em?.close();
  });

  function providerToken(overrides: { kid?: string; iss?: string; iat?: number } = {}): string {
    const head = Buffer.from(JSON.stringify({ alg: 'ES256', kid: overrides.kid ?? em.token.keyId })).toString(
      'base64url',
    );
    const claims = Buffer.from(
      JSON.stringify({ iss: overrides.iss ?? em.token.teamId, iat: overrides.iat ?? Math.floor(Date.now() / 1000) }),
    ).toString('base64url');
    const sig = sign('sha256', Buffer.from(`${head}.${claims}`), { key: em.token.key, dsaEncoding: 'ieee-p1363' });
    return `${head}.${claims}.${sig.toString('base64url')}`;
  }

  async function push(token: string, headers: Record<string, string>, body = '{"aps":{"alert":"hi"}}') {
    const session = connect(em.url, { ca: em.ca });
    try {
      return await new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': `/3/device/${token}`, ...headers });
        let status = 0;
        let text = '';
        req.on('response', (h) => (status = Number(h[':status'])));
        req.on('data', (c: Buffer) => (text += c.toString()));
        req.on('end', () => resolve({ status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
        req.on('error', reject);
        req.end(body);
      });
    } finally {
      session.close();
    }
  }

  const good = () => ({
    authorization: `bearer ${providerToken()}`,
    'apns-topic': em.bundleId,
    'apns-push-type': 'alert',
  });

  it('accepts a well-formed push and answers with its apns-id', async () => {
    const token = em.registerDevice();
    expect(await push(token, good())).toEqual({ status: 200, body: {} });
    expect(em.received.at(-1)).toMatchObject({ token, payload: { aps: { alert: 'hi' } } });
  });

  it('checks the provider token', async () => {
    const token = em.registerDevice();
    const { authorization: _a, ...noAuth } = good();
    expect((await push(token, noAuth)).body).toEqual({ reason: 'MissingProviderToken' });
    expect(
      (await push(token, { ...good(), authorization: `bearer ${providerToken({ kid: 'OTHERKEY' })}` })).body,
    ).toEqual({
      reason: 'InvalidProviderToken',
    });
    expect(
      (await push(token, { ...good(), authorization: `bearer ${providerToken({ iss: 'OTHERTEAM' })}` })).status,
    ).toBe(403);
    const old = Math.floor(Date.now() / 1000) - 2 * 3600;
    expect((await push(token, { ...good(), authorization: `bearer ${providerToken({ iat: old })}` })).body).toEqual({
      reason: 'ExpiredProviderToken',
    });
  });

  it('checks topic, push type, priority, payload and the device', async () => {
    const token = em.registerDevice();
    const { 'apns-topic': _t, ...noTopic } = good();
    expect((await push(token, noTopic)).body).toEqual({ reason: 'MissingTopic' });
    expect((await push(token, { ...good(), 'apns-push-type': 'shout' })).body).toEqual({ reason: 'InvalidPushType' });
    expect((await push(token, { ...good(), 'apns-priority': '7' })).body).toEqual({ reason: 'BadPriority' });
    expect(await push(token, good(), JSON.stringify({ aps: { alert: 'x'.repeat(5000) } }))).toEqual({
      status: 413,
      body: { reason: 'PayloadTooLarge' },
    });
    expect((await push(token, good(), '')).body).toEqual({ reason: 'PayloadEmpty' });
    expect((await push('ab'.repeat(32), good())).body).toEqual({ reason: 'BadDeviceToken' });
    em.unregisterDevice(token, new Date(1_700_000_000_000));
    expect(await push(token, good())).toEqual({
      status: 410,
      body: { reason: 'Unregistered', timestamp: 1_700_000_000_000 },
    });
  });
});
