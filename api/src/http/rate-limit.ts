import { addressKey, createLoginLimiter, type FailureLimits, type LoginLimiter } from '@clutch/identity';
import type { Context, Middleware } from 'koa';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Authenticator } from '../auth/authenticate.js';
import type { Principal } from '../auth/principal.js';
import { apiError } from '../errors.js';

/**
 * REST rate limits (DESIGN: one module, three buckets):
 *
 * - per address, every `/api` request, before anything else is done for it;
 * - per principal (API key, admin token; an anonymous dev-mode caller counts by address), after
 *   authentication, so one partner cannot starve the others whatever addresses it uses;
 * - failed bearer-token authentications per address, in the shared login limiter of
 *   `@clutch/identity` (the broker counts MQTT logins there too): a few free, then blocks that double.
 *
 * Answers carry the IETF `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers)
 * for the first two buckets; a refusal is 429 `RATE_LIMITED` with `Retry-After`.
 */
export interface RateLimitSettings {
  /** Requests per window per principal; 0 = unlimited. */
  perPrincipal: number;
  /** Requests per window per client address (IPv6: per /64); 0 = unlimited. */
  perIp: number;
  /** Window length in seconds. */
  windowSeconds: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitSettings = { perPrincipal: 600, perIp: 1200, windowSeconds: 60 };

export interface RateLimitOptions extends Partial<RateLimitSettings> {
  /** False turns every limit off, failed-authentication delays included (benchmarks). Default true. */
  enabled?: boolean;
  /** An ioredis client: counters shared by every API process. Omitted: in memory, per process. */
  redis?: unknown;
  /** Failed-authentication limits per address (defaults: the identity package's address limits). */
  authFailures?: Partial<FailureLimits>;
  /** A login limiter shared with other front doors (the broker); replaces `authFailures`. */
  loginLimiter?: LoginLimiter;
}

/** Resolves the caller of a request, counting failed token checks against its address. */
export type RequestAuthenticator = (authorization: string | undefined, ip: string) => Promise<Principal>;

export interface RateLimits {
  /** Koa middleware: the per-address bucket for every request under `prefix`. */
  perIp(prefix: string): Middleware;
  /** Counts one request against its principal; throws RATE_LIMITED past the limit. */
  principal(ctx: Context, principal: Principal): Promise<void>;
  /** The authenticator behind the failed-authentication limiter. */
  guard(authenticate: Authenticator): RequestAuthenticator;
}

type Limiter = RateLimiterMemory | RateLimiterRedis;

interface Bucket {
  name: string;
  points: number;
  limiter: Limiter;
}

const STATE = Symbol('rate-limit');
type Reports = { policies: string[]; current: string[] };

function makeBucket(name: string, points: number, windowSeconds: number, redis: unknown): Bucket | undefined {
  if (points <= 0) return undefined;
  const base = { keyPrefix: `clutch-rl:${name}`, points, duration: windowSeconds };
  // With Redis down, an in-memory limiter stands in: per-process limits instead of refusing everyone.
  const limiter =
    redis === undefined
      ? new RateLimiterMemory(base)
      : new RateLimiterRedis({
          ...base,
          storeClient: redis,
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory(base),
        });
  return { name, points, limiter };
}

/** Writes both fields anew after each bucket, so a response shows every bucket it was counted in. */
function report(ctx: Context, bucket: Bucket, windowSeconds: number, res: RateLimiterRes): void {
  const state = ((ctx.state as Record<symbol, Reports | undefined>)[STATE] ??= { policies: [], current: [] });
  const reset = Math.max(0, Math.ceil(res.msBeforeNext / 1000));
  state.policies.push(`"${bucket.name}";q=${bucket.points};w=${windowSeconds}`);
  state.current.push(`"${bucket.name}";r=${Math.max(0, res.remainingPoints)};t=${reset}`);
  ctx.set('RateLimit-Policy', state.policies.join(', '));
  ctx.set('RateLimit', state.current.join(', '));
}

async function count(
  ctx: Context,
  bucket: Bucket | undefined,
  windowSeconds: number,
  key: string,
  who: string,
): Promise<void> {
  if (!bucket) return;
  let res: RateLimiterRes;
  try {
    res = await bucket.limiter.consume(key, 1);
  } catch (err) {
    // A store failure (not a refusal) lets the request through: limits protect the service, and a
    // broken counter must not become an outage of its own.
    if (!(err instanceof RateLimiterRes)) return;
    report(ctx, bucket, windowSeconds, err);
    const retryAfterSeconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
    throw apiError(
      'RATE_LIMITED',
      `More than ${bucket.points} requests in ${windowSeconds} s ${who}; retry in ${retryAfterSeconds} s`,
      {
        retryAfterSeconds,
        policy: bucket.name,
      },
    );
  }
  report(ctx, bucket, windowSeconds, res);
}

function principalKey(principal: Principal, ip: string): string {
  if (principal.kind === 'partner') return `key:${principal.keyId}`;
  if (principal.kind === 'user') return `user:${principal.userId}`;
  return principal.dev ? `anon:${addressKey(ip)}` : 'admin';
}

export function createRateLimits(options: RateLimitOptions = {}): RateLimits {
  if (options.enabled === false) {
    return {
      perIp: () => async (_ctx, next) => next(),
      principal: async () => {},
      guard: (authenticate) => (authorization) => authenticate(authorization),
    };
  }
  const settings: RateLimitSettings = {
    perPrincipal: options.perPrincipal ?? DEFAULT_RATE_LIMITS.perPrincipal,
    perIp: options.perIp ?? DEFAULT_RATE_LIMITS.perIp,
    windowSeconds: options.windowSeconds ?? DEFAULT_RATE_LIMITS.windowSeconds,
  };
  const ipBucket = makeBucket('ip', settings.perIp, settings.windowSeconds, options.redis);
  const principalBucket = makeBucket('principal', settings.perPrincipal, settings.windowSeconds, options.redis);
  const logins =
    options.loginLimiter ??
    createLoginLimiter({
      ...(options.redis !== undefined ? { redis: options.redis } : {}),
      ...(options.authFailures ? { ip: options.authFailures } : {}),
    });

  return {
    perIp: (prefix) => async (ctx, next) => {
      if (ctx.path === prefix || ctx.path.startsWith(`${prefix}/`))
        await count(ctx, ipBucket, settings.windowSeconds, addressKey(ctx.ip), 'from this address');
      return next();
    },
    principal: (ctx, principal) =>
      count(ctx, principalBucket, settings.windowSeconds, principalKey(principal, ctx.ip), 'for this credential'),
    guard: (authenticate) => async (authorization, ip) => {
      // No token: nothing is being guessed (dev admin or a plain 401).
      if (authorization === undefined) return authenticate(undefined);
      const verdict = await logins.check({ ip });
      if (!verdict.allowed) {
        // Refused before the token is looked at: a blocked guesser learns nothing, not even "valid".
        const retryAfterSeconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
        throw apiError(
          'RATE_LIMITED',
          `Too many failed authentications from this address; retry in ${retryAfterSeconds} s`,
          {
            retryAfterSeconds,
            policy: 'auth-failures',
          },
        );
      }
      try {
        return await authenticate(authorization);
      } catch (err) {
        if ((err as { code?: unknown }).code === 'UNAUTHENTICATED') await logins.failed({ ip }).catch(() => undefined);
        throw err;
      }
    },
  };
}
