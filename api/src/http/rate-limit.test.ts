import { createApiKey } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startFixture, TENANT, type Fixture, type Reply } from '../test-fixtures.js';

const ADMIN = 'admin-token-for-rate-limit-tests-01';

function expectLimited(res: Reply, policy: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  expect(res.type).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ code: 'RATE_LIMITED', policy });
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(res.body.retryAfterSeconds).toBe(retryAfter);
}

describe('REST rate limits (finding 12.5)', () => {
  let fx: Fixture;
  // Behind a (trusted) proxy, so each test can come from an address of its own.
  const from = (ip: string): { 'x-forwarded-for': string } => ({ 'x-forwarded-for': ip });

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      adminToken: ADMIN,
      trustProxy: true,
      rateLimit: {
        perPrincipal: 3,
        perIp: 8,
        windowSeconds: 60,
        authFailures: { freeFailures: 2, baseBlockSeconds: 1, maxBlockSeconds: 4 },
      },
    });
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('regression 12.5: a partner key past its limit gets 429 problem+json with RateLimit and Retry-After headers', async () => {
    const token = (await createApiKey(fx.db, { tenantId: TENANT, name: 'busy', scopes: ['status:read'] })).token;
    for (let i = 1; i <= 3; i++) {
      const res = await call(fx.api.url, 'GET', '/api/vehicles', { token, headers: from(`198.51.100.${i}`) });
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-policy')).toBe('"ip";q=8;w=60, "principal";q=3;w=60');
      expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^"ip";r=7;t=\\d+, "principal";r=${3 - i};t=\\d+$`));
    }
    // A fourth address does not help: the limit is the key's.
    const refused = await call(fx.api.url, 'GET', '/api/vehicles', { token, headers: from('198.51.100.4') });
    expectLimited(refused, 'principal');
    expect(refused.headers.get('ratelimit')).toMatch(/"principal";r=0;t=\d+$/);
    // Other callers are not affected.
    expect(
      (await call(fx.api.url, 'GET', '/api/vehicles', { token: ADMIN, headers: from('198.51.100.5') })).status,
    ).toBe(200);
  });

  it('limits each address, whoever it claims to be', async () => {
    const ip = from('192.0.2.77');
    for (let i = 0; i < 8; i++)
      expect((await call(fx.api.url, 'GET', '/api/signals', { headers: ip })).status).toBe(200);
    const refused = await call(fx.api.url, 'GET', '/api/signals', { headers: ip });
    expectLimited(refused, 'ip');
    expect(refused.headers.get('ratelimit-policy')).toBe('"ip";q=8;w=60');
    expect((await call(fx.api.url, 'GET', '/api/signals', { headers: from('192.0.2.78') })).status).toBe(200);
  });

  it('regression 12.5: failed bearer tokens from one address are delayed more and more, other addresses are not', async () => {
    const guesser = from('203.0.113.9');
    const guess = (n: number): Promise<Reply> =>
      call(fx.api.url, 'GET', '/api/vehicles', {
        token: `ck_0123456789abcdef_guess${String(n).padStart(16, '0')}`,
        headers: guesser,
      });
    expect((await guess(1)).status).toBe(401);
    expect((await guess(2)).status).toBe(401);
    expect((await guess(3)).status).toBe(401);
    // Blocked now: refused before the token is even looked at, a valid one included.
    expectLimited(await guess(4), 'auth-failures');
    const blocked = await call(fx.api.url, 'GET', '/api/vehicles', { token: ADMIN, headers: guesser });
    expectLimited(blocked, 'auth-failures');
    // A good caller elsewhere is untouched.
    expect(
      (await call(fx.api.url, 'GET', '/api/vehicles', { token: ADMIN, headers: from('203.0.113.10') })).status,
    ).toBe(200);
    // After the delay, one more wrong guess earns a longer one.
    await new Promise((r) => setTimeout(r, Number(blocked.headers.get('retry-after')) * 1000 + 50));
    expect((await guess(5)).status).toBe(401);
    const longer = await guess(6);
    expectLimited(longer, 'auth-failures');
    expect(Number(longer.headers.get('retry-after'))).toBe(2);
  });
});

describe('REST rate limits switched off', () => {
  it('sends no RateLimit fields and never answers 429 (benchmarks)', async () => {
    const fx = await startFixture({ rateLimit: { enabled: false, perIp: 1, perPrincipal: 1 } });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await call(fx.api.url, 'GET', '/api/vehicles');
        expect(res.status).toBe(200);
        expect(res.headers.get('ratelimit')).toBeNull();
      }
    } finally {
      await fx.close();
    }
  });
});
