import type { Middleware } from 'koa';
import { apiError } from '../errors.js';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Cross-site request forgery guard for the API, in every mode (dev mode makes every anonymous caller
 * an administrator, so it matters most there). A browser sends a cross-site request without a
 * preflight only when it is "simple": GET/HEAD/POST, no custom headers, and a body of `text/plain`,
 * `multipart/form-data` or `application/x-www-form-urlencoded`. So a state-changing request must show
 * something a simple request cannot carry:
 *
 * - with a body: `Content-Type: application/json` (the only type the API reads anyway);
 * - without a body: `Content-Type: application/json`, an `X-Requested-With` header, or an
 *   `Authorization` header (only a Bearer token authenticates, and browsers never attach one on their own).
 *
 * Anything else is 415. We answer no CORS preflight, so the headers above never come from another site.
 */
export function requireJsonWrites(prefix: string): Middleware {
  return async (ctx, next) => {
    if (!STATE_CHANGING.has(ctx.method) || (ctx.path !== prefix && !ctx.path.startsWith(`${prefix}/`))) return next();
    const json = ctx.request.type === 'application/json';
    if (json) return next();
    if (ctx.request.length || ctx.get('Transfer-Encoding')) {
      throw apiError('UNSUPPORTED_MEDIA_TYPE', `${ctx.method} bodies must be Content-Type: application/json`);
    }
    if (ctx.get('X-Requested-With') !== '' || ctx.get('Authorization') !== '') return next();
    throw apiError(
      'UNSUPPORTED_MEDIA_TYPE',
      `A ${ctx.method} without a body needs Content-Type: application/json or an X-Requested-With header`,
    );
  };
}
