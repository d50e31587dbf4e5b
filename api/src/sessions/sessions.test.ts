import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startFixture, type Fixture } from '../test-fixtures.js';
import { TestClient } from './test-client.js';

const PASSWORD = 'correct horse battery staple';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const CHROME_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

async function audit(
  fx: Fixture,
  action: string,
): Promise<{ target: string | null; detail: Record<string, unknown> }[]> {
  const { rows } = await fx.db.query<{ target: string | null; detail: Record<string, unknown> }>(
    'SELECT target, detail FROM audit_log WHERE action = $1 ORDER BY id',
    [action],
  );
  return rows;
}

describe.each(backends('api_sessions'))('sessions over REST on %s', (_name, open) => {
  let fx: Fixture;
  let n = 0;

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      adminToken: 'admin-token-for-session-tests',
      identity: { sessionPolicy: { maxSessions: { consumer: 3, partner: 2, platform: 1 }, reuseGraceSeconds: 10 } },
      ...(open ? { open } : {}),
    });
  });
  afterAll(async () => fx?.close());

  /** A fresh owner account; returns its address. */
  async function owner(): Promise<string> {
    const email = `owner${++n}@example.com`;
    const res = await new TestClient(fx.api.url).call('POST', '/api/auth/register', {
      email,
      password: PASSWORD,
      displayName: 'O',
    });
    expect(res.status).toBe(202);
    return email;
  }
  async function signIn(email: string, options: ConstructorParameters<typeof TestClient>[1] = {}): Promise<TestClient> {
    const c = new TestClient(fx.api.url, options);
    const res = await c.call('POST', '/api/auth/login', {
      email,
      password: PASSWORD,
      deviceName: options.deviceId ?? 'laptop',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return c;
  }

  it('publishes the verification keys as a JWK Set', async () => {
    const res = await new TestClient(fx.api.url).call('GET', '/api/.well-known/jwks.json');
    expect(res.status).toBe(200);
    const keys = res.body.keys as { kty: string; crv: string; alg: string; d?: string }[];
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    expect(keys.every((k) => k.d === undefined)).toBe(true);
  });

  it('rotates a mobile refresh token on each refresh, and a reused one revokes the whole family and mails nobody else', async () => {
    const email = await owner();
    const phone = await signIn(email, { mobile: true, deviceId: 'pixel-7' });
    const first = phone.refreshToken!;
    const refreshed = await phone.call('POST', '/api/sessions/refresh', { refreshToken: first });
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    const second = refreshed.body.refreshToken as string;
    expect(second).toMatch(/^crt_/);
    expect(second).not.toBe(first);
    expect((await phone.call('GET', '/api/me')).status).toBe(200);

    // A third refresh from the second token, then the FIRST token again (long replaced): reuse.
    const third = await phone.call('POST', '/api/sessions/refresh', { refreshToken: second });
    expect(third.status).toBe(200);
    const replay = await phone.call('POST', '/api/sessions/refresh', { refreshToken: first });
    expect(replay.status).toBe(401);
    // The family is gone: the newest token and the access token stop working.
    expect((await phone.call('POST', '/api/sessions/refresh', { refreshToken: third.body.refreshToken })).status).toBe(
      401,
    );
    await expect.poll(async () => (await phone.call('GET', '/api/me')).status).toBe(401);
    const family = await audit(fx, 'session.family-revoked');
    expect(family.at(-1)!.target).toBe((refreshed.body.session as { id: string }).id);
  });

  it('tolerates the immediate parent for a concurrent refresh from the same device (an access token, no new refresh token)', async () => {
    const phone = await signIn(await owner(), { mobile: true, deviceId: 'ipad' });
    const token = phone.refreshToken!;
    const [a, b] = await Promise.all([
      phone.call('POST', '/api/sessions/refresh', { refreshToken: token }),
      phone.call('POST', '/api/sessions/refresh', { refreshToken: token }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const issued = [a.body.refreshToken, b.body.refreshToken].filter((t) => t !== undefined);
    expect(issued).toHaveLength(1);
    expect(typeof a.body.accessToken).toBe('string');
    expect(typeof b.body.accessToken).toBe('string');
    // The one new token keeps working.
    expect((await phone.call('POST', '/api/sessions/refresh', { refreshToken: issued[0] })).status).toBe(200);
  });

  it('revokes the session when its refresh token comes from another device', async () => {
    const phone = await signIn(await owner(), { mobile: true, deviceId: 'phone-a' });
    const thief = new TestClient(fx.api.url, { mobile: true, deviceId: 'phone-b' });
    expect((await thief.call('POST', '/api/sessions/refresh', { refreshToken: phone.refreshToken })).status).toBe(401);
    expect((await phone.call('POST', '/api/sessions/refresh', { refreshToken: phone.refreshToken })).status).toBe(401);
    const revoked = await audit(fx, 'session.revoked');
    expect(revoked.some((r) => r.detail.reason === 'foreign-device')).toBe(true);
  });

  it('refreshes a browser session by cookie only with the CSRF header, and survives a browser update', async () => {
    const browser = await signIn(await owner(), { userAgent: FIREFOX });
    const oldRefresh = browser.jar.get('clutch_refresh');
    const noCsrf = await browser.call('POST', '/api/sessions/refresh', undefined, { csrf: false });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.code).toBe('CSRF_TOKEN_MISSING');
    const updated = new TestClient(fx.api.url, { userAgent: FIREFOX.replaceAll('128.0', '129.0') });
    for (const [k, v] of browser.jar) updated.jar.set(k, v);
    const ok = await updated.call('POST', '/api/sessions/refresh');
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(updated.jar.get('clutch_refresh')).not.toBe(oldRefresh);
    expect((await updated.call('GET', '/api/me')).status).toBe(200);
  });

  it('refuses a state-changing request signed in by cookie without the CSRF header', async () => {
    const browser = await signIn(await owner());
    const res = await browser.call('POST', '/api/sessions/logout-all', { exceptCurrent: true }, { csrf: false });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('CSRF_TOKEN_MISSING');
    expect((await browser.call('POST', '/api/sessions/logout-all', { exceptCurrent: true })).status).toBe(200);
  });

  it('pages the session list with a cursor, newest sign-in first', async () => {
    const email = await owner();
    const first = await signIn(email, { userAgent: FIREFOX });
    const second = await signIn(email, { userAgent: CHROME_MAC });
    const third = await signIn(email, { mobile: true, deviceId: 'tablet' });
    const idOf = async (c: TestClient): Promise<string> =>
      ((await c.call('GET', '/api/me')).body.session as { id: string }).id;
    const ids = [await idOf(third), await idOf(second), await idOf(first)];

    const one = await first.call('GET', '/api/sessions?limit=2');
    expect(one.status).toBe(200);
    const page1 = one.body.sessions as { id: string; current: boolean }[];
    expect(page1.map((s) => s.id)).toEqual(ids.slice(0, 2));
    expect(typeof one.body.next).toBe('string');
    const two = await first.call('GET', `/api/sessions?limit=2&cursor=${one.body.next as string}`);
    expect((two.body.sessions as { id: string; current: boolean }[]).map((s) => [s.id, s.current])).toEqual([
      [ids[2], true],
    ]);
    expect(two.body.next).toBeNull();
    // A refresh while paging moves nothing: the order is by sign-in.
    expect((await second.call('POST', '/api/sessions/refresh', {})).status).toBe(200);
    const again = await first.call('GET', `/api/sessions?limit=2&cursor=${one.body.next as string}`);
    expect((again.body.sessions as { id: string }[]).map((s) => s.id)).toEqual([ids[2]]);

    const bad = await first.call('GET', '/api/sessions?cursor=bm90LWEtY3Vyc29y');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    expect((await first.call('GET', '/api/sessions?limit=0')).status).toBe(400);
  });

  it('lists, revokes one, and signs out other devices; a revoked session stops at once', async () => {
    const email = await owner();
    const laptop = await signIn(email, { userAgent: FIREFOX });
    const mac = await signIn(email, { userAgent: CHROME_MAC });
    const phone = await signIn(email, { mobile: true, deviceId: 'phone' });
    const listed = await laptop.call('GET', '/api/sessions');
    const sessions = listed.body.sessions as { id: string; current: boolean; device: string | null; client: string }[];
    expect(sessions).toHaveLength(3);
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    expect(sessions.map((s) => s.device)).toEqual(expect.arrayContaining(['Firefox on Linux', 'Chrome on macOS']));

    const macId = ((await mac.call('GET', '/api/me')).body.session as { id: string }).id;
    expect((await laptop.call('DELETE', `/api/sessions/${macId}`)).status).toBe(204);
    expect((await mac.call('GET', '/api/me')).status).toBe(401);
    expect((await laptop.call('DELETE', `/api/sessions/${macId}`)).status).toBe(404);

    const others = await laptop.call('POST', '/api/sessions/logout-all', { exceptCurrent: true });
    expect(others.body).toEqual({ revoked: 1 });
    expect((await phone.call('GET', '/api/me')).status).toBe(401);
    expect((await laptop.call('GET', '/api/me')).status).toBe(200);

    const everywhere = await laptop.call('POST', '/api/sessions/logout-all', { exceptCurrent: false });
    expect(everywhere.body).toEqual({ revoked: 1 });
    expect((await laptop.call('GET', '/api/me')).status).toBe(401);
  });

  it("cannot revoke another user's session", async () => {
    const alice = await signIn(await owner());
    const bob = await signIn(await owner());
    const bobSession = ((await bob.call('GET', '/api/me')).body.session as { id: string }).id;
    expect((await alice.call('DELETE', `/api/sessions/${bobSession}`)).status).toBe(404);
    expect((await bob.call('GET', '/api/me')).status).toBe(200);
  });

  it('evicts the oldest session beyond the per-role limit, audited', async () => {
    const email = await owner();
    const clients = [];
    for (let i = 0; i < 4; i++) clients.push(await signIn(email, { mobile: true, deviceId: `device-${i}` }));
    expect((await clients[0]!.call('GET', '/api/me')).status).toBe(401);
    for (const c of clients.slice(1)) expect((await c.call('GET', '/api/me')).status).toBe(200);
    const evicted = await audit(fx, 'session.evicted');
    expect(evicted.at(-1)!.detail).toMatchObject({ reason: 'evicted', deviceName: 'device-0' });
  });

  it('logs out: the session ends and the cookies are cleared', async () => {
    const browser = await signIn(await owner());
    const out = await browser.call('POST', '/api/auth/logout');
    expect(out.status).toBe(204);
    expect(browser.jar.has('clutch_access')).toBe(false);
    expect((await browser.call('GET', '/api/me')).status).toBe(401);
    expect((await audit(fx, 'auth.logout')).length).toBeGreaterThan(0);
  });

  it('refuses a tampered access token', async () => {
    const phone = await signIn(await owner(), { mobile: true, deviceId: 'x' });
    const [h, p, s] = phone.accessToken!.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, tid: 'acme' })).toString('base64url')}.${s}`;
    expect((await phone.call('GET', '/api/me', undefined, { bearer: forged })).status).toBe(401);
  });
});
