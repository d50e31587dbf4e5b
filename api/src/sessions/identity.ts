import type { LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import {
  DEFAULT_SESSION_POLICY,
  createLoginLimiter,
  devOutboxMailer,
  generateSigningKeys,
  type FailureLimits,
  type Mailer,
  type SessionPolicy,
  type SigningKeys,
} from '@clutch/identity';
import type { Logger } from 'pino';
import { AccountMail } from '../accounts/mail.js';
import { AccountsService, type PermissionsOf } from '../accounts/service.js';
import { userTokenVerifier, type UserTokenVerifier } from '../auth/user-tokens.js';
import { SessionCache } from './cache.js';
import { SessionsService, type PlatformAccess } from './service.js';

/** How a deployment configures accounts and sessions (ApiDeps.identity); everything has a default. */
export interface IdentityOptions {
  /** Token signing keys; default: generated for this process (tokens die with it: tests only). */
  signingKeys?: SigningKeys | undefined;
  /** Default: a dev outbox that logs each message (the `npm start` demo without SMTP). */
  mailer?: Mailer | undefined;
  /** Base URL of links in mail (`https://clutch.example.com`); default: the request's origin. */
  publicUrl?: string | undefined;
  sessionPolicy?: Partial<SessionPolicy> | undefined;
  accessTtlSeconds?: number | undefined;
  /** How long a session check is remembered per process (default 5 s; revocations drop it at once). */
  sessionCacheMs?: number | undefined;
  /** Failed sign-ins: per account (`username`) and per address (`ip`). */
  signInLimits?: { username?: Partial<FailureLimits>; ip?: Partial<FailureLimits> } | undefined;
  /** Roles and permissions for `GET /api/me` (the RBAC policy's effectivePermissions). */
  permissionsOf?: PermissionsOf | undefined;
}

/** What the identity domains (accounts, sessions, MFA) share: one instance per API. */
export interface IdentityServices {
  /**
   * Credential work before there is a principal (sign-in lookups, refresh, MFA completion): owner
   * transactions, for the identity domains only. Every security outcome is recorded explicitly.
   */
  platform: PlatformAccess;
  keys: SigningKeys;
  mailer: Mailer;
  sessions: SessionsService;
  accounts: AccountsService;
  mail: AccountMail;
}

export function createIdentity(deps: {
  db: Database;
  bus: LiveEventBus;
  logger: Logger;
  /** ioredis client shared by the API's limiters when scaled out. */
  redis?: unknown;
  options?: IdentityOptions | undefined;
}): IdentityServices & { verifyUserToken: UserTokenVerifier } {
  const options = deps.options ?? {};
  const platform: PlatformAccess = { run: (fn) => deps.db.transaction(fn) };
  const keys = options.signingKeys ?? generateSigningKeys();
  const mailer =
    options.mailer ??
    devOutboxMailer((mail) =>
      deps.logger.info(
        { to: mail.to, subject: mail.subject, text: mail.text },
        'mail (dev outbox: no SMTP configured)',
      ),
    );
  const mail = new AccountMail(mailer, platform, options.publicUrl ?? '');
  const cache = new SessionCache(options.sessionCacheMs ?? 5_000);
  // Revocations anywhere (this process, another API process, H7's MFA lockout) arrive here through
  // the outbox relay and the bus.
  deps.bus.subscribe((event) => {
    if (event.type === 'session-revoked') cache.forget(event.sessionId);
  });
  const sessions = new SessionsService({
    platform,
    statements: deps.db,
    keys,
    cache,
    policy: { ...DEFAULT_SESSION_POLICY, ...options.sessionPolicy },
    accessTtlSeconds: options.accessTtlSeconds,
    notices: mail,
    logger: deps.logger,
  });
  const limiter = createLoginLimiter({
    keyPrefix: 'clutch-sign-in',
    ...(deps.redis !== undefined ? { redis: deps.redis } : {}),
    ...(options.signInLimits?.username ? { username: options.signInLimits.username } : {}),
    ...(options.signInLimits?.ip ? { ip: options.signInLimits.ip } : {}),
  });
  const accounts = new AccountsService({
    platform,
    sessions,
    mail,
    limiter,
    logger: deps.logger,
    publicUrl: options.publicUrl,
    permissionsOf: options.permissionsOf,
  });
  return { platform, keys, mailer, sessions, accounts, mail, verifyUserToken: userTokenVerifier(sessions) };
}
