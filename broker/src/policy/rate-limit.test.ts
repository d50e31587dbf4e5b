import { describe, expect, it } from 'vitest';
import { createTokenBucket } from './rate-limit.js';

describe('token bucket', () => {
  it('allows the burst, then the sustained rate', () => {
    let now = 0;
    const bucket = createTokenBucket(10, 3, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    now += 100; // 0.1 s at 10/s = 1 token
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
    now += 10_000; // refills only up to the burst
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
  });

  it('reserves into debt with the wait a client must be held back, and refuses beyond the limit', () => {
    let now = 0;
    const bucket = createTokenBucket(10, 2, () => now);
    expect([bucket.reserve(1000), bucket.reserve(1000)]).toEqual([0, 0]);
    expect(bucket.reserve(1000)).toBeCloseTo(100); // one token at 10/s
    expect(bucket.reserve(1000)).toBeCloseTo(200);
    expect(bucket.reserve(250)).toBe(Number.POSITIVE_INFINITY); // 300 ms of debt is over the limit
    now += 200;
    expect(bucket.reserve(1000)).toBeCloseTo(100);
  });
});
