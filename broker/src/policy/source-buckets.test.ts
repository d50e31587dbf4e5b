import { describe, expect, it } from 'vitest';
import { createSourceBuckets } from './source-buckets.js';

describe('per-source connect buckets', () => {
  it('gives each source its own burst and rate', () => {
    let now = 0;
    const buckets = createSourceBuckets({ ratePerSecond: 10, burst: 2, maxSources: 100 }, () => now);
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a')]).toEqual([true, true, false]);
    expect([buckets.take('b'), buckets.take('b')]).toEqual([true, true]);
    now += 100;
    expect([buckets.take('a'), buckets.take('a')]).toEqual([true, false]);
  });

  it('keeps at most maxSources buckets, evicting the least recently used', () => {
    const now = 0;
    const buckets = createSourceBuckets({ ratePerSecond: 1, burst: 1, maxSources: 2 }, () => now);
    buckets.take('a');
    buckets.take('b');
    expect(buckets.take('a')).toBe(false); // a is now the most recent
    buckets.take('c'); // evicts b
    expect(buckets.size).toBe(2);
    expect(buckets.take('a')).toBe(false); // a was kept, still empty
    expect(buckets.take('b')).toBe(true); // b starts afresh
  });
});
