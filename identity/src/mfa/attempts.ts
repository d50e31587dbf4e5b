import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { createLoginLimiter, type FailureLimits, type LoginCheck, type LoginLimiter } from '../limits/login-limiter.js';

/**
 * How MFA attempts are limited. Two mechanisms:
 *
 * - Growing delays per account and per address (the login limiter, with its own counters): a few
 *   wrong codes are free, then 1 s, 2 s, 4 s ... up to a cap. Never a permanent lock: an attacker
 *   who knows a victim's password must not be able to lock the victim out for good.
 * - A burst of wrong codes on a signed-in session (step-up) means someone holds a session that is
 *   not theirs and is guessing: past `burstFailures` within `burstWindowSeconds` the caller revokes
 *   that session and tells the user.
 */
export interface MfaAttemptGuard {
  /** May this account (and address) try a code now? */
  check(key: { userId: string; ip?: string | undefined }): Promise<LoginCheck>;
  /** A wrong code; `sessionId` for a signed-in session. `revokeSession`: the burst threshold was reached. */
  failed(key: { userId: string; ip?: string | undefined; sessionId?: string | undefined }): Promise<{
    revokeSession: boolean;
  }>;
  /** A right code: the account's failures are forgotten (the address's stay). */
  succeeded(key: { userId: string; ip?: string | undefined }): Promise<void>;
}

export interface MfaAttemptOptions {
  /** An ioredis client when scaled out; omitted, counters live in this process. */
  redis?: unknown;
  /** Wrong codes on one session within the window that revoke it (default 5). */
  burstFailures?: number;
  burstWindowSeconds?: number;
  /** Overrides of MFA_ACCOUNT_LIMITS and MFA_IP_LIMITS. */
  account?: Partial<FailureLimits>;
  ip?: Partial<FailureLimits>;
}

export const MFA_ACCOUNT_LIMITS: FailureLimits = {
  freeFailures: 5,
  windowSeconds: 15 * 60,
  baseBlockSeconds: 1,
  maxBlockSeconds: 5 * 60,
};
export const MFA_IP_LIMITS: FailureLimits = {
  freeFailures: 20,
  windowSeconds: 15 * 60,
  baseBlockSeconds: 1,
  maxBlockSeconds: 15 * 60,
};

export function createMfaAttemptGuard(options: MfaAttemptOptions = {}): MfaAttemptGuard {
  const limiter: LoginLimiter = createLoginLimiter({
    keyPrefix: 'clutch-mfa',
    redis: options.redis,
    username: { ...MFA_ACCOUNT_LIMITS, ...options.account },
    ip: { ...MFA_IP_LIMITS, ...options.ip },
  });
  const burstFailures = options.burstFailures ?? 5;
  const base = { keyPrefix: 'clutch-mfa:session', points: burstFailures, duration: options.burstWindowSeconds ?? 600 };
  const bursts =
    options.redis === undefined
      ? new RateLimiterMemory(base)
      : new RateLimiterRedis({ ...base, storeClient: options.redis, insuranceLimiter: new RateLimiterMemory(base) });
  const account = (userId: string): string => `user:${userId}`;
  return {
    check: (key) => limiter.check({ username: account(key.userId), ip: key.ip }),
    async failed(key) {
      await limiter.failed({ username: account(key.userId), ip: key.ip });
      if (key.sessionId === undefined) return { revokeSession: false };
      const used = await bursts.penalty(key.sessionId, 1);
      return { revokeSession: used.consumedPoints >= burstFailures };
    },
    succeeded: (key) => limiter.succeeded({ username: account(key.userId), ip: key.ip }),
  };
}
