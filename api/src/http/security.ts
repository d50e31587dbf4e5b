import type { Middleware } from 'koa';

// The pages load only same-origin scripts and talk only to this server (HTTP and the Socket.io socket).
// Images may also be OpenStreetMap's map tiles (the marketplace's shop map, docs/marketplace.md).
const CSP =
  "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: https://tile.openstreetmap.org; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export function securityHeaders(): Middleware {
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Content-Security-Policy', CSP);
    await next();
  };
}
