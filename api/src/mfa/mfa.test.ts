import { createTwilioSmsSender, smtpMailer, type Mailer } from '@clutch/identity';
import {
  createSoftAuthenticator,
  startTestSmtp,
  startTwilioWireServer,
  type TestSmtpServer,
  type TwilioWireServer,
} from '@clutch/identity/testing';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../sessions/test-client.js';
import { backends, startFixture, type Fixture } from '../test-fixtures.js';

const PASSWORD = 'correct horse battery staple';
const ORIGIN = 'http://localhost:3000';
const TWILIO = { accountSid: 'AC00000000000000000000000000000001', authToken: 'twilio-token-for-tests' };

const totpAt = (secret: string, offsetSeconds = 0): Promise<string> =>
  generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSeconds });

interface AuditRow {
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  detail: Record<string, unknown>;
}

describe.each(backends('api_mfa'))('MFA over REST on %s', (_name, open) => {
  let fx: Fixture;
  let smtp: TestSmtpServer;
  let mailer: Mailer & { close(): void };
  let twilio: TwilioWireServer;
  let n = 0;

  beforeAll(async () => {
    smtp = await startTestSmtp();
    mailer = smtpMailer({ url: smtp.url, from: 'Clutch <no-reply@clutch.test>' });
    twilio = await startTwilioWireServer(TWILIO);
    fx = await startFixture({
      requireAuth: true,
      adminToken: 'admin-token-for-mfa-tests',
      // No session cache: a step-up or an aged MFA time is seen by the next request.
      identity: { mailer, sessionCacheMs: 0, signInLimits: { ip: { freeFailures: 1000 } } },
      mfa: {
        webauthn: { rpID: 'localhost', rpName: 'Clutch', origins: [ORIGIN] },
        sms: createTwilioSmsSender({ ...TWILIO, from: '+15005550006', baseUrl: twilio.url }),
        // Long blocks, so a block is still on when the next request comes, however slow the machine.
        limits: { ip: { freeFailures: 1000 }, account: { baseBlockSeconds: 120 } },
      },
      ...(open ? { open } : {}),
    });
  });
  afterAll(async () => {
    await fx?.close();
    mailer?.close();
    await smtp?.close();
    await twilio?.close();
  });

  const audit = async (action: string, actor?: string): Promise<AuditRow[]> => {
    const { rows } = await fx.db.query<AuditRow>(
      `SELECT actor, action, target, outcome, detail FROM audit_log WHERE action = $1 AND ($2::text IS NULL OR actor = $2) ORDER BY id`,
      [action, actor ?? null],
    );
    return rows;
  };

  /** A fresh owner, signed in on the phone app (bearer tokens). */
  async function owner(options: ConstructorParameters<typeof TestClient>[1] = { mobile: true }): Promise<{
    email: string;
    client: TestClient;
    userId: string;
  }> {
    const email = `mfa-owner${++n}@example.com`;
    const reg = await new TestClient(fx.api.url).call('POST', '/api/auth/register', {
      email,
      password: PASSWORD,
      displayName: `Owner ${n}`,
    });
    expect(reg.status).toBe(202);
    const client = new TestClient(fx.api.url, options);
    const login = await client.call('POST', '/api/auth/login', { email, password: PASSWORD, deviceName: 'phone' });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    return { email, client, userId: (login.body.user as { id: string }).id };
  }

  /** Password step of a sign-in for a user with MFA: the challenge and the methods offered. */
  async function passwordStep(email: string, client: TestClient): Promise<{ challenge: string; methods: string[] }> {
    const res = await client.call('POST', '/api/auth/login', { email, password: PASSWORD, deviceName: 'phone' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.mfaRequired).toBe(true);
    expect(res.body.accessToken).toBeUndefined();
    return { challenge: res.body.challenge as string, methods: res.body.methods as string[] };
  }

  async function enrolTotp(client: TestClient): Promise<{ secret: string; backupCodes: string[] }> {
    const setup = await client.call('POST', '/api/auth/mfa/setup', { method: 'totp' });
    expect(setup.status, JSON.stringify(setup.body)).toBe(200);
    const secret = setup.body.secret as string;
    const done = await client.call('POST', '/api/auth/mfa/verify', { method: 'totp', code: await totpAt(secret) });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    return { secret, backupCodes: done.body.backupCodes as string[] };
  }

  it('sets up TOTP (secret, otpauth URI, SVG QR code), confirmed by a first code, with ten backup codes shown once', async () => {
    const { client, userId } = await owner();
    expect((await client.call('GET', '/api/auth/mfa')).body.methods).toEqual([]);

    const setup = await client.call('POST', '/api/auth/mfa/setup', { method: 'totp' });
    expect(setup.status).toBe(200);
    expect(setup.headers.get('cache-control')).toBe('no-store');
    const secret = setup.body.secret as string;
    expect(setup.body.uri).toBe(
      `otpauth://totp/Clutch:${encodeURIComponent(`mfa-owner${n}@example.com`)}?secret=${secret}&issuer=Clutch`,
    );
    expect(setup.body.qrSvg).toMatch(/^<svg/);
    // Not counted until confirmed.
    expect((await client.call('GET', '/api/auth/mfa')).body.methods).toEqual([]);

    const wrong = await client.call('POST', '/api/auth/mfa/verify', {
      method: 'totp',
      code: '000000' === (await totpAt(secret)) ? '111111' : '000000',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('MFA_VERIFICATION_FAILED');

    const done = await client.call('POST', '/api/auth/mfa/verify', { method: 'totp', code: await totpAt(secret) });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({ method: 'totp', completed: 'setup', accessToken: expect.any(String) });
    expect(done.body.backupCodes).toHaveLength(10);
    const status = await client.call('GET', '/api/auth/mfa');
    expect(status.body).toMatchObject({ methods: ['totp', 'backup_code'], backupCodesRemaining: 10 });

    expect(await audit('mfa.enabled', `user:${userId}`)).toEqual([
      expect.objectContaining({
        target: 'totp',
        outcome: 'success',
        detail: expect.objectContaining({ backupCodesIssued: 10 }),
      }),
    ]);
    expect(await audit('mfa.failed', `user:${userId}`)).toEqual([
      expect.objectContaining({
        outcome: 'failure',
        detail: expect.objectContaining({ method: 'totp', purpose: 'setup' }),
      }),
    ]);
    // The owner is told by mail that a factor was added.
    const notice = await smtp.next(
      (m) => m.to.includes(`mfa-owner${n}@example.com`) && /second factor was added/.test(m.subject),
    );
    expect(notice.text).toContain('authenticator app');
  });

  it('signs in with password then TOTP; the challenge completes one sign-in only and a used code never works again', async () => {
    const { email, client } = await owner();
    const { secret, backupCodes } = await enrolTotp(client);

    const phone = new TestClient(fx.api.url, { mobile: true, deviceId: 'pixel' });
    const { challenge, methods } = await passwordStep(email, phone);
    expect(methods).toEqual(['totp', 'backup_code']);
    // The code of the step the setup used is spent; the next step's code (within the window) works.
    const spent = await phone.call('POST', '/api/auth/mfa/verify', {
      challenge,
      method: 'totp',
      code: await totpAt(secret),
    });
    expect(spent.status).toBe(401);
    expect(spent.body.code).toBe('MFA_VERIFICATION_FAILED');
    const next = await totpAt(secret, 30);
    const signedIn = await phone.call('POST', '/api/auth/mfa/verify', { challenge, method: 'totp', code: next });
    expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);
    expect(signedIn.body).toMatchObject({
      user: { email },
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
    });
    expect((await phone.call('GET', '/api/me')).status).toBe(200);
    const [login] = (await audit('auth.login')).filter(
      (r) => r.target === (signedIn.body.session as { id: string }).id,
    );
    expect(login!.detail).toMatchObject({ mfa: true });

    // The same challenge again, even with a valid backup code: refused, and the backup code is not spent.
    const again = new TestClient(fx.api.url, { mobile: true });
    const replay = await again.call('POST', '/api/auth/mfa/verify', {
      challenge,
      method: 'backup_code',
      code: backupCodes[0],
    });
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('MFA_CHALLENGE_INVALID');
    expect((await client.call('GET', '/api/auth/mfa')).body.backupCodesRemaining).toBe(10);
    expect((await again.call('GET', '/api/me')).status).toBe(401);

    // A forged or expired challenge is refused before any code is looked at.
    const forged = await again.call('POST', '/api/auth/mfa/verify', {
      challenge: `${challenge.slice(0, -4)}AAAA`,
      method: 'totp',
      code: next,
    });
    expect(forged.status).toBe(401);
    expect(forged.body.code).toBe('MFA_CHALLENGE_INVALID');
  });

  it('signs in with a backup code, once; a new set replaces the old one (needs a recent MFA check)', async () => {
    const { email, client } = await owner();
    const { backupCodes } = await enrolTotp(client);
    const laptop = new TestClient(fx.api.url, { mobile: true });
    const first = await passwordStep(email, laptop);
    const ok = await laptop.call('POST', '/api/auth/mfa/verify', {
      challenge: first.challenge,
      method: 'backup_code',
      code: backupCodes[0],
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const second = await passwordStep(email, new TestClient(fx.api.url, { mobile: true }));
    const reused = await laptop.call('POST', '/api/auth/mfa/verify', {
      challenge: second.challenge,
      method: 'backup_code',
      code: backupCodes[0],
    });
    expect(reused.status).toBe(401);
    expect(reused.body.code).toBe('MFA_VERIFICATION_FAILED');

    // The phone completed setup moments ago, so its session's MFA check is recent.
    const fresh = await client.call('GET', '/api/auth/mfa/backup-codes');
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
    const codes = fresh.body.codes as string[];
    expect(codes).toHaveLength(10);
    expect(codes).not.toContain(backupCodes[1]);
    const third = await passwordStep(email, new TestClient(fx.api.url, { mobile: true }));
    const old = await laptop.call('POST', '/api/auth/mfa/verify', {
      challenge: third.challenge,
      method: 'backup_code',
      code: backupCodes[1],
    });
    expect(old.status).toBe(401);
    const renewed = await laptop.call('POST', '/api/auth/mfa/verify', {
      challenge: third.challenge,
      method: 'backup_code',
      code: codes[0],
    });
    expect(renewed.status).toBe(200);
  });

  it('step-up: 403 MFA_STEP_UP_REQUIRED with the methods when the last check is old, 200 after a verify', async () => {
    const { client, userId } = await owner();
    const { backupCodes } = await enrolTotp(client);
    // Age the session's MFA check and take a new access token that carries the old time.
    await fx.db.query(`UPDATE sessions SET mfa_at = now() - interval '1 hour' WHERE user_id = $1`, [userId]);
    const refreshed = await client.call('POST', '/api/sessions/refresh', { refreshToken: client.refreshToken });
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);

    const refused = await client.call('GET', '/api/auth/mfa/backup-codes');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      code: 'MFA_STEP_UP_REQUIRED',
      methods: ['totp', 'backup_code'],
      verify: '/api/auth/mfa/verify',
      maxAgeSeconds: 300,
    });
    const disable = await client.call('POST', '/api/auth/mfa/disable', { method: 'totp' });
    expect(disable.status).toBe(403);
    expect(disable.body.code).toBe('MFA_STEP_UP_REQUIRED');

    const stepUp = await client.call('POST', '/api/auth/mfa/verify', { method: 'backup_code', code: backupCodes[2] });
    expect(stepUp.status, JSON.stringify(stepUp.body)).toBe(200);
    expect(stepUp.body).toMatchObject({ completed: 'step-up', method: 'backup_code', accessToken: expect.any(String) });
    expect((await client.call('GET', '/api/auth/mfa/backup-codes')).status).toBe(200);
    expect(await audit('mfa.verified', `user:${userId}`)).toEqual([
      expect.objectContaining({
        outcome: 'success',
        detail: expect.objectContaining({ purpose: 'step-up', method: 'backup_code' }),
      }),
    ]);

    // Disabling the only factor takes the backup codes with it; the owner is told.
    const removed = await client.call('POST', '/api/auth/mfa/disable', { method: 'totp' });
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect(removed.body).toEqual({ methods: [] });
    expect((await client.call('GET', '/api/auth/mfa')).body).toMatchObject({ methods: [], backupCodesRemaining: 0 });
    expect(await audit('mfa.disabled', `user:${userId}`)).toHaveLength(1);
  });

  it('a burst of wrong codes on a signed-in session signs it out and tells the owner by mail', async () => {
    const { email, client, userId } = await owner();
    await enrolTotp(client);
    const answers: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await client.call('POST', '/api/auth/mfa/verify', { method: 'backup_code', code: 'AAAAA-AAAAA' });
      answers.push(`${res.status} ${String(res.body.code)}`);
    }
    // The fifth wrong code on this session ends it.
    expect(answers).toEqual([...Array(4).fill('401 MFA_VERIFICATION_FAILED'), '401 UNAUTHENTICATED']);
    expect((await client.call('GET', '/api/me')).status).toBe(401);
    const revoked = await audit('session.revoked', 'platform:mfa');
    expect(revoked.some((r) => r.detail.userId === userId && r.detail.reason === 'mfa-failures')).toBe(true);
    const mail = await smtp.next((m) => m.to.includes(email) && /wrong codes/.test(m.subject));
    expect(mail.text).toContain('signed that device out');
    // Growing delays, never a lock: the account is refused for a while (429 with Retry-After).
    const other = new TestClient(fx.api.url, { mobile: true });
    const { challenge } = await passwordStep(email, other);
    const sixth = await other.call('POST', '/api/auth/mfa/verify', {
      challenge,
      method: 'backup_code',
      code: 'AAAAA-AAAAA',
    });
    expect(sixth.body.code).toBe('MFA_VERIFICATION_FAILED');
    const blocked = await other.call('POST', '/api/auth/mfa/verify', {
      challenge,
      method: 'backup_code',
      code: 'AAAAA-AAAAA',
    });
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe('RATE_LIMITED');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(blocked.headers.get('retry-after'))).toBeLessThanOrEqual(300);
    expect((await audit('mfa.rate-limited', `user:${userId}`)).length).toBeGreaterThan(0);
  });

  it('email codes: set up and sign in with codes read from the local SMTP server', async () => {
    const { email, client } = await owner();
    const setup = await client.call('POST', '/api/auth/mfa/setup', { method: 'email' });
    expect(setup.status, JSON.stringify(setup.body)).toBe(200);
    expect(setup.body.sentTo).toBe('m•••@example.com');
    const mail = await smtp.next((m) => m.to.includes(email) && /Your Clutch code/.test(m.subject));
    const code = /\b(\d{6})\b/.exec(mail.text)![1]!;
    expect(mail.text).toContain('confirm this email address');
    expect((await client.call('POST', '/api/auth/mfa/verify', { method: 'email', code })).status).toBe(200);
    expect((await client.call('GET', '/api/auth/mfa')).body.methods).toEqual(['email', 'backup_code']);

    const phone = new TestClient(fx.api.url, { mobile: true });
    const { challenge, methods } = await passwordStep(email, phone);
    expect(methods).toEqual(['email', 'backup_code']);
    const sent = await phone.call('POST', '/api/auth/mfa/challenge', { challenge, method: 'email' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const loginMail = await smtp.next((m) => m.to.includes(email) && /finish signing in/.test(m.text));
    const loginCode = /\b(\d{6})\b/.exec(loginMail.text)![1]!;
    expect(
      (await phone.call('POST', '/api/auth/mfa/verify', { challenge, method: 'email', code: loginCode })).status,
    ).toBe(200);
    // Single use.
    const second = await passwordStep(email, new TestClient(fx.api.url, { mobile: true }));
    expect(
      (
        await phone.call('POST', '/api/auth/mfa/verify', {
          challenge: second.challenge,
          method: 'email',
          code: loginCode,
        })
      ).status,
    ).toBe(401);
  });

  it('SMS codes through the Twilio SDK against a local server speaking Twilio’s wire format', async () => {
    const { email, client } = await owner();
    const bad = await client.call('POST', '/api/auth/mfa/setup', { method: 'sms', phone: '07700 900123' });
    expect(bad.status).toBe(400);
    const setup = await client.call('POST', '/api/auth/mfa/setup', { method: 'sms', phone: '+447700900123' });
    expect(setup.status, JSON.stringify(setup.body)).toBe(200);
    expect(setup.body.sentTo).toBe('+44•••0123');
    const text = twilio.messages.at(-1)!;
    expect(text).toMatchObject({ to: '+447700900123', from: '+15005550006' });
    const code = /\b(\d{6})\b/.exec(text.body)![1]!;
    expect((await client.call('POST', '/api/auth/mfa/verify', { method: 'sms', code })).status).toBe(200);

    const phone = new TestClient(fx.api.url, { mobile: true });
    const { challenge } = await passwordStep(email, phone);
    expect((await phone.call('POST', '/api/auth/mfa/challenge', { challenge, method: 'sms' })).status).toBe(200);
    const loginCode = /\b(\d{6})\b/.exec(twilio.messages.at(-1)!.body)![1]!;
    expect(
      (await phone.call('POST', '/api/auth/mfa/verify', { challenge, method: 'sms', code: loginCode })).status,
    ).toBe(200);
    expect((await audit('mfa.code-sent')).some((r) => r.target === 'sms')).toBe(true);

    // The provider refusing the number: 502 MFA_DELIVERY_FAILED.
    const other = await owner();
    twilio.failNext(400, 21211, "Invalid 'To' Phone Number");
    const refused = await other.client.call('POST', '/api/auth/mfa/setup', { method: 'sms', phone: '+15550000000' });
    expect(refused.status).toBe(502);
    expect(refused.body.code).toBe('MFA_DELIVERY_FAILED');
  });

  it('passkeys: registration and sign-in with a WebAuthn authenticator, the assertion single use', async () => {
    const { email, client } = await owner();
    const authenticator = createSoftAuthenticator();
    const setup = await client.call('POST', '/api/auth/mfa/setup', { method: 'webauthn' });
    expect(setup.status, JSON.stringify(setup.body)).toBe(200);
    const creation = setup.body.options as Parameters<typeof authenticator.register>[0];
    expect(creation.rp).toEqual({ name: 'Clutch', id: 'localhost' });
    const registered = await client.call('POST', '/api/auth/mfa/verify', {
      method: 'webauthn',
      response: authenticator.register(creation, ORIGIN),
      name: 'Laptop',
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(200);
    expect(registered.body).toMatchObject({ completed: 'setup', method: 'webauthn' });
    const status = await client.call('GET', '/api/auth/mfa');
    expect(status.body.passkeys).toEqual([expect.objectContaining({ id: authenticator.credentialId, name: 'Laptop' })]);

    const browser = new TestClient(fx.api.url, { mobile: true });
    const { challenge, methods } = await passwordStep(email, browser);
    expect(methods).toEqual(['webauthn', 'backup_code']);
    const options = await browser.call('POST', '/api/auth/mfa/challenge', { challenge, method: 'webauthn' });
    expect(options.status).toBe(200);
    const assertion = authenticator.authenticate(
      options.body.options as Parameters<typeof authenticator.authenticate>[0],
      ORIGIN,
    );
    const signedIn = await browser.call('POST', '/api/auth/mfa/verify', {
      challenge,
      method: 'webauthn',
      response: assertion,
    });
    expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);

    const next = await passwordStep(email, new TestClient(fx.api.url, { mobile: true }));
    const replay = await browser.call('POST', '/api/auth/mfa/verify', {
      challenge: next.challenge,
      method: 'webauthn',
      response: assertion,
    });
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('MFA_VERIFICATION_FAILED');
  });

  it('browser sessions: setup and step-up by cookie, with the CSRF header', async () => {
    const { client } = await owner({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0' });
    expect(client.accessToken).toBeUndefined();
    const noCsrf = await client.call('POST', '/api/auth/mfa/setup', { method: 'totp' }, { csrf: false });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.code).toBe('CSRF_TOKEN_MISSING');
    const { backupCodes } = await enrolTotp(client);
    expect(backupCodes).toHaveLength(10);
    expect((await client.call('GET', '/api/auth/mfa')).body.methods).toEqual(['totp', 'backup_code']);
  });

  it('refuses MFA routes to the admin token and API keys, and anonymous callers without a challenge', async () => {
    const admin = { bearer: 'admin-token-for-mfa-tests' };
    const status = await new TestClient(fx.api.url).call('GET', '/api/auth/mfa', undefined, admin);
    expect(status.body).toMatchObject({ methods: [], factors: [] });
    const setup = await new TestClient(fx.api.url).call('POST', '/api/auth/mfa/setup', { method: 'totp' }, admin);
    expect(setup.status).toBe(403);
    expect(setup.body.code).toBe('FORBIDDEN');
    const codes = await new TestClient(fx.api.url).call('GET', '/api/auth/mfa/backup-codes', undefined, admin);
    expect(codes.body.code).toBe('MFA_NOT_ENROLLED');
    const anonymous = await new TestClient(fx.api.url).call('POST', '/api/auth/mfa/verify', {
      method: 'totp',
      code: '123456',
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('UNAUTHENTICATED');
  });
});
