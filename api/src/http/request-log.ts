import type { Middleware } from 'koa';
import type { Logger } from 'pino';

/** One line per request at debug level: invisible in production by default, one env var away when needed. */
export function requestLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      if (logger.isLevelEnabled('debug')) {
        logger.debug(
          { method: ctx.method, url: ctx.originalUrl, status: ctx.status, ms: Math.round(performance.now() - started) },
          'request',
        );
      }
    }
  };
}
