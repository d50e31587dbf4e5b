/** Token bucket: `ratePerSecond` sustained, `burst` at once. `now` is injectable for tests. */
export interface TokenBucket {
  take(cost?: number): boolean;
}

export function createTokenBucket(ratePerSecond: number, burst: number, now: () => number = performance.now.bind(performance)): TokenBucket {
  let tokens = burst;
  let last = now();
  return {
    take(cost = 1) {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * ratePerSecond);
      last = t;
      if (tokens < cost) return false;
      tokens -= cost;
      return true;
    },
  };
}
