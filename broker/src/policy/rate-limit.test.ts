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
});
