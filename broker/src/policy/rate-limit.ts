/**
 * Token bucket: `ratePerSecond` sustained, `burst` at once. `now` is injectable for tests.
 * `reserve()` lets a caller go into debt and tells it how long to wait: the broker delays the
 * PUBACK of a fast publisher (backpressure) instead of disconnecting it, which would only make it
 * reconnect and resend everything.
 */
export interface TokenBucket {
  take(cost?: number): boolean;
  /** Milliseconds to wait before the reserved token is earned; Infinity (nothing reserved) when the debt would exceed maxWaitMs. */
  reserve(maxWaitMs: number): number;
}

export function createTokenBucket(
  ratePerSecond: number,
  burst: number,
  now: () => number = performance.now.bind(performance),
): TokenBucket {
  let tokens = burst;
  let last = now();
  const refill = (): void => {
    const t = now();
    tokens = Math.min(burst, tokens + ((t - last) / 1000) * ratePerSecond);
    last = t;
  };
  return {
    take(cost = 1) {
      refill();
      if (tokens < cost) return false;
      tokens -= cost;
      return true;
    },
    reserve(maxWaitMs) {
      refill();
      const after = tokens - 1;
      const waitMs = after >= 0 ? 0 : (-after / ratePerSecond) * 1000;
      if (waitMs > maxWaitMs) return Number.POSITIVE_INFINITY;
      tokens = after;
      return waitMs;
    },
  };
}
