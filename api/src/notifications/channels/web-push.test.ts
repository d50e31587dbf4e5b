import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWebPushEmulator, type WebPushEmulator, type WebPushSubscription } from '@clutch/emulators';
import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeChannelContract, message } from './channel.contract.js';
import type { ChannelTarget } from './channel.js';
import { ChannelUnavailableError } from './payload.js';
import { webPushSender } from './web-push.js';

function targetOf(sub: { endpoint: string; keys: { p256dh: string; auth: string } }): ChannelTarget {
  return { kind: 'web_push', endpoint: sub.endpoint, p256dh: sub.keys.p256dh, auth: sub.keys.auth };
}

describeChannelContract('Web Push (web-push SDK) against the local push service', async () => {
  const em = await startWebPushEmulator();
  const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:ops@clutch.example' };
  const sender = webPushSender({ vapid, agent: em.agent });
  return {
    sender,
    target: () => targetOf(em.subscribe({ applicationServerKey: vapid.publicKey })),
    deadTarget: () => {
      const sub = em.subscribe();
      em.unsubscribe(sub.endpoint);
      return targetOf(sub);
    },
    failNextTransiently: () => em.failNext(503),
    failNextPermanently: () => em.failNext(400),
    delivered: () => em.received.map((p) => ({ text: p.payload })),
    close: () => em.close(),
  };
});

describe('Web Push adapter', () => {
  let em: WebPushEmulator;
  const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:ops@clutch.example' };
  beforeAll(async () => {
    em = await startWebPushEmulator();
  });
  afterAll(async () => {
    await em?.close();
  });

  it('sends an encrypted payload the subscriber decrypts to what the service worker shows', async () => {
    const sender = webPushSender({ vapid, agent: em.agent });
    const sub = em.subscribe({ applicationServerKey: vapid.publicKey });
    const result = await sender.send(targetOf(sub), message({ category: 'health_alert', badge: 3 }));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.providerMessageId).toMatch(new RegExp(`^${em.url}/message/`));
    const push = await em.waitFor((p) => p.endpoint === sub.endpoint);
    expect(push.data).toEqual({
      notificationId: '0b4c3f0e-8d7a-4f5e-9c1b-2a3d4e5f6a7b',
      category: 'health_alert',
      title: 'New message from Ace Garage',
      body: 'Your car is ready <b>& waiting</b> — pick it up after 5 pm',
      url: '/repair-order.html?id=42',
      badge: 3,
    });
    expect(push).toMatchObject({
      urgency: 'high',
      ttl: 86400,
      topic: '0b4c3f0e8d7a4f5e9c1b2a3d4e5f6a7b',
      subject: 'mailto:ops@clutch.example',
      vapidPublicKey: vapid.publicKey,
    });
  });

  it('shortens a body too long for a push instead of having it refused', async () => {
    const sender = webPushSender({ vapid, agent: em.agent });
    const sub = em.subscribe();
    const long = 'Ölstand prüfen. '.repeat(600);
    expect(await sender.send(targetOf(sub), message({ body: long }))).toMatchObject({ ok: true });
    const push = await em.waitFor((p) => p.endpoint === sub.endpoint);
    const data = push.data as { body: string; title: string };
    expect(data.title).toBe('New message from Ace Garage');
    expect(data.body.endsWith('…')).toBe(true);
    expect(long.startsWith(data.body.slice(0, -1))).toBe(true);
    expect(Buffer.byteLength(push.payload)).toBeLessThanOrEqual(4096 - 103);
  });

  it('treats a subscription made for another VAPID key as an invalid target', async () => {
    const other = webpush.generateVAPIDKeys();
    const sub = em.subscribe({ applicationServerKey: other.publicKey });
    const before = em.received.length;
    const result = await webPushSender({ vapid, agent: em.agent }).send(targetOf(sub), message());
    expect(result).toMatchObject({ ok: false, invalidTarget: true });
    expect(em.received).toHaveLength(before);
  });

  it('gives the push service’s Retry-After to the retry when rate limited', async () => {
    const sub = em.subscribe();
    em.failNext(429, { retryAfterSeconds: 30 });
    const err = await webPushSender({ vapid, agent: em.agent })
      .send(targetOf(sub), message())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelUnavailableError);
    expect((err as ChannelUnavailableError).retryAfterSeconds).toBe(30);
  });

  it('refuses malformed subscriptions as invalid targets without sending', async () => {
    const sender = webPushSender({ vapid, agent: em.agent });
    const sub = em.subscribe();
    const before = em.requests.length;
    for (const bad of [
      { ...targetOf(sub), endpoint: 'not a url' },
      { ...targetOf(sub), endpoint: sub.endpoint.replace('https:', 'http:') },
      { ...targetOf(sub), p256dh: 'AAAA' },
      { ...targetOf(sub), auth: '' },
    ] as ChannelTarget[]) {
      expect(await sender.send(bad, message())).toMatchObject({ ok: false, invalidTarget: true });
    }
    expect(em.requests).toHaveLength(before);
  });

  it('refuses a VAPID key pair that is not one', () => {
    expect(() => webPushSender({ vapid: { ...vapid, publicKey: 'abc' } })).toThrow(/publicKey/);
    expect(() => webPushSender({ vapid: { ...vapid, subject: 'ops@clutch.example' } })).toThrow(/subject/);
  });
});

