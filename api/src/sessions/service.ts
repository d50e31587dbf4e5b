import type { Queryable } from '@clutch/db';
import {
  ACCESS_TOKEN_TTL_SECONDS,
  DEFAULT_SESSION_POLICY,
  createSession,
  findSession,
  findUserById,
  LIVE_USER_SESSIONS_SQL,
  refreshSession,
  sessionFromRow,
  sha256 as sha,
  signAccessToken,
  type Session,
  type SessionPolicy,
  type SessionRow,
  type SigningKeys,
  type User,
} from '@clutch/identity';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import type { UserPrincipal } from '../auth/principal.js';
import { recordSecurityEvent } from '../audit/index.js';
import { apiError } from '../errors.js';
import { keysetPage, type Listing, type PageRequest } from '../http/pagination.js';
import type { SessionCache, SessionStatus } from './cache.js';
import { clearSessionCookies, REFRESH_COOKIE, setSessionCookies } from './cookies.js';
import { clientOf, describeAgent, deviceFacts, fingerprintOf } from './device.js';
import { announce, revokeSession, revokeUserSessions } from './revocation.js';

/**
 * Credential work that has no tenant yet or crosses the user's own rows: sign-in, refresh,
 * revocation. One owner transaction per use case, like the authenticator's API-key check; every
 * security outcome is written explicitly with recordSecurityEvent (a refresh writes nothing when it
 * simply succeeds: it is not an event worth a row).
 */
export interface PlatformAccess {
  run<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
}

/** How users hear that one of their sessions was ended for them (mail; api/src/accounts/mail.ts). */
export interface SessionNotices {
  sessionsRevoked(userId: string, sessions: readonly Session[], reason: RevocationNotice): Promise<void>;
}
export type RevocationNotice = 'token-reused' | 'foreign-device' | 'evicted';

export interface SessionsServiceOptions {
  platform: PlatformAccess;
  /**
   * Single statements outside a transaction, as the platform (the common refresh is one statement:
   * identity's rotateLiveRefreshToken). Default: each in a transaction of `platform`.
   */
  statements?: Pick<Queryable, 'query'> | undefined;
  keys: SigningKeys;
  cache: SessionCache;
  policy?: SessionPolicy | undefined;
  accessTtlSeconds?: number | undefined;
  notices?: SessionNotices | undefined;
  logger: Logger;
}

/** The account as its owner sees it (sign-in answers, `GET /api/me`). */
export interface UserView {
  id: string;
  tenantId: string;
  email: string;
  displayName: string;
  emailVerified: boolean;
  locale: string;
  timeZone: string;
}

export const userView = (u: User): UserView => ({
  id: u.id,
  tenantId: u.tenantId,
  email: u.email,
  displayName: u.displayName,
  emailVerified: u.emailVerifiedAt !== null,
  locale: u.locale,
  timeZone: u.timeZone,
});

/** The answer of a sign-in and of a refresh. Tokens are in the body only for mobile clients. */
export interface SignedIn {
  user: UserView;
  session: { id: string; expiresAt: string };
  accessToken?: string;
  accessTokenExpiresAt?: string;
  refreshToken?: string;
}

export interface StartSessionInput {
  userId: string;
  tenantId: string;
  mfaAt: Date | null;
  deviceName?: string | null | undefined;
}

export interface SessionView {
  id: string;
  current: boolean;
  client: 'browser' | 'mobile';
  deviceName: string | null;
  /** "Chrome on Linux" from the user agent, when it says. */
  device: string | null;
  ip: string | null;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  mfaAt: string | null;
}

/**
 * A user's live sessions, newest sign-in first. By `created_at` rather than the last refresh: the
 * key never changes, so a session refreshed while a client pages neither moves nor repeats.
 */
export const SESSIONS_LISTING: Listing = { name: 'sessions', key: 'created_at', id: 'id', idType: 'uuid' };
/** A user has a few sessions (the limit per kind of tenant is 3 to 10): one page is the usual answer. */
export const SESSION_PAGE = { defaultLimit: 50, maxLimit: 200 } as const;

/** Sessions: start (sign-in), refresh with rotation, listing and revocation; see docs/identity.md. */
export class SessionsService {
  readonly policy: SessionPolicy;
  private readonly accessTtl: number;
  private readonly statements: Pick<Queryable, 'query'>;

  constructor(private readonly options: SessionsServiceOptions) {
    this.policy = options.policy ?? DEFAULT_SESSION_POLICY;
    this.accessTtl = options.accessTtlSeconds ?? ACCESS_TOKEN_TTL_SECONDS;
    this.statements = options.statements ?? {
      query: (sql, params) => options.platform.run((q) => q.query(sql, params)),
    };
  }

  get keys(): SigningKeys {
    return this.options.keys;
  }

