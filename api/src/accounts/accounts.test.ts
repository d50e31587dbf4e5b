import { smtpMailer, type Mailer } from '@clutch/identity';
import { startTestSmtp, type TestSmtpServer } from '@clutch/identity/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startFixture, TENANT, type Fixture } from '../test-fixtures.js';
import { linkIn, TestClient, tokenOf } from '../sessions/test-client.js';

const ADMIN = 'admin-token-for-account-tests';
const GOOD_PASSWORD = 'correct horse battery staple';

async function auditActions(
  fx: Fixture,
  action: string,
): Promise<{ actor: string; target: string | null; outcome: string }[]> {
  const { rows } = await fx.db.query<{ actor: string; target: string | null; outcome: string }>(
    'SELECT actor, target, outcome FROM audit_log WHERE action = $1 ORDER BY id',
    [action],
  );
  return rows;
}

describe.each(backends('api_accounts'))('accounts over REST on %s', (_name, open) => {
  let fx: Fixture;
  let smtp: TestSmtpServer;
  let mailer: Mailer & { close(): void };
  const client = (options: ConstructorParameters<typeof TestClient>[1] = {}) => new TestClient(fx.api.url, options);

  beforeAll(async () => {
    smtp = await startTestSmtp();
    mailer = smtpMailer({ url: smtp.url, from: 'Clutch <no-reply@clutch.test>' });
    fx = await startFixture({
      requireAuth: true,
      adminToken: ADMIN,
      identity: { mailer, signInLimits: { username: { freeFailures: 3 }, ip: { freeFailures: 1000 } } },
      ...(open ? { open } : {}),
    });
  });
  afterAll(async () => {
    await fx?.close();
    mailer?.close();
    await smtp?.close();
  });

  const mailTo = (to: string, subject: RegExp) => smtp.next((m) => m.to.includes(to) && subject.test(m.subject));

  it('signs an owner up, mails a verification link that works once, and signs them in', async () => {
    const browser = client();
    const reg = await browser.call('POST', '/api/auth/register', {
      email: 'Olivia@Example.com',
      password: GOOD_PASSWORD,
      displayName: 'Olivia',
    });
    expect(reg.status).toBe(202);
    const mail = await mailTo('olivia@example.com', /Confirm your email/);
    expect(mail.text).toContain('Hello Olivia,');
    const token = tokenOf(linkIn(mail.text), 'verify');
    expect((await browser.call('POST', '/api/auth/verify-email', { token })).status).toBe(204);
    const again = await browser.call('POST', '/api/auth/verify-email', { token });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe('ACCOUNT_TOKEN_INVALID');

    const login = await browser.call('POST', '/api/auth/login', {
      email: 'olivia@example.com',
      password: GOOD_PASSWORD,
    });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    expect(login.body.accessToken).toBeUndefined();
    const access = login.cookies.find((c) => c.startsWith('clutch_access='))!;
    expect(access).toMatch(/httponly/i);
    expect(access).toMatch(/samesite=strict/i);
    expect(login.cookies.find((c) => c.startsWith('clutch_refresh='))).toMatch(/httponly/i);
    expect(login.cookies.find((c) => c.startsWith('clutch_csrf='))).not.toMatch(/httponly/i);

    const me = await browser.call('GET', '/api/me');
    expect(me.status, JSON.stringify(me.body)).toBe(200);
    expect(me.body.user).toMatchObject({ email: 'olivia@example.com', tenantId: 'consumers', emailVerified: true });
    expect(await auditActions(fx, 'account.email-verified')).toHaveLength(1);
    expect((await auditActions(fx, 'auth.login')).at(-1)).toMatchObject({ outcome: 'success' });
  });

  it('answers a sign-up for a taken address exactly like a new one, and tells the mailbox instead', async () => {
    const first = await client().call('POST', '/api/auth/register', {
      email: 'taken@example.com',
      password: GOOD_PASSWORD,
      displayName: 'First',
    });
    await mailTo('taken@example.com', /Confirm your email/);
    const second = await client().call('POST', '/api/auth/register', {
      email: 'TAKEN@example.com',
      password: 'another long passphrase here',
      displayName: 'Second',
    });
    expect(second.status).toBe(first.status);
    expect(second.body).toEqual(first.body);
    await mailTo('taken@example.com', /already have a Clutch account/);
    const { rows } = await fx.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM users WHERE email = 'taken@example.com'",
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('refuses short and common passwords with the reason', async () => {
    const short = await client().call('POST', '/api/auth/register', {
      email: 'p1@example.com',
      password: 'short',
      displayName: 'P',
    });
    expect(short.status).toBe(422);
    expect(short.body).toMatchObject({ code: 'PASSWORD_REJECTED', reason: 'too-short' });
    const common = await client().call('POST', '/api/auth/register', {
      email: 'p2@example.com',
      password: 'password1234',
      displayName: 'P',
    });
    expect(common.body).toMatchObject({ code: 'PASSWORD_REJECTED', reason: 'common' });
  });

  it('fails every wrong sign-in with one generic 401 and audits it', async () => {
    await client().call('POST', '/api/auth/register', {
      email: 'gen@example.com',
      password: GOOD_PASSWORD,
      displayName: 'G',
    });
    const wrongPassword = await client().call('POST', '/api/auth/login', {
      email: 'gen@example.com',
      password: 'not the password at all',
    });
    const unknown = await client().call('POST', '/api/auth/login', {
      email: 'nobody@example.com',
      password: 'not the password at all',
    });
    expect(wrongPassword.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = (b: Record<string, unknown>) => ({ ...b, instance: undefined });
    expect(strip(wrongPassword.body)).toEqual(strip(unknown.body));
    const failed = await auditActions(fx, 'auth.login.failed');
    expect(failed.map((r) => r.target)).toEqual(expect.arrayContaining(['gen@example.com', 'nobody@example.com']));
    expect(failed.every((r) => r.outcome === 'failure')).toBe(true);
  });

  it('slows down repeated failures for one account with 429, and a later right password still works', async () => {
    await client().call('POST', '/api/auth/register', {
      email: 'slow@example.com',
      password: GOOD_PASSWORD,
      displayName: 'S',
    });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push(
        (await client().call('POST', '/api/auth/login', { email: 'slow@example.com', password: `wrong guess ${i} xx` }))
          .status,
      );
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.slice(3)).toContain(429);
    const blocked = await client().call('POST', '/api/auth/login', {
      email: 'slow@example.com',
      password: GOOD_PASSWORD,
    });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('resets a forgotten password by mail, signs out every device, and answers unknown addresses the same', async () => {
    const phone = client({ mobile: true, deviceId: 'phone-1' });
    await phone.call('POST', '/api/auth/register', {
      email: 'reset@example.com',
      password: GOOD_PASSWORD,
      displayName: 'R',
    });
    const signedIn = await phone.call('POST', '/api/auth/login', {
      email: 'reset@example.com',
      password: GOOD_PASSWORD,
    });
    expect(signedIn.status).toBe(200);
    expect((await phone.call('GET', '/api/me')).status).toBe(200);

    const known = await client().call('POST', '/api/auth/password/forgot', { email: 'reset@example.com' });
    const unknown = await client().call('POST', '/api/auth/password/forgot', { email: 'ghost@example.com' });
    expect(known.status).toBe(202);
    expect(unknown.body).toEqual(known.body);
    await mailTo('ghost@example.com', /Password reset requested/);
    const mail = await mailTo('reset@example.com', /Choose a new password/);
    const token = tokenOf(linkIn(mail.text), 'reset');

    const weak = await client().call('POST', '/api/auth/password/reset', { token, password: 'qwertyuiop123' });
    expect(weak.body.code).toBe('PASSWORD_REJECTED');
    const done = await client().call('POST', '/api/auth/password/reset', { token, password: 'a brand new passphrase' });
    expect(done.status).toBe(204);
    expect(
      (await client().call('POST', '/api/auth/password/reset', { token, password: 'yet another passphrase' })).status,
    ).toBe(400);
    await mailTo('reset@example.com', /password was changed/);

    // The phone's session ended with the reset: its access token stops working.
    await expect.poll(async () => (await phone.call('GET', '/api/me')).status).toBe(401);
    expect(
      (await client().call('POST', '/api/auth/login', { email: 'reset@example.com', password: GOOD_PASSWORD })).status,
    ).toBe(401);
    expect(
      (
        await client().call('POST', '/api/auth/login', {
          email: 'reset@example.com',
          password: 'a brand new passphrase',
        })
      ).status,
    ).toBe(200);
  });

  it('lets an administrator invite partner staff, who set a password from the mail and are signed in', async () => {
    const admin = client();
    const invited = await admin.call(
      'POST',
      '/api/users/invitations',
      { email: 'tech@acme.example', displayName: 'Tess Tech', tenantId: TENANT },
      { bearer: ADMIN },
    );
    expect(invited.status, JSON.stringify(invited.body)).toBe(201);
    expect(invited.body.status).toBe('invited');
    const again = await admin.call(
      'POST',
      '/api/users/invitations',
      { email: 'tech@acme.example', displayName: 'Tess Tech', tenantId: TENANT },
      { bearer: ADMIN, headers: { 'idempotency-key': 'another-one' } },
    );
    expect(again.body.code).toBe('EMAIL_TAKEN');
    // Invited, no password yet: signing in fails like any wrong password.
    expect(
      (await client().call('POST', '/api/auth/login', { email: 'tech@acme.example', password: GOOD_PASSWORD })).status,
    ).toBe(401);
    const mail = await mailTo('tech@acme.example', /invited to Acme Motors/);
    const tess = client();
    const accepted = await tess.call('POST', '/api/auth/invitations/accept', {
      token: tokenOf(linkIn(mail.text), 'invitation'),
      password: GOOD_PASSWORD,
    });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    const me = await tess.call('GET', '/api/me');
    expect(me.body.user).toMatchObject({ email: 'tech@acme.example', tenantId: TENANT, emailVerified: true });
    expect((await auditActions(fx, 'user.invite')).length).toBe(1);
  });

  it('refuses invitations by anyone but an administrator, and into the consumer tenant', async () => {
    const owner = client();
    await owner.call('POST', '/api/auth/register', {
      email: 'nosy@example.com',
      password: GOOD_PASSWORD,
      displayName: 'N',
    });
    await owner.call('POST', '/api/auth/login', { email: 'nosy@example.com', password: GOOD_PASSWORD });
    const byOwner = await owner.call('POST', '/api/users/invitations', {
      email: 'x@acme.example',
      displayName: 'X',
      tenantId: TENANT,
    });
    expect(byOwner.status).toBe(403);
    const consumer = await client().call(
      'POST',
      '/api/users/invitations',
      { email: 'y@example.com', displayName: 'Y', tenantId: 'consumers' },
      { bearer: ADMIN },
    );
    expect(consumer.status).toBe(400);
  });
});