/** Raw requests to the push service, for what the SDK never sends wrong. */
describe('local push service wire checks', () => {
  let em: WebPushEmulator;
  const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:ops@clutch.example' };
  beforeAll(async () => {
    em = await startWebPushEmulator();
  });
  afterAll(async () => {
    await em?.close();
  });

  function post(endpoint: string, headers: Record<string, string | number>, body: Buffer | null) {
    return new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpsRequest(endpoint, { method: 'POST', headers, agent: em.agent }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body ?? undefined);
    });
  }

  function signed(sub: { endpoint: string; keys: { p256dh: string; auth: string } }, payload = 'hello') {
    const details = webpush.generateRequestDetails(sub, payload, { vapidDetails: vapid, TTL: 60 });
    return { headers: details.headers, body: details.body };
  }

  it('accepts what the SDK signs and decrypts it', async () => {
    const sub = em.subscribe();
    const { headers, body } = signed(sub, 'plain text');
    expect((await post(sub.endpoint, headers, body)).status).toBe(201);
    expect((await em.waitFor((p) => p.endpoint === sub.endpoint)).payload).toBe('plain text');
  });

  it('refuses a VAPID token for another audience, an expired one, and a forged signature', async () => {
    const sub = em.subscribe();
    const { headers, body } = signed(sub);
    const other = webpush.getVapidHeaders(
      'https://push.example.net',
      vapid.subject,
      vapid.publicKey,
      vapid.privateKey,
      'aes128gcm',
    );
    const expired = webpush.getVapidHeaders(
      em.url,
      vapid.subject,
      vapid.publicKey,
      vapid.privateKey,
      'aes128gcm',
      Math.floor(Date.now() / 1000) - 10,
    );
    const stranger = webpush.generateVAPIDKeys();
    const forged = webpush
      .getVapidHeaders(em.url, vapid.subject, stranger.publicKey, stranger.privateKey, 'aes128gcm')
      .Authorization.replace(/k=\S+/, `k=${vapid.publicKey}`);
    for (const authorization of [other.Authorization, expired.Authorization, forged, 'WebPush abc']) {
      const res = await post(sub.endpoint, { ...headers, Authorization: authorization }, body);
      expect(res.status, authorization).toBe(401);
    }
    expect(em.received.filter((p) => p.endpoint === sub.endpoint)).toHaveLength(0);
  });

  it('requires TTL, refuses a malformed body, unknown endpoints and oversized messages', async () => {
    const sub = em.subscribe();
    const { headers, body } = signed(sub);
    const { TTL: _ttl, ...noTtl } = headers;
    expect((await post(sub.endpoint, noTtl, body)).status).toBe(400);
    // What a push service can see without the subscriber's keys: the aes128gcm header.
    const cut = body!.subarray(0, 40);
    expect((await post(sub.endpoint, { ...headers, 'Content-Length': cut.length }, cut)).status).toBe(400);
    const otherKeyId = Buffer.from(body!);
    otherKeyId[20] = 64;
    expect((await post(sub.endpoint, headers, otherKeyId)).status).toBe(400);
    expect((await post(`${em.url}/push/nope`, headers, body)).status).toBe(404);
    const big = signed(sub, 'x'.repeat(5000));
    expect((await post(sub.endpoint, big.headers, big.body)).status).toBe(413);
    expect(em.received.filter((p) => p.endpoint === sub.endpoint)).toHaveLength(0);
  });

  it('stores a tampered body as a push service does, and the subscriber cannot open it', async () => {
    const sub = em.subscribe();
    const { headers, body } = signed(sub, 'secret');
    const tampered = Buffer.from(body!);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    // A push service stores and forwards ciphertext it cannot read: it accepts the message...
    expect((await post(sub.endpoint, headers, tampered)).status).toBe(201);
    const push = await em.waitFor((p) => p.endpoint === sub.endpoint);
    // ...and the browser drops it: nothing for the service worker.
    expect(push).toMatchObject({ payload: '', data: null });
    expect(push.error).toMatch(/decryption failed/);
    expect(JSON.parse(JSON.stringify(push))).toMatchObject({ payload: '', data: null, error: push.error });
  });

  it('keeps accepting a VAPID token it verified only until the token expires', async () => {
    let clock = Date.now();
    const timed = await startWebPushEmulator({ now: () => new Date(clock) });
    try {
      const sub = timed.subscribe();
      const exp = Math.floor(clock / 1000) + 120;
      const { Authorization } = webpush.getVapidHeaders(
        timed.url,
        vapid.subject,
        vapid.publicKey,
        vapid.privateKey,
        'aes128gcm',
        exp,
      );
      const send = (text: string) => {
        const d = webpush.generateRequestDetails(sub, text, { TTL: 60, headers: { Authorization } });
        return new Promise<number>((resolve, reject) => {
          const req = httpsRequest(sub.endpoint, { method: 'POST', headers: d.headers, agent: timed.agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end(d.body ?? undefined);
        });
      };
      expect(await send('first')).toBe(201);
      expect(await send('second')).toBe(201);
      clock = exp * 1000 + 1000;
      expect(await send('after exp')).toBe(401);
      expect(timed.received.map((p) => p.payload)).toEqual(['first', 'second']);
    } finally {
      await timed.close();
    }
  });
});