  /**
   * Starts a session for a user whose credentials were checked (password, password + second factor,
   * biometric key) and answers as the client expects: cookies for browsers, tokens in the body for
   * the mobile app. Records `auth.login`; evicts the oldest sessions beyond the limit.
   */
  async start(ctx: Context, input: StartSessionInput): Promise<SignedIn> {
    const device = deviceFacts(ctx, input.deviceName);
    const { user, started } = await this.options.platform.run(async (q) => {
      const user = await findUserById(q, input.userId);
      if (!user || user.tenantId !== input.tenantId || user.status !== 'active')
        throw apiError('UNAUTHENTICATED', 'This account cannot sign in');
      const started = await createSession(
        q,
        { userId: user.id, tenantId: user.tenantId, mfaAt: input.mfaAt, device },
        this.policy,
      );
      await recordSecurityEvent(q, {
        actor: `user:${user.id}`,
        action: 'auth.login',
        target: started.session.id,
        tenantId: user.tenantId,
        ip: device.ip,
        outcome: 'success',
        detail: { client: device.client, mfa: input.mfaAt !== null, deviceName: device.deviceName ?? null },
      });
      await announce(q, started.evicted, 'platform:session-limit', 'session.evicted', device.ip);
      return { user, started };
    });
    for (const s of started.evicted) this.options.cache.forget(s.id);
    if (started.evicted.length > 0) this.notify(user.id, started.evicted, 'evicted');
    return this.answer(ctx, user, started.session, started.refreshToken);
  }

  /**
   * One refresh: the refresh token (cookie, or `refreshToken` in the body for mobile clients) is
   * replaced by a new one and a new access token is issued. A replaced token presented again
   * revokes the session (the family); so does the live token from another device. Both are audited
   * and the user is told by mail.
   */
  async refresh(ctx: Context, bodyToken: string | undefined): Promise<SignedIn> {
    const presented = bodyToken ?? ctx.cookies.get(REFRESH_COOKIE);
    const fail = (): never => {
      if (clientOf(ctx) === 'browser') clearSessionCookies(ctx);
      throw apiError('UNAUTHENTICATED', 'The refresh token is not valid (unknown, expired, replaced or revoked)');
    };
    if (!presented) return fail();
    const device = { fingerprint: fingerprintOf(ctx), ip: ctx.ip || null, userAgent: ctx.get('User-Agent') || null };
    const store = {
      query: this.statements.query.bind(this.statements),
      transaction: <T>(fn: (q: Queryable) => Promise<T>) => this.options.platform.run(fn),
    };
    const result = await refreshSession(store, presented, device, this.policy, async (q, outcome) => {
      if (outcome.kind === 'reused' || outcome.kind === 'foreign-device') {
        await announce(
          q,
          [outcome.session],
          'platform:refresh',
          outcome.kind === 'reused' ? 'session.family-revoked' : 'session.revoked',
          device.ip,
        );
        return null;
      }
      if (outcome.kind === 'invalid') return null;
      return findUserById(q, outcome.session.userId);
    });
    const outcome = result.outcome;
    const user = result.user ?? result.then ?? null;
    if (outcome.kind === 'reused' || outcome.kind === 'foreign-device') {
      this.options.cache.forget(outcome.session.id);
      this.notify(
        outcome.session.userId,
        [outcome.session],
        outcome.kind === 'reused' ? 'token-reused' : 'foreign-device',
      );
      return fail();
    }
    if (outcome.kind === 'invalid' || !user || user.status !== 'active') return fail();
    return this.answer(ctx, user, outcome.session, outcome.kind === 'rotated' ? outcome.refreshToken : undefined);
  }

  /** A page of the user's live sessions, the caller's own marked `current`. */
  async list(principal: UserPrincipal, page: PageRequest): Promise<{ sessions: SessionView[]; next: string | null }> {
    const { items, next } = await this.options.platform.run((q) =>
      keysetPage<SessionRow>(q, SESSIONS_LISTING, { sql: LIVE_USER_SESSIONS_SQL, params: [principal.userId] }, page),
    );
    return { sessions: items.map((row) => sessionView(sessionFromRow(row), principal.sessionId)), next };
  }

  /** Ends one of the caller's own sessions; SESSION_NOT_FOUND for anyone else's or an ended one. */
  async revoke(principal: UserPrincipal, sessionId: string): Promise<void> {
    const revoked = await this.options.platform.run(async (q) => {
      const found = await findSession(q, sessionId);
      if (!found || found.userId !== principal.userId || found.revokedAt !== null) return null;
      return revokeSession(
        q,
        sessionId,
        sessionId === principal.sessionId ? 'signed-out' : 'revoked-by-user',
        `user:${principal.userId}`,
      );
    });
    if (!revoked) throw apiError('SESSION_NOT_FOUND');
    this.options.cache.forget(sessionId);
  }

  /** Signs out everywhere; with `keepCurrent`, everywhere but here ("sign out other devices"). */
  async revokeAll(principal: UserPrincipal, keepCurrent: boolean): Promise<number> {
    const revoked = await this.options.platform.run((q) =>
      revokeUserSessions(q, principal.userId, keepCurrent ? 'signed-out-elsewhere' : 'signed-out-everywhere', {
        ...(keepCurrent ? { exceptSessionId: principal.sessionId } : {}),
        actor: `user:${principal.userId}`,
      }),
    );
    for (const s of revoked) this.options.cache.forget(s.id);
    return revoked.length;
  }

