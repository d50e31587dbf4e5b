import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { Database, Queryable } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  issueBiometricChallenge,
  listDeviceKeys,
  parseDevicePublicKey,
  registerDeviceKey,
  revokeDeviceKey,
  verifyBiometricSignature,
} from './biometric.js';
import type { UserRef } from './factors.js';

const ANA: UserRef = { userId: '44444444-4444-4444-8444-444444444444', tenantId: 'consumers' };

/** The phone: a P-256 key pair as a secure enclave makes, signing as iOS and Android do (DER). */
function phone(): {
  publicJwk: unknown;
  publicSpki: string;
  sign(text: string, encoding?: 'der' | 'ieee-p1363'): string;
  privateKey: KeyObject;
} {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey,
    publicJwk: publicKey.export({ format: 'jwk' }),
    publicSpki: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    sign: (text, dsaEncoding = 'der') =>
      sign('sha256', Buffer.from(text, 'utf8'), { key: privateKey, dsaEncoding }).toString('base64url'),
  };
}

describe.each(testDatabases(inject('pgAdminUrl'), 'mfa_biometric'))('biometric sign-in: %s', (_engine, open) => {
  let db: Database;
  const asUser = <T>(fn: (q: Queryable) => Promise<T>): Promise<T> => db.withTenant('consumers', fn);
  /** Before sign-in nobody is known: challenge and verify run unconfined (the platform's system scope). */
  const asSystem = <T>(fn: (q: Queryable) => Promise<T>): Promise<T> => db.transaction(fn);
  const iphone = phone();
  let deviceKeyId: string;

  beforeAll(async () => {
    db = await open({
      signals: false,
      seed: async (d) =>
        void (await d.query(
          `INSERT INTO users (id, tenant_id, email, display_name) VALUES ($1, 'consumers', 'ana@example.com', 'Ana')`,
          [ANA.userId],
        )),
    });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('accepts a P-256 public key as JWK or DER SPKI, and nothing else', () => {
    expect(parseDevicePublicKey(iphone.publicJwk).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(parseDevicePublicKey(iphone.publicSpki).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    const priv = iphone.privateKey.export({ format: 'jwk' });
    for (const bad of [p384, rsa, priv, 'not-base64!', {}, null, 42]) {
      expect(() => parseDevicePublicKey(bad)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });

  it('registers the phone key and signs in with a signature over a fresh challenge', async () => {
    const device = await asUser((q) =>
      registerDeviceKey(q, ANA, parseDevicePublicKey(iphone.publicJwk), 'Ana’s iPhone'),
    );
    deviceKeyId = device.id;
    expect(await asUser((q) => listDeviceKeys(q, ANA.userId))).toEqual([
      expect.objectContaining({ id: deviceKeyId, deviceName: 'Ana’s iPhone' }),
    ]);

    const challenge = await asSystem((q) => issueBiometricChallenge(q, deviceKeyId));
    expect(challenge!.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const signedIn = await asSystem((q) =>
      verifyBiometricSignature(q, {
        deviceKeyId,
        challengeId: challenge!.challengeId,
        signature: iphone.sign(challenge!.challenge),
      }),
    );
    expect(signedIn).toEqual({ ...ANA, deviceKeyId, deviceName: 'Ana’s iPhone' });
  });

  it('refuses a replayed signature: each challenge is answered once', async () => {
    const challenge = await asSystem((q) => issueBiometricChallenge(q, deviceKeyId));
    const input = { deviceKeyId, challengeId: challenge!.challengeId, signature: iphone.sign(challenge!.challenge) };
    expect(await asSystem((q) => verifyBiometricSignature(q, input))).not.toBeNull();
    expect(await asSystem((q) => verifyBiometricSignature(q, input))).toBeNull();
    // An old signature against a new challenge does not verify either.
    const fresh = await asSystem((q) => issueBiometricChallenge(q, deviceKeyId));
    expect(
      await asSystem((q) => verifyBiometricSignature(q, { ...input, challengeId: fresh!.challengeId })),
    ).toBeNull();
    // ...and the failed attempt used that challenge up.
    const right = iphone.sign(fresh!.challenge);
    expect(
      await asSystem((q) =>
        verifyBiometricSignature(q, { deviceKeyId, challengeId: fresh!.challengeId, signature: right }),
      ),
    ).toBeNull();
  });

  it('refuses another key’s signature, an expired challenge, and a challenge of another device', async () => {
    const thief = phone();
    const c1 = await asSystem((q) => issueBiometricChallenge(q, deviceKeyId));
    expect(
      await asSystem((q) =>
        verifyBiometricSignature(q, {
          deviceKeyId,
          challengeId: c1!.challengeId,
          signature: thief.sign(c1!.challenge),
        }),
      ),
    ).toBeNull();

    const c2 = await asSystem((q) => issueBiometricChallenge(q, deviceKeyId));
    await db.query(`UPDATE mfa_challenges SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      c2!.challengeId,
    ]);
    expect(
      await asSystem((q) =>
        verifyBiometricSignature(q, {
          deviceKeyId,
          challengeId: c2!.challengeId,
          signature: iphone.sign(c2!.challenge),
        }),
      ),
    ).toBeNull();

    const other = await asUser((q) => registerDeviceKey(q, ANA, parseDevicePublicKey(thief.publicSpki), 'Tablet'));
    const c3 = await asSystem((q) => issueBiometricChallenge(q, other.id));
    // The challenge is bound to the tablet's key: presenting it for the phone fails, even signed right.
    expect(
      await asSystem((q) =>
        verifyBiometricSignature(q, {
          deviceKeyId,
          challengeId: c3!.challengeId,
          signature: iphone.sign(c3!.challenge),
        }),
      ),
    ).toBeNull();
  });

  it('accepts the 64-byte r||s signature form too', async () => {
    const challenge = await asSystem((q) => issueBiometricChallenge(q, deviceKeyId));
    const signature = iphone.sign(challenge!.challenge, 'ieee-p1363');
    expect(Buffer.from(signature, 'base64url')).toHaveLength(64);
    expect(
      await asSystem((q) =>
        verifyBiometricSignature(q, { deviceKeyId, challengeId: challenge!.challengeId, signature }),
      ),
    ).not.toBeNull();
  });

  it('a revoked phone gets no challenge and its pending challenges stop working', async () => {
    const pending = await asSystem((q) => issueBiometricChallenge(q, deviceKeyId));
    expect(await asUser((q) => revokeDeviceKey(q, ANA.userId, deviceKeyId))).toBe(true);
    expect(await asSystem((q) => issueBiometricChallenge(q, deviceKeyId))).toBeNull();
    expect(
      await asSystem((q) =>
        verifyBiometricSignature(q, {
          deviceKeyId,
          challengeId: pending!.challengeId,
          signature: iphone.sign(pending!.challenge),
        }),
      ),
    ).toBeNull();
    expect(await asSystem((q) => issueBiometricChallenge(q, '99999999-9999-4999-8999-999999999999'))).toBeNull();
  });
});
