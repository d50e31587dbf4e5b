import { createTokenBucket, type TokenBucket } from './rate-limit.js';

/**
 * One token bucket per key (a client's source address), in a map of bounded size: when full, the
 * bucket used least recently goes. An evicted source starts again with a full burst, so the bound
 * must be well above the number of sources active within a burst's refill time; at 10,000 entries a
 * bucket is about 200 bytes, 2 MB in all.
 */
export interface SourceBuckets {
  take(key: string): boolean;
  readonly size: number;
}

export function createSourceBuckets(
  options: { ratePerSecond: number; burst: number; maxSources: number },
  now: () => number = performance.now.bind(performance),
): SourceBuckets {
  const buckets = new Map<string, TokenBucket>();
  return {
    take(key) {
      let bucket = buckets.get(key);
      if (bucket) {
        buckets.delete(key); // re-inserted below: Map order is recency order
      } else {
        bucket = createTokenBucket(options.ratePerSecond, options.burst, now);
        if (buckets.size >= options.maxSources) buckets.delete(buckets.keys().next().value!);
      }
      buckets.set(key, bucket);
      return bucket.take();
    },
    get size() {
      return buckets.size;
    },
  };
}