describe('local push service subscriptions across a restart', () => {
  it('keeps them, with their keys and endpoints, in its subscriptions file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clutch-push-subs-'));
    const file = join(dir, 'sub', 'subscriptions.jsonl');
    const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:ops@clutch.example' };
    try {
      const first = await startWebPushEmulator({ subscriptionsFile: file });
      let kept: WebPushSubscription;
      let gone: WebPushSubscription;
      let other: WebPushSubscription;
      try {
        kept = first.subscribe({ applicationServerKey: vapid.publicKey });
        gone = first.subscribe();
        other = first.subscribe({ applicationServerKey: webpush.generateVAPIDKeys().publicKey });
        first.unsubscribe(gone.endpoint);
      } finally {
        await first.close();
      }
      expect(statSync(file).mode & 0o077).toBe(0);
      const second = await startWebPushEmulator({ subscriptionsFile: file });
      try {
        expect(second.url).toBe(new URL(kept.endpoint).origin);
        const sender = webPushSender({ vapid, agent: second.agent });
        expect(await sender.send(targetOf(kept), message({ body: 'after the restart' }))).toMatchObject({ ok: true });
        const push = await second.waitFor((p) => p.endpoint === kept.endpoint);
        expect((push.data as { body: string }).body).toBe('after the restart');
        // Unsubscribed stays gone; a subscription for another VAPID key still refuses ours.
        expect(await sender.send(targetOf(gone), message())).toMatchObject({ ok: false, invalidTarget: true });
        expect(await sender.send(targetOf(other), message())).toMatchObject({ ok: false, invalidTarget: true });
        expect(second.requests.map((r) => r.status)).toEqual([201, 410, 403]);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
