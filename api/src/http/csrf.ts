import { timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { apiError } from '../errors.js';

/** The readable cookie of a browser session, and the header the pages echo it in (double submit). */
export const CSRF_COOKIE = 'clutch_csrf';
export const CSRF_HEADER = 'X-CSRF-Token';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Cross-site request forgery guard for the API, in every mode (dev mode makes every anonymous caller
 * an administrator, so it matters most there). A browser sends a cross-site request without a
 * preflight only when it is "simple": GET/HEAD/POST, no custom headers, and a body of `text/plain`,
 * `multipart/form-data` or `application/x-www-form-urlencoded`. So a state-changing request must show
 * something a simple request cannot carry:
 *
 * - with a body: `Content-Type: application/json` (the only type the API reads anyway);
 * - without a body: `Content-Type: application/json`, an `X-Requested-With` or `X-CSRF-Token` header,
 *   or an `Authorization` header (a Bearer token, which browsers never attach on their own).
 *
 * Anything else is 415. We answer no CORS preflight, so the headers above never come from another site.
 *
 * `rawBodyPaths` (below the prefix): upload routes whose body is the file itself (chat attachments).
 * Their non-JSON body passes only with one of the headers above, which no simple request carries.
 */
export function requireJsonWrites(prefix: string, rawBodyPaths: readonly RegExp[] = []): Middleware {
  return async (ctx, next) => {
    if (!STATE_CHANGING.has(ctx.method) || (ctx.path !== prefix && !ctx.path.startsWith(`${prefix}/`))) return next();
    const json = ctx.request.type === 'application/json';
    if (json) return next();
    const marked = ctx.get('X-Requested-With') !== '' || ctx.get('Authorization') !== '' || ctx.get(CSRF_HEADER) !== '';
    const below = ctx.path.slice(prefix.length);
    if (marked && ctx.method === 'POST' && rawBodyPaths.some((path) => path.test(below))) return next();
    if (ctx.request.length || ctx.get('Transfer-Encoding')) {
      throw apiError('UNSUPPORTED_MEDIA_TYPE', `${ctx.method} bodies must be Content-Type: application/json`);
    }
    if (ctx.get('X-Requested-With') !== '' || ctx.get('Authorization') !== '' || ctx.get(CSRF_HEADER) !== '')
      return next();
    throw apiError(
      'UNSUPPORTED_MEDIA_TYPE',
      `A ${ctx.method} without a body needs Content-Type: application/json or an X-Requested-With header`,
    );
  };
}

/** True when the request echoes the session's CSRF cookie in `X-CSRF-Token` (both present and equal). */
export function csrfTokenMatches(ctx: Context): boolean {
  const cookie = ctx.cookies.get(CSRF_COOKIE) ?? '';
  const header = ctx.get(CSRF_HEADER);
  if (cookie === '' || header === '') return false;
  const a = Buffer.from(cookie);
  const b = Buffer.from(header);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Browser sessions authenticate with cookies, which a browser attaches on its own. On top of
 * SameSite=Strict and the JSON rule above, a state-changing request that a session cookie would
 * authenticate must echo the session's CSRF cookie (readable by the site's own pages only) in
 * `X-CSRF-Token`: the double-submit pattern (OWASP CSRF cheat sheet). 403 CSRF_TOKEN_MISSING otherwise.
 */
export function requireCsrfToken(ctx: Context): void {
  if (!STATE_CHANGING.has(ctx.method) || csrfTokenMatches(ctx)) return;
  throw apiError('CSRF_TOKEN_MISSING', `A ${ctx.method} signed in by cookie must send the ${CSRF_HEADER} header`);
}
