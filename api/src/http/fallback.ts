import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { apiError } from '../errors.js';

/**
 * Mounted after the API router: anything under the prefix that no route answered is a problem+json
 * 404 (or 405 when the path exists with other methods), never Koa's plain-text "Not Found" and never
 * a fall-through to the static files.
 */
export function apiFallback(router: Router, prefix: string): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== prefix && !ctx.path.startsWith(`${prefix}/`)) return next();
    const match = router.match(ctx.path, ctx.method);
    const methods = new Set(match.path.flatMap((layer) => layer.methods));
    if (methods.size > 0 && !match.route) {
      ctx.set('Allow', [...methods].join(', '));
      throw apiError('METHOD_NOT_ALLOWED', `${ctx.method} is not allowed on ${ctx.path}`);
    }
    throw apiError('ROUTE_NOT_FOUND', `No endpoint at ${ctx.method} ${ctx.path}`);
  };
}
