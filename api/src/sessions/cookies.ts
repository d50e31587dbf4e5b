import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { CSRF_COOKIE } from '../http/csrf.js';

/**
 * Browser sessions live in cookies the page's scripts cannot read (httpOnly), sent only by
 * same-site requests (SameSite=Strict): the access token to the whole origin (Path=/, because the
 * Socket.io handshake at /socket.io must carry it too), the refresh token only to the API (Path=/api), Secure whenever the request came
 * over HTTPS. A third, readable cookie carries the CSRF token the pages echo in `X-CSRF-Token`
 * (double submit, api/src/http/csrf.ts).
 */
export const ACCESS_COOKIE = 'clutch_access';
export const REFRESH_COOKIE = 'clutch_refresh';

const base = (ctx: Context) =>
  ({ httpOnly: true, sameSite: 'strict', secure: ctx.secure, overwrite: true, signed: false }) as const;

export function setSessionCookies(
  ctx: Context,
  tokens: { accessToken: string; accessExpiresAt: Date; refreshToken?: string | undefined; sessionExpiresAt: Date },
): void {
  ctx.cookies.set(ACCESS_COOKIE, tokens.accessToken, {
    ...base(ctx),
    path: '/',
    expires: tokens.accessExpiresAt,
  });
  if (tokens.refreshToken !== undefined) {
    ctx.cookies.set(REFRESH_COOKIE, tokens.refreshToken, {
      ...base(ctx),
      path: '/api',
      expires: tokens.sessionExpiresAt,
    });
    // A new CSRF token with every new refresh token: it lives as long as the session's cookies.
    ctx.cookies.set(CSRF_COOKIE, randomBytes(24).toString('base64url'), {
      ...base(ctx),
      httpOnly: false,
      path: '/',
      expires: tokens.sessionExpiresAt,
    });
  }
}

export function clearSessionCookies(ctx: Context): void {
  for (const [name, path, httpOnly] of [
    [ACCESS_COOKIE, '/', true],
    [REFRESH_COOKIE, '/api', true],
    [CSRF_COOKIE, '/', false],
  ] as const) {
    ctx.cookies.set(name, '', { ...base(ctx), httpOnly, path, expires: new Date(0) });
  }
}
