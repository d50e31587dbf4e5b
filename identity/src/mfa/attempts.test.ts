import { describe, expect, it } from 'vitest';
import { createMfaAttemptGuard } from './attempts.js';

describe('MFA attempt guard', () => {
  it('lets a few wrong codes through, then delays the account with growing blocks, never for good', async () => {
    const guard = createMfaAttemptGuard({ account: { freeFailures: 3, baseBlockSeconds: 60, maxBlockSeconds: 240 } });
    const key = { userId: 'u1', ip: '203.0.113.5' };
    for (let i = 0; i < 3; i++) {
      expect(await guard.check(key)).toEqual({ allowed: true });
      await guard.failed(key);
    }
    expect(await guard.check(key)).toEqual({ allowed: true });
    await guard.failed(key); // the fourth: a 60 s block
    const first = await guard.check(key);
    expect(first.allowed).toBe(false);
    const firstWait = (first as { retryAfterMs: number }).retryAfterMs;
    expect(firstWait).toBeLessThanOrEqual(60_000);
    await guard.failed(key); // the fifth: doubled
    const second = (await guard.check(key)) as { allowed: false; retryAfterMs: number };
    expect(second.retryAfterMs).toBeGreaterThan(firstWait);
    for (let i = 0; i < 10; i++) await guard.failed(key);
    // Capped: an attacker who knows the password cannot lock the owner out beyond the cap.
    expect(((await guard.check(key)) as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(240_000);
    // Other accounts from other addresses are unaffected.
    expect(await guard.check({ userId: 'u2', ip: '198.51.100.7' })).toEqual({ allowed: true });
  });

  it('a right code forgets the account’s failures', async () => {
    const guard = createMfaAttemptGuard({ account: { freeFailures: 2, baseBlockSeconds: 60 } });
    const key = { userId: 'u3' };
    await guard.failed(key);
    await guard.failed(key);
    await guard.succeeded(key);
    await guard.failed(key);
    await guard.failed(key);
    expect(await guard.check(key)).toEqual({ allowed: true });
  });

  it('asks for the session to be revoked at the burst threshold of wrong codes on it', async () => {
    const guard = createMfaAttemptGuard({ burstFailures: 3, account: { freeFailures: 100 } });
    const results: boolean[] = [];
    for (let i = 0; i < 3; i++) results.push((await guard.failed({ userId: 'u4', sessionId: 's1' })).revokeSession);
    expect(results).toEqual([false, false, true]);
    // Failures outside a session (a sign-in in progress) never ask for a revocation.
    expect((await guard.failed({ userId: 'u4' })).revokeSession).toBe(false);
    expect((await guard.failed({ userId: 'u4', sessionId: 's2' })).revokeSession).toBe(false);
  });
});
