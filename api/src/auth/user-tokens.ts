import { looksLikeJwt, verifyAccessToken } from '@clutch/identity';
import type { Middleware } from 'koa';
import { apiError } from '../errors.js';
import { requireCsrfToken } from '../http/csrf.js';
import { ACCESS_COOKIE } from '../sessions/cookies.js';
import type { SessionsService } from '../sessions/service.js';
import type { UserPrincipal } from './principal.js';

/**
 * Turns a user's access token into a principal: a valid signature of this deployment, unexpired,
 * and a session that is still live (revoked sessions stop at once: api/src/sessions/cache.ts).
 * Returns null for tokens that are not JWTs at all (API keys, the admin token), so the authenticator
 * tries those next.
 */
export type UserTokenVerifier = (token: string) => Promise<UserPrincipal | null>;

export function userTokenVerifier(sessions: SessionsService): UserTokenVerifier {
  return async (token) => {
    if (!looksLikeJwt(token)) return null;
    const claims = await verifyAccessToken(sessions.keys, token);
    if (!claims) throw apiError('UNAUTHENTICATED', 'The access token is not valid (expired, malformed or not ours)');
    const status = await sessions.status(claims.sessionId);
    if (!status.live) throw apiError('UNAUTHENTICATED', 'The session of this access token has ended');
    // A step-up after the token was issued counts at once: the later of the claim and the session's record.
    const mfaAt =
      claims.mfaAt && status.mfaAt
        ? claims.mfaAt > status.mfaAt
          ? claims.mfaAt
          : status.mfaAt
        : (claims.mfaAt ?? status.mfaAt);
    return {
      kind: 'user',
      userId: claims.userId,
      tenantId: claims.tenantId,
      sessionId: claims.sessionId,
      mfaAt,
      expiresAt: claims.expiresAt,
    };
  };
}

/**
 * Browser sessions: the access cookie stands in for `Authorization: Bearer` (a header the caller
 * sent wins), after the CSRF check for state-changing requests. Placed after requireJsonWrites, so
 * the whole chain (failed-token limits, rate limits, authorisation) treats cookie and bearer alike.
 * `exempt`: public routes that never act on a session (sign-in, sign-up, password reset), so a stale
 * cookie cannot get in the way of signing in again.
 */
export function cookieCredentials(prefix: string, exempt: readonly string[]): Middleware {
  const skip = new Set(exempt.map((p) => prefix + p));
  return async (ctx, next) => {
    if (ctx.get('Authorization') !== '' || (ctx.path !== prefix && !ctx.path.startsWith(`${prefix}/`))) return next();
    const access = ctx.cookies.get(ACCESS_COOKIE);
    if (!access || skip.has(ctx.path)) return next();
    requireCsrfToken(ctx);
    ctx.request.header.authorization = `Bearer ${access}`;
    return next();
  };
}
