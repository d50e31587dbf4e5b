import { z } from 'zod';
import type { Principal, UserPrincipal } from '../auth/principal.js';
import { apiError } from '../errors.js';
import { csrfTokenMatches } from '../http/csrf.js';
import { pageQuery } from '../http/pagination.js';
import type { ApiRouter } from '../http/route.js';
import { clientOf } from './device.js';
import { REFRESH_COOKIE } from './cookies.js';
import { SESSION_PAGE, SESSIONS_LISTING, type SessionsService } from './service.js';

export const userViewSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  email: z.string(),
  displayName: z.string(),
  emailVerified: z.boolean(),
  locale: z.string(),
  timeZone: z.string(),
});

/** The answer of every sign-in (password, invitation, MFA, biometric) and of a refresh. */
export const signedInSchema = z.object({
  user: userViewSchema,
  session: z.object({ id: z.string(), expiresAt: z.string() }),
  accessToken: z.string().optional().describe('Mobile clients (`X-Client: mobile`) only; browsers get cookies'),
  accessTokenExpiresAt: z.string().optional(),
  refreshToken: z.string().optional().describe('Mobile clients only, and only when a new one was issued'),
});

const sessionViewSchema = z.object({
  id: z.string(),
  current: z.boolean().describe('The session of this request'),
  client: z.enum(['browser', 'mobile']),
  deviceName: z.string().nullable(),
  device: z.string().nullable().describe('Browser and system from the user agent, e.g. "Firefox on Linux"'),
  ip: z.string().nullable(),
  createdAt: z.string(),
  lastSeenAt: z.string().describe('Last sign-in or refresh'),
  expiresAt: z.string(),
  mfaAt: z.string().nullable(),
});

/** Session routes are a person's own: API keys and the admin token have no sessions. */
export function requireUser(principal: Principal): UserPrincipal {
  if (principal.kind !== 'user') throw apiError('FORBIDDEN', 'Only a signed-in user has sessions');
  return principal;
}

export function sessionRoutes(router: ApiRouter, sessions: SessionsService): void {
  router.routePublic({
    method: 'post',
    path: '/sessions/refresh',
    tag: 'sessions',
    summary:
      'Exchange the refresh token (the cookie, or `refreshToken` from a mobile client) for a new access token and a new refresh token',
    description:
      'The old refresh token stops working. Presenting a replaced token again revokes the session and tells the user by mail (except the immediately preceding one within a few seconds: concurrent refreshes of one client get an access token only). Browsers must send `X-CSRF-Token`.',
    body: z.strictObject({ refreshToken: z.string().max(200).optional() }).optional(),
    response: { status: 200, description: 'Signed in with new tokens', schema: signedInSchema },
    errors: ['UNAUTHENTICATED', 'CSRF_TOKEN_MISSING'],
    handle: async ({ ctx, body }) => {
      const fromBody = body?.refreshToken;
      if (
        fromBody === undefined &&
        ctx.cookies.get(REFRESH_COOKIE) &&
        clientOf(ctx) === 'browser' &&
        !csrfTokenMatches(ctx)
      )
        throw apiError('CSRF_TOKEN_MISSING', 'A refresh by cookie must send the X-CSRF-Token header');
      return sessions.refresh(ctx, fromBody);
    },
  });

  router.route({
    method: 'get',
    path: '/sessions',
    tag: 'sessions',
    summary: "The signed-in user's live sessions (devices), a page at a time, newest sign-in first",
    access: 'authenticated',
    query: pageQuery(SESSIONS_LISTING, SESSION_PAGE),
    response: {
      status: 200,
      description: 'The sessions; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ sessions: z.array(sessionViewSchema), next: z.string().nullable() }),
    },
    // API keys and the admin token have no sessions: an empty list.
    handle: async ({ principal, query }) =>
      principal.kind === 'user' ? sessions.list(principal, query) : { sessions: [], next: null },
  });

  router.route({
    method: 'delete',
    path: '/sessions/:id',
    tag: 'sessions',
    summary: "Sign out one of the user's own sessions: its tokens stop working at once",
    access: 'authenticated',
    params: z.object({ id: z.uuid() }),
    response: { status: 204, description: 'Revoked' },
    errors: ['SESSION_NOT_FOUND'],
    handle: async ({ principal, params }) => {
      if (principal.kind !== 'user') throw apiError('SESSION_NOT_FOUND');
      await sessions.revoke(principal, params.id);
      return undefined;
    },
  });

  router.route({
    method: 'post',
    path: '/sessions/logout-all',
    tag: 'sessions',
    summary: 'Sign out on every device; with `exceptCurrent`, on every other device ("sign out other devices")',
    access: 'authenticated',
    body: z.strictObject({ exceptCurrent: z.boolean().default(false) }),
    response: {
      status: 200,
      description: 'How many sessions were revoked',
      schema: z.object({ revoked: z.number().int() }),
    },
    handle: async ({ principal, body, ctx }) => {
      if (principal.kind !== 'user') return { revoked: 0 };
      const revoked = await sessions.revokeAll(principal, body.exceptCurrent);
      if (!body.exceptCurrent) await sessions.logout(ctx, undefined);
      return { revoked };
    },
  });

  router.publicRoute(
    {
      method: 'get',
      path: '/.well-known/jwks.json',
      tag: 'sessions',
      summary: 'The public keys (JWK Set) that verify access tokens (EdDSA, Ed25519)',
      response: { status: 200, description: 'JWK Set (RFC 7517)' },
    },
    async (ctx) => {
      ctx.set('Cache-Control', 'public, max-age=300');
      ctx.body = sessions.keys.jwks;
    },
  );
}