  /**
   * Signs the caller out: ends the session of the access token, or of the refresh cookie when the
   * access token has already expired, and clears the cookies. Always succeeds (signing out twice is fine).
   */
  async logout(ctx: Context, principal: UserPrincipal | undefined): Promise<void> {
    const cookieToken = ctx.cookies.get(REFRESH_COOKIE);
    await this.options.platform.run(async (q) => {
      let sessionId = principal?.sessionId;
      if (!sessionId && cookieToken) {
        const { rows } = await q.query<{ session_id: string }>(
          'SELECT session_id FROM refresh_tokens WHERE token_sha256 = $1',
          [sha(cookieToken)],
        );
        sessionId = rows[0]?.session_id;
      }
      if (!sessionId) return;
      const revoked = await revokeSession(q, sessionId, 'signed-out');
      if (revoked) {
        await recordSecurityEvent(q, {
          actor: `user:${revoked.userId}`,
          action: 'auth.logout',
          target: revoked.id,
          tenantId: revoked.tenantId,
          ip: ctx.ip || null,
          outcome: 'success',
        });
        this.options.cache.forget(revoked.id);
      }
    });
    clearSessionCookies(ctx);
  }

  /**
   * Whether a session still admits its access tokens, and its last MFA check: from the cache, else
   * one primary-key read (and cached).
   */
  async status(sessionId: string): Promise<SessionStatus> {
    const cached = this.options.cache.get(sessionId);
    if (cached) return cached;
    const status = await this.options.platform.run(async (q) => {
      const { rows } = await q.query<{ live: boolean; mfa_at: Date | string | null }>(
        `SELECT (s.revoked_at IS NULL AND s.expires_at > now() AND u.status = 'active') AS live, s.mfa_at
           FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`,
        [sessionId],
      );
      const row = rows[0];
      return { live: row?.live === true, mfaAt: row?.mfa_at ? new Date(row.mfa_at) : null };
    });
    this.options.cache.set(sessionId, status);
    return status;
  }

  /** Drops what this process remembers of a session (after a revocation or a step-up elsewhere). */
  forget(sessionId: string): void {
    this.options.cache.forget(sessionId);
  }

  /**
   * A fresh access token for the caller's session (after a step-up, so the new MFA time is in the
   * token at once): a cookie for browsers, the body's `accessToken` for mobile clients.
   */
  async reissueAccess(ctx: Context, principal: UserPrincipal): Promise<SignedIn> {
    this.options.cache.forget(principal.sessionId);
    const { user, session } = await this.options.platform.run(async (q) => ({
      user: await findUserById(q, principal.userId),
      session: await findSession(q, principal.sessionId),
    }));
    if (!user || !session || session.revokedAt !== null) throw apiError('UNAUTHENTICATED', 'The session has ended');
    return this.answer(ctx, user, session, undefined);
  }

  private async answer(
    ctx: Context,
    user: User,
    session: Session,
    refreshToken: string | undefined,
  ): Promise<SignedIn> {
    const access = await signAccessToken(
      this.options.keys,
      { userId: user.id, tenantId: user.tenantId, sessionId: session.id, mfaAt: session.mfaAt },
      { ttlSeconds: this.accessTtl },
    );
    const body: SignedIn = {
      user: userView(user),
      session: { id: session.id, expiresAt: session.expiresAt.toISOString() },
    };
    if (session.client === 'mobile' || clientOf(ctx) === 'mobile') {
      body.accessToken = access.token;
      body.accessTokenExpiresAt = access.expiresAt.toISOString();
      if (refreshToken !== undefined) body.refreshToken = refreshToken;
    } else {
      setSessionCookies(ctx, {
        accessToken: access.token,
        accessExpiresAt: access.expiresAt,
        refreshToken,
        sessionExpiresAt: session.expiresAt,
      });
    }
    return body;
  }

  private notify(userId: string, sessions: readonly Session[], reason: RevocationNotice): void {
    // After the commit and off the request: a slow or failing mail server must not fail a sign-in.
    // The audit log has the event either way.
    this.options.notices?.sessionsRevoked(userId, sessions, reason).catch((err: unknown) => {
      this.options.logger.warn({ err, userId, reason }, 'could not tell the user about revoked sessions');
    });
  }
}

function sessionView(s: Session, currentId: string): SessionView {
  return {
    id: s.id,
    current: s.id === currentId,
    client: s.client,
    deviceName: s.deviceName,
    device: describeAgent(s.userAgent),
    ip: s.ip,
    createdAt: s.createdAt.toISOString(),
    lastSeenAt: s.lastSeenAt.toISOString(),
    expiresAt: s.expiresAt.toISOString(),
    mfaAt: s.mfaAt?.toISOString() ?? null,
  };
}
