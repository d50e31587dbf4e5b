import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../sessions/test-client.js';
import { backends, startFixture, type Fixture } from '../test-fixtures.js';

const PASSWORD = 'correct horse battery staple';

/** The phone: a P-256 key pair as its secure enclave makes, signing challenges as iOS and Android do (DER). */
function phoneKey(): { jwk: Record<string, unknown>; spki: string; sign(text: string): string; privateKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey,
    jwk: publicKey.export({ format: 'jwk' }) as Record<string, unknown>,
    spki: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    sign: (text) => sign('sha256', Buffer.from(text, 'utf8'), privateKey).toString('base64url'),
  };
}

describe.each(backends('api_mobile'))('biometric sign-in over REST on %s', (_name, open) => {
  let fx: Fixture;
  let n = 0;

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      adminToken: 'admin-token-for-mobile-tests',
      identity: { sessionCacheMs: 0, signInLimits: { ip: { freeFailures: 1000 } } },
      ...(open ? { open } : {}),
    });
  });
  afterAll(async () => {
    await fx?.close();
  });

  async function signedInPhone(): Promise<{ email: string; app: TestClient; userId: string }> {
    const email = `phone-owner${++n}@example.com`;
    expect(
      (
        await new TestClient(fx.api.url).call('POST', '/api/auth/register', {
          email,
          password: PASSWORD,
          displayName: 'P',
        })
      ).status,
    ).toBe(202);
    const app = new TestClient(fx.api.url, { mobile: true, deviceId: `iphone-${n}` });
    const login = await app.call('POST', '/api/auth/login', { email, password: PASSWORD, deviceName: 'iPhone' });
    expect(login.status).toBe(200);
    return { email, app, userId: (login.body.user as { id: string }).id };
  }

  async function register(app: TestClient, publicKey: unknown): Promise<string> {
    const res = await app.call('POST', '/api/mobile/biometric/register', { publicKey, deviceName: 'iPhone 15' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  }

  it('registers the phone key after a sign-in and signs in later with a signed challenge (bearer tokens)', async () => {
    const { app, userId } = await signedInPhone();
    const key = phoneKey();
    const deviceKeyId = await register(app, key.jwk);
    expect((await app.call('GET', '/api/mobile/biometric/devices')).body.devices).toEqual([
      expect.objectContaining({ id: deviceKeyId, deviceName: 'iPhone 15' }),
    ]);

    // Later, signed out: no token at all, just the device key.
    const later = new TestClient(fx.api.url, { mobile: true, deviceId: `iphone-${n}` });
    const challenge = await later.call('POST', '/api/mobile/biometric/challenge', { deviceKeyId });
    expect(challenge.status, JSON.stringify(challenge.body)).toBe(200);
    const signature = key.sign(challenge.body.challenge as string);
    const signedIn = await later.call('POST', '/api/mobile/biometric/verify', {
      deviceKeyId,
      challengeId: challenge.body.challengeId,
      signature,
    });
    expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);
    expect(signedIn.body).toMatchObject({
      user: { id: userId },
      accessToken: expect.any(String),
      refreshToken: expect.stringMatching(/^crt_/),
    });
    expect(signedIn.cookies).toEqual([]);
    const me = await later.call('GET', '/api/me');
    expect(me.status).toBe(200);
    const { rows } = await fx.db.query<{ detail: Record<string, unknown> }>(
      `SELECT detail FROM audit_log WHERE action = 'auth.login' AND target = $1`,
      [(signedIn.body.session as { id: string }).id],
    );
    expect(rows[0]!.detail).toMatchObject({ client: 'mobile', mfa: true });

    // Replay: the same signed challenge again is refused.
    const replay = await new TestClient(fx.api.url, { mobile: true }).call('POST', '/api/mobile/biometric/verify', {
      deviceKeyId,
      challengeId: challenge.body.challengeId,
      signature,
    });
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('MFA_VERIFICATION_FAILED');
    const failed = await fx.db.query(`SELECT 1 FROM audit_log WHERE action = 'biometric.failed' AND target = $1`, [
      deviceKeyId,
    ]);
    expect(failed.rows.length).toBeGreaterThan(0);
  });

  it('refuses a signature by another key, and stops a removed phone', async () => {
    const { app } = await signedInPhone();
    const key = phoneKey();
    const deviceKeyId = await register(app, key.spki);
    const thief = phoneKey();
    const c1 = await app.call('POST', '/api/mobile/biometric/challenge', { deviceKeyId });
    const forged = await app.call('POST', '/api/mobile/biometric/verify', {
      deviceKeyId,
      challengeId: c1.body.challengeId,
      signature: thief.sign(c1.body.challenge as string),
    });
    expect(forged.status).toBe(401);

    expect((await app.call('DELETE', `/api/mobile/biometric/devices/${deviceKeyId}`)).status).toBe(204);
    const gone = await app.call('POST', '/api/mobile/biometric/challenge', { deviceKeyId });
    expect(gone.status).toBe(401);
    expect(gone.body.code).toBe('MFA_VERIFICATION_FAILED');
    expect((await app.call('DELETE', `/api/mobile/biometric/devices/${deviceKeyId}`)).status).toBe(404);
  });

  it('refuses keys that are not P-256 public keys, and needs a recent MFA check from a user with MFA', async () => {
    const { app, userId } = await signedInPhone();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    expect(
      (await app.call('POST', '/api/mobile/biometric/register', { publicKey: p384, deviceName: 'x' })).status,
    ).toBe(400);
    const key = phoneKey();
    const withPrivate = { ...key.jwk, d: key.privateKey.export({ format: 'jwk' }).d };
    expect(
      (await app.call('POST', '/api/mobile/biometric/register', { publicKey: withPrivate, deviceName: 'x' })).status,
    ).toBe(400);

    // With TOTP enrolled and the session's MFA check aged, registering needs a step-up.
    const setup = await app.call('POST', '/api/auth/mfa/setup', { method: 'totp' });
    const code = await generate({ secret: setup.body.secret as string });
    expect((await app.call('POST', '/api/auth/mfa/verify', { method: 'totp', code })).status).toBe(200);
    await fx.db.query(`UPDATE sessions SET mfa_at = now() - interval '1 hour' WHERE user_id = $1`, [userId]);
    await app.call('POST', '/api/sessions/refresh', { refreshToken: app.refreshToken });
    const refused = await app.call('POST', '/api/mobile/biometric/register', { publicKey: key.jwk, deviceName: 'x' });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'MFA_STEP_UP_REQUIRED', methods: ['totp', 'backup_code'] });
  });

  it('refuses biometric routes to callers that are not signed-in users', async () => {
    const admin = await new TestClient(fx.api.url).call(
      'POST',
      '/api/mobile/biometric/register',
      { publicKey: phoneKey().jwk, deviceName: 'x' },
      { bearer: 'admin-token-for-mobile-tests' },
    );
    expect(admin.status).toBe(403);
    const anonymous = await new TestClient(fx.api.url).call('POST', '/api/mobile/biometric/register', {
      publicKey: phoneKey().jwk,
      deviceName: 'x',
    });
    expect(anonymous.status).toBe(401);
    const unknown = await new TestClient(fx.api.url).call('POST', '/api/mobile/biometric/challenge', {
      deviceKeyId: '99999999-9999-4999-8999-999999999999',
    });
    expect(unknown.status).toBe(401);
  });
});
