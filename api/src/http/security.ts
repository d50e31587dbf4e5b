import type { Middleware } from 'koa';

// The pages load only same-origin scripts and talk only to this server (HTTP and the Socket.io socket),
// plus the configured payment provider's API that the checkout's card step calls from the browser (the
// Stripe API, or the local Stripe emulator of the demo and the tests: docs/payments.md).
// Images may also be OpenStreetMap's map tiles (the marketplace's shop map, docs/marketplace.md).
function contentSecurityPolicy(connectSources: readonly string[]): string {
  const connect = ["'self'", 'ws:', 'wss:', ...connectSources].join(' ');
  return `default-src 'self'; connect-src ${connect}; img-src 'self' data: https://tile.openstreetmap.org; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`;
}

export interface SecurityHeaderOptions {
  /** Origins (scheme://host[:port]) the pages may also fetch from: the payment provider's browser API. */
  connectSources?: readonly string[] | undefined;
}

export function securityHeaders(options: SecurityHeaderOptions = {}): Middleware {
  // Only origins: a path or anything else in a CSP source would widen or break the policy.
  const origins = (options.connectSources ?? []).map((s) => new URL(s).origin);
  const csp = contentSecurityPolicy([...new Set(origins)]);
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Content-Security-Policy', csp);
    await next();
  };
}
