import { createECDH, randomBytes } from 'node:crypto';
import { decryptAes128gcm } from '@clutch/emulators';
import { afterAll, describe, expect, it } from 'vitest';
import { pushEncryptor } from './web-push-encrypt.js';

/** A browser's subscription keys, kept to decrypt what was made for it. */
function subscriber(n: number) {
  const ecdh = createECDH('prime256v1');
  const publicKey = ecdh.generateKeys();
  const auth = randomBytes(16);
  return {
    ecdh,
    publicKey,
    auth,
    subscription: {
      endpoint: `https://push.example/push/${n}`,
      keys: { p256dh: publicKey.toString('base64url'), auth: auth.toString('base64url') },
    },
  };
}

describe('Web Push encryption on its worker thread', () => {
  const encryptor = pushEncryptor();
  afterAll(() => encryptor.close());
  const options = { headers: { Authorization: 'vapid t=x, k=y' }, TTL: 60, contentEncoding: 'aes128gcm' } as const;

  it('answers each of many messages of one turn with its own request, which only its subscriber decrypts', async () => {
    const subs = Array.from({ length: 5 }, (_, i) => subscriber(i));
    const made = await Promise.all(subs.map((s, i) => encryptor.details(s.subscription, `message ${i}`, options)));
    made.forEach((d, i) => {
      const s = subs[i]!;
      expect(d.headers).toMatchObject({
        TTL: 60,
        Authorization: 'vapid t=x, k=y',
        'Content-Encoding': 'aes128gcm',
        'Content-Length': d.body!.length,
        Urgency: 'normal',
      });
      expect(decryptAes128gcm(d.body!, s.ecdh, s.publicKey, s.auth).toString('utf8')).toBe(`message ${i}`);
      const other = subs[(i + 1) % subs.length]!;
      expect(() => decryptAes128gcm(d.body!, other.ecdh, other.publicKey, other.auth)).toThrow();
    });
    // A fresh sender key per message (RFC 8291 §3.1): the aes128gcm header's key id differs.
    const keyIds = new Set(made.map((d) => d.body!.subarray(21, 86).toString('hex')));
    expect(keyIds.size).toBe(5);
  });

  it('fails only the message the SDK refuses, with the SDK’s reason', async () => {
    const good = subscriber(1);
    const bad = { ...good.subscription, keys: { ...good.subscription.keys, p256dh: 'AAAA' } };
    const [ok, refused] = await Promise.allSettled([
      encryptor.details(good.subscription, 'fine', options),
      encryptor.details(bad, 'not for this one', options),
    ]);
    expect(ok.status).toBe('fulfilled');
    expect(refused).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/p256dh/) } });
  });

  it('starts a new worker after close', async () => {
    await encryptor.close();
    const s = subscriber(2);
    const d = await encryptor.details(s.subscription, 'again', options);
    expect(decryptAes128gcm(d.body!, s.ecdh, s.publicKey, s.auth).toString('utf8')).toBe('again');
  });
});
