import { generateKeyPairSync, sign } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { startFcmEmulator, type FcmEmulator } from '@clutch/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeChannelContract, message } from './channel.contract.js';
import { fcmSender } from './fcm.js';
import { ChannelUnavailableError } from './payload.js';

describeChannelContract('FCM HTTP v1 (firebase-admin) against the local FCM + OAuth2 server', async () => {
  const em = await startFcmEmulator();
  const sender = fcmSender({ serviceAccount: em.serviceAccount, httpAgent: em.httpAgent });
  return {
    sender,
    target: () => ({ kind: 'fcm', token: em.registerToken() }),
    deadTarget: () => {
      const token = em.registerToken();
      em.unregisterToken(token);
      return { kind: 'fcm', token };
    },
    failNextTransiently: () => em.failNext('QUOTA_EXCEEDED'),
    // SENDER_ID_MISMATCH: fails for good, but firebase-admin maps a project-wide PERMISSION_DENIED to the
    // same code, so the token is kept.
    failNextPermanently: () => em.failNext('SENDER_ID_MISMATCH'),
    delivered: () => em.received.map((m) => ({ text: `${m.notification?.title}\n${m.notification?.body}` })),
    close: async () => {
      await sender.close();
      await em.close();
    },
  };
});

describe('FCM adapter', () => {
  let em: FcmEmulator;
  let sender: ReturnType<typeof fcmSender>;
  beforeAll(async () => {
    em = await startFcmEmulator({ projectId: 'clutch-test' });
    sender = fcmSender({ serviceAccount: em.serviceAccount, httpAgent: em.httpAgent });
  });
  afterAll(async () => {
    await sender?.close();
    await em?.close();
  });

  it('authenticates with the service account and sends notification + data to the token', async () => {
    const token = em.registerToken();
    const result = await sender.send({ kind: 'fcm', token }, message({ category: 'health_alert', badge: 2 }));
    expect(result).toMatchObject({
      ok: true,
      providerMessageId: expect.stringMatching(/^projects\/clutch-test\/messages\//),
    });
    const got = await em.waitFor((m) => m.token === token);
    expect(got.notification).toEqual({
      title: 'New message from Ace Garage',
      body: 'Your car is ready <b>& waiting</b> — pick it up after 5 pm',
    });
    expect(got.data).toEqual({
      notificationId: '0b4c3f0e-8d7a-4f5e-9c1b-2a3d4e5f6a7b',
      category: 'health_alert',
      url: '/repair-order.html?id=42',
    });
    expect(got.android).toMatchObject({ priority: 'high' });
    expect(em.accessTokensIssued).toBeGreaterThanOrEqual(1);
  });

  it('answers a malformed token (INVALID_ARGUMENT) as an invalid target', async () => {
    expect(await sender.send({ kind: 'fcm', token: 'not-a-token' }, message())).toMatchObject({
      ok: false,
      invalidTarget: true,
    });
  });

  it('shortens an oversized body so FCM does not refuse it (and the token is not dropped)', async () => {
    const token = em.registerToken();
    const result = await sender.send({ kind: 'fcm', token }, message({ body: 'Bremsbeläge '.repeat(800) }));
    expect(result).toMatchObject({ ok: true });
    const got = await em.waitFor((m) => m.token === token);
    expect(got.notification?.body?.endsWith('…')).toBe(true);
  });

  it('throws on UNAVAILABLE and INTERNAL so the job retries', async () => {
    const token = em.registerToken();
    em.failNext('INTERNAL');
    await expect(sender.send({ kind: 'fcm', token }, message())).rejects.toBeInstanceOf(ChannelUnavailableError);
    // firebase-admin retries a 503 itself (first retry at once): a single UNAVAILABLE is absorbed.
    em.failNext('UNAVAILABLE');
    expect(await sender.send({ kind: 'fcm', token }, message())).toMatchObject({ ok: true });
  });

  it('throws when the service account is not the one the server knows', async () => {
    const other = await startFcmEmulator({ projectId: 'clutch-test' });
    const stranger = fcmSender({ serviceAccount: other.serviceAccount, httpAgent: em.httpAgent });
    await expect(stranger.send({ kind: 'fcm', token: em.registerToken() }, message())).rejects.toBeInstanceOf(
      ChannelUnavailableError,
    );
    await stranger.close();
    await other.close();
  });
});

/** Raw requests through the redirecting agent, for what firebase-admin never sends wrong. */
describe('local FCM server wire checks', () => {
  let em: FcmEmulator;
  beforeAll(async () => {
    em = await startFcmEmulator();
  });
  afterAll(async () => {
    await em?.close();
  });

  function call(url: string, body: string, headers: Record<string, string>) {
    return new Promise<{ status: number; json: unknown }>((resolve, reject) => {
      const req = httpsRequest(url, { method: 'POST', headers, agent: em.httpAgent }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as unknown }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  function assertion(key: string, claims: Record<string, unknown> = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const head = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({
        iss: em.serviceAccount.client_email,
        scope: 'https://www.googleapis.com/auth/firebase.messaging',
        aud: 'https://oauth2.googleapis.com/token',
        iat: now,
        exp: now + 3600,
        ...claims,
      }),
    ).toString('base64url');
    return `${head}.${payload}.${sign('sha256', Buffer.from(`${head}.${payload}`), key).toString('base64url')}`;
  }

  const form = (jwt: string) =>
    new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt }).toString();
  const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };

  it('issues an access token for a JWT signed by the service account, and only then', async () => {
    const ok = await call(
      'https://oauth2.googleapis.com/token',
      form(assertion(em.serviceAccount.private_key)),
      formHeaders,
    );
    expect(ok).toMatchObject({ status: 200, json: { token_type: 'Bearer', expires_in: 3599 } });
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const forged = await call(
      'https://oauth2.googleapis.com/token',
      form(assertion(otherKey as unknown as string)),
      formHeaders,
    );
    expect(forged).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    const longLived = await call(
      'https://oauth2.googleapis.com/token',
      form(assertion(em.serviceAccount.private_key, { exp: Math.floor(Date.now() / 1000) + 7200 })),
      formHeaders,
    );
    expect(longLived.status).toBe(400);
  });

  it('needs the bearer token and answers errors in the documented shape', async () => {
    const url = `https://fcm.googleapis.com/v1/projects/${em.projectId}/messages:send`;
    const body = JSON.stringify({ message: { token: em.registerToken(), notification: { title: 't' } } });
    expect(await call(url, body, { 'content-type': 'application/json' })).toMatchObject({
      status: 401,
      json: { error: { status: 'UNAUTHENTICATED' } },
    });
    const token = (
      (await call('https://oauth2.googleapis.com/token', form(assertion(em.serviceAccount.private_key)), formHeaders))
        .json as { access_token: string }
    ).access_token;
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const dead = em.registerToken();
    em.unregisterToken(dead);
    expect(await call(url, JSON.stringify({ message: { token: dead } }), auth)).toEqual({
      status: 404,
      json: {
        error: {
          code: 404,
          message: 'Requested entity was not found.',
          status: 'NOT_FOUND',
          details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }],
        },
      },
    });
    expect(
      await call(url, JSON.stringify({ message: { token: em.registerToken(), data: { n: 1 } } }), auth),
    ).toMatchObject({ status: 400, json: { error: { status: 'INVALID_ARGUMENT' } } });
    const before = em.received.length;
    expect(
      await call(url, JSON.stringify({ message: { token: em.registerToken() }, validate_only: true }), auth),
    ).toMatchObject({ status: 200 });
    expect(em.received).toHaveLength(before);
  });
});
