import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { addressKey, createLoginLimiter } from './login-limiter.js';

describe('login limiter (memory)', () => {
  // The memory store reads Date.now() and expires keys with setTimeout: fake time drives both.
  beforeEach(() => vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  it('lets the free failures through, then blocks for a doubling time up to the cap', async () => {
    const limiter = createLoginLimiter({ username: { freeFailures: 2, baseBlockSeconds: 1, maxBlockSeconds: 4 } });
    const key = { username: 'acme/pi-1' };
    await limiter.failed(key);
    await limiter.failed(key);
    expect(await limiter.check(key)).toEqual({ allowed: true });
    const blocks: number[] = [];
    for (let i = 0; i < 4; i++) {
      await limiter.failed(key);
      const verdict = await limiter.check(key);
      if (verdict.allowed) throw new Error('expected a block');
      blocks.push(verdict.retryAfterMs);
      vi.advanceTimersByTime(verdict.retryAfterMs);
      expect(await limiter.check(key)).toEqual({ allowed: true });
    }
    expect(blocks).toEqual([1000, 2000, 4000, 4000]);
  });

  it("forgets a username's failures after a success, but not the address's", async () => {
    const limiter = createLoginLimiter({ username: { freeFailures: 1 }, ip: { freeFailures: 2 } });
    const key = { username: 'admin', ip: '203.0.113.9' };
    await limiter.failed(key);
    await limiter.failed(key);
    expect((await limiter.check({ username: 'admin' })).allowed).toBe(false);
    vi.advanceTimersByTime(2000);
    await limiter.succeeded(key);
    await limiter.failed(key); // the username starts again from zero; the address is at 3
    expect(await limiter.check({ username: 'admin' })).toEqual({ allowed: true });
    expect(await limiter.check({ ip: '203.0.113.9' })).toMatchObject({ allowed: false });
    expect(await limiter.check({ ip: '203.0.113.10' })).toEqual({ allowed: true });
  });

  it('blocks a key when either its username or its address is blocked', async () => {
    const limiter = createLoginLimiter({ ip: { freeFailures: 0 } });
    await limiter.failed({ username: 'a/1', ip: '10.0.0.1' });
    expect(await limiter.check({ username: 'b/2', ip: '10.0.0.1' })).toEqual({ allowed: false, retryAfterMs: 1000 });
    expect(await limiter.check({ username: 'a/1', ip: '10.0.0.2' })).toEqual({ allowed: true });
  });

  it('forgets failures after the window', async () => {
    const limiter = createLoginLimiter({ username: { freeFailures: 1, windowSeconds: 60 } });
    await limiter.failed({ username: 'x/y' });
    vi.advanceTimersByTime(61_000);
    await limiter.failed({ username: 'x/y' });
    expect(await limiter.check({ username: 'x/y' })).toEqual({ allowed: true });
  });

  it('counts long usernames by digest', async () => {
    const limiter = createLoginLimiter({ username: { freeFailures: 0 } });
    await limiter.failed({ username: 'u'.repeat(60_000) });
    expect((await limiter.check({ username: 'u'.repeat(60_000) })).allowed).toBe(false);
    expect((await limiter.check({ username: 'u'.repeat(59_999) })).allowed).toBe(true);
  });
});

describe('addressKey', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:0db8:0000:0002::', '2001:db8:0:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('%s -> %s', (ip, key) => {
    expect(addressKey(ip)).toBe(key);
  });
});
