import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';

/**
 * Failed-login limiter: counts failed authentications per username and per source address and,
 * past a number of free failures, blocks that username or address for a time that doubles with
 * every further failure, up to a cap.
 *
 * Generic on purpose: the MQTT broker uses it for CONNECT (devices, `apikey`, `admin`), and any other
 * front door (REST bearer tokens, Socket.io handshakes) can use the same instance so that guesses are
 * counted once whichever door they come through. The protocol:
 *
 *   1. `check(key)` before looking at the credential at all; when not allowed, refuse without a
 *      database lookup and tell the caller `retryAfterMs`.
 *   2. after the credential check, `failed(key)` or `succeeded(key)`.
 *
 * A key has an optional `username` (whatever names the account: `acme/pi-1`, `apikey:<keyId>`,
 * `admin`) and an optional `ip` (the remote address; IPv6 is counted per /64, since one host
 * usually holds a whole /64). Omitted parts are not counted.
 *
 * Embedded (one process) the counters live in memory; scaled out, pass the ioredis client as
 * `redis` and every process shares them. While that client is not ready (starting, or Redis down) an
 * in-memory limiter stands in, so a Redis outage degrades to per-process limits rather than
 * refusing or stalling every login.
 */
export interface LoginKey {
  username?: string | undefined;
  ip?: string | undefined;
}

export type LoginCheck = { allowed: true } | { allowed: false; retryAfterMs: number };

export interface LoginLimiter {
  /** Is a login with this key allowed now? Does not count anything. */
  check(key: LoginKey): Promise<LoginCheck>;
  /** A failed authentication: counts against the username and the address. */
  failed(key: LoginKey): Promise<void>;
  /**
   * A successful authentication: forgets the username's failures. The address's failures stay, so
   * one valid credential cannot be used to wipe the count between guesses at others.
   */
  succeeded(key: LoginKey): Promise<void>;
}

/** How one dimension (username or address) is limited. */
export interface FailureLimits {
  /** Failures tolerated within the window before any delay. */
  freeFailures: number;
  /** Failures are forgotten this long after the first one of a window (fixed window). */
  windowSeconds: number;
  /** The first block, after `freeFailures` failures; each further failure doubles it. Whole seconds. */
  baseBlockSeconds: number;
  /** The longest block. */
  maxBlockSeconds: number;
}

export interface LoginLimiterOptions {
  /** An ioredis client (typed loosely so that identity does not depend on ioredis); omit for memory. */
  redis?: unknown;
  /** Prefix of the Redis keys; distinct per front door only if their counts should be separate. */
  keyPrefix?: string;
  username?: Partial<FailureLimits>;
  ip?: Partial<FailureLimits>;
}

/**
 * Per username: a few typos are free, then 1 s, 2 s, 4 s ... up to 5 min. The cap is short because
 * anyone who knows a device's username can keep it blocked by sending bad passwords for it.
 */
export const DEFAULT_USERNAME_LIMITS: FailureLimits = {
  freeFailures: 5,
  windowSeconds: 15 * 60,
  baseBlockSeconds: 1,
  maxBlockSeconds: 5 * 60,
};
/**
 * Per address: more free failures, since many devices can share one carrier-grade NAT address
 * (a fleet whose credentials were all rotated fails together), then the same doubling up to 15 min.
 */
export const DEFAULT_IP_LIMITS: FailureLimits = {
  freeFailures: 30,
  windowSeconds: 15 * 60,
  baseBlockSeconds: 1,
  maxBlockSeconds: 15 * 60,
};

/** The counted form of an address: IPv4-mapped IPv6 as IPv4, IPv6 as its /64. */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** Usernames come from the network (up to 64 KiB in MQTT): long ones are stored as a digest. */
function usernameKey(username: string): string {
  return Buffer.byteLength(username) <= 128
    ? username
    : `sha256:${createHash('sha256').update(username).digest('base64url')}`;
}

/** What both stores offer and this module uses. */
type Store = Pick<RateLimiterMemory, 'get' | 'penalty' | 'block' | 'delete'>;

interface Dimension {
  limits: FailureLimits;
  failures: Store;
  blocks: Store;
}

export function createLoginLimiter(options: LoginLimiterOptions = {}): LoginLimiter {
  const prefix = options.keyPrefix ?? 'clutch-login';
  const make = (name: string, duration: number): Store => {
    // `points` is irrelevant: counters are only ever raised with penalty() and read back, blocks set with block().
    const base = { keyPrefix: `${prefix}:${name}`, points: 1, duration };
    if (options.redis === undefined) return new RateLimiterMemory(base);
    return new RateLimiterRedis({
      ...base,
      storeClient: options.redis,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(base),
    });
  };
  const dimension = (
    name: string,
    defaults: FailureLimits,
    overrides: Partial<FailureLimits> | undefined,
  ): Dimension => {
    const limits = { ...defaults, ...overrides };
    return {
      limits,
      failures: make(`${name}:failures`, limits.windowSeconds),
      blocks: make(`${name}:blocked`, limits.maxBlockSeconds),
    };
  };
  const byUsername = dimension('user', DEFAULT_USERNAME_LIMITS, options.username);
  const byIp = dimension('ip', DEFAULT_IP_LIMITS, options.ip);
  const parts = (key: LoginKey): [Dimension, string][] => [
    ...(key.username !== undefined ? [[byUsername, usernameKey(key.username)] as [Dimension, string]] : []),
    ...(key.ip !== undefined && key.ip !== '' ? [[byIp, addressKey(key.ip)] as [Dimension, string]] : []),
  ];

  return {
    async check(key) {
      const found = await Promise.all(parts(key).map(([d, k]) => d.blocks.get(k)));
      const retryAfterMs = Math.max(0, ...found.map((res) => (res && res.consumedPoints > 0 ? res.msBeforeNext : 0)));
      return retryAfterMs > 0 ? { allowed: false, retryAfterMs } : { allowed: true };
    },
    async failed(key) {
      await Promise.all(
        parts(key).map(async ([d, k]) => {
          const { consumedPoints: failures } = await d.failures.penalty(k, 1);
          const over = failures - d.limits.freeFailures;
          if (over <= 0) return;
          // 2^30 s is far beyond any cap; the exponent is bounded so the number stays finite.
          const seconds = Math.min(
            d.limits.maxBlockSeconds,
            Math.ceil(d.limits.baseBlockSeconds * 2 ** Math.min(over - 1, 30)),
          );
          await d.blocks.block(k, Math.max(1, seconds));
        }),
      );
    },
    async succeeded(key) {
      if (key.username === undefined) return;
      const k = usernameKey(key.username);
      await Promise.all([byUsername.failures.delete(k), byUsername.blocks.delete(k)]);
    },
  };
}
