import { MFA_METHODS, PASSWORD_MAX_LENGTH } from '@clutch/identity';
import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { signedInSchema, userViewSchema } from '../sessions/routes.js';
import type { SessionsService } from '../sessions/service.js';
import { segmentId } from '../shared/schemas.js';
import type { AccountsService } from './service.js';

const email = z.email().max(254).describe('Email address (case does not matter)');
/** Length rules are checked by the service (422 PASSWORD_REJECTED with the reason); this only bounds the body. */
const password = z
  .string()
  .min(1)
  .max(PASSWORD_MAX_LENGTH * 4);
const displayName = z.string().trim().min(1).max(100);
const deviceName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .optional()
  .describe('Shown on the sessions page, e.g. "Work laptop"');
const locale = z
  .string()
  .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/)
  .optional();
const token = z.string().min(10).max(200);

const mfaRequiredSchema = z.object({
  mfaRequired: z.literal(true),
  challenge: z.string().describe('Signed, valid 5 minutes: send it with the code to POST /api/auth/mfa/verify'),
  methods: z.array(z.enum(MFA_METHODS)),
});

export function accountRoutes(
  router: ApiRouter,
  accounts: AccountsService,
  sessions: SessionsService,
  /** `openMode`: the API lets callers without credentials in as administrators (the `npm start` demo). */
  mode: { openMode: boolean } = { openMode: false },
): void {
  router.routePublic({
    method: 'post',
    path: '/auth/register',
    tag: 'accounts',
    summary: 'Sign up as a car owner; a verification link is mailed',
    description:
      'Answers 202 whether or not the address already has an account (that mailbox is told instead), so the answer reveals nothing about who has an account. Passwords: 12 to 256 characters, not a common one.',
    body: z.strictObject({ email, password, displayName, locale }),
    response: {
      status: 202,
      description: 'Check your mailbox',
      schema: z.object({ status: z.literal('check-your-mail') }),
    },
    errors: ['PASSWORD_REJECTED'],
    handle: async ({ ctx, body }) => {
      await accounts.register(ctx, body);
      return { status: 'check-your-mail' as const };
    },
  });

  router.routePublic({
    method: 'post',
    path: '/auth/login',
    tag: 'accounts',
    summary: 'Sign in with email and password',
    description:
      'Browsers get httpOnly cookies (access, refresh) and a readable CSRF cookie to echo in `X-CSRF-Token`; the mobile app sends `X-Client: mobile` (and `X-Device-Id`) and gets the tokens in the body. With a second factor enrolled, the answer is `{ mfaRequired, challenge, methods }` instead. Every failure is the same 401.',
    body: z.strictObject({ email, password, deviceName }),
    response: {
      status: 200,
      description: 'Signed in, or a second factor is due',
      schema: z.union([signedInSchema, mfaRequiredSchema]),
    },
    errors: ['UNAUTHENTICATED', 'RATE_LIMITED'],
    handle: ({ ctx, body }) => accounts.login(ctx, body),
  });

  router.routePublic({
    method: 'post',
    path: '/auth/logout',
    tag: 'accounts',
    summary: "Sign out: ends this session (the access token's, or the refresh cookie's) and clears the cookies",
    response: { status: 204, description: 'Signed out (also when there was nothing to sign out)' },
    handle: async ({ ctx, caller }) => {
      const principal = await caller();
      await sessions.logout(ctx, principal?.kind === 'user' ? principal : undefined);
      return undefined;
    },
  });

  router.routePublic({
    method: 'post',
    path: '/auth/verify-email',
    tag: 'accounts',
    summary: 'Confirm an email address with the token from the verification mail',
    body: z.strictObject({ token }),
    response: { status: 204, description: 'Verified' },
    errors: ['ACCOUNT_TOKEN_INVALID'],
    handle: async ({ ctx, body }) => {
      await accounts.verifyEmail(ctx, body.token);
      return undefined;
    },
  });

  router.routePublic({
    method: 'post',
    path: '/auth/password/forgot',
    tag: 'accounts',
    summary: 'Ask for a password reset link by mail',
    description: 'Always 202: the answer does not say whether the address has an account.',
    body: z.strictObject({ email }),
    response: {
      status: 202,
      description: 'Check your mailbox',
      schema: z.object({ status: z.literal('check-your-mail') }),
    },
    handle: async ({ ctx, body }) => {
      await accounts.forgotPassword(ctx, body.email);
      return { status: 'check-your-mail' as const };
    },
  });

  router.routePublic({
    method: 'post',
    path: '/auth/password/reset',
    tag: 'accounts',
    summary: 'Choose a new password with the token from the reset mail; signs out every device',
    body: z.strictObject({ token, password }),
    response: { status: 204, description: 'Password changed' },
    errors: ['ACCOUNT_TOKEN_INVALID', 'PASSWORD_REJECTED'],
    handle: async ({ ctx, body }) => {
      await accounts.resetPassword(ctx, body.token, body.password);
      return undefined;
    },
  });

  router.routePublic({
    method: 'post',
    path: '/auth/invitations/accept',
    tag: 'accounts',
    summary: 'Accept an invitation: choose a password (and optionally a name) and sign in',
    body: z.strictObject({ token, password, displayName: displayName.optional(), deviceName }),
    response: { status: 200, description: 'Signed in', schema: signedInSchema },
    errors: ['ACCOUNT_TOKEN_INVALID', 'PASSWORD_REJECTED'],
    handle: ({ ctx, body }) => accounts.acceptInvitation(ctx, body),
  });

  router.route({
    method: 'post',
    path: '/users/invitations',
    tag: 'accounts',
    summary:
      'Invite a person into a partner organisation or the platform staff (a partner admin: into their own organisation only); they get a link to set a password',
    access: { permission: 'users:write' },
    body: z.strictObject({ email, displayName, tenantId: segmentId, locale }),
    response: {
      status: 201,
      description: 'Invited',
      schema: z.object({ user: userViewSchema, status: z.literal('invited') }),
    },
    errors: ['TENANT_NOT_FOUND', 'EMAIL_TAKEN', 'BAD_REQUEST'],
    handle: ({ ctx, scope, body }) => accounts.invite(ctx, scope, body),
  });

  router.route({
    method: 'get',
    path: '/me',
    tag: 'accounts',
    summary:
      'Who is calling: the signed-in user (account, session, roles, permissions); for an API key or the admin token, `user` and `session` are null and `permissions` its scopes (`*` for administrators)',
    access: 'authenticated',
    response: {
      status: 200,
      description: 'The account',
      schema: z.object({
        user: userViewSchema.nullable(),
        session: z.object({ id: z.string(), mfaAt: z.string().nullable() }).nullable(),
        roles: z.array(z.unknown()),
        permissions: z.array(z.string()),
        openMode: z
          .boolean()
          .describe(
            'True when this API runs in open development mode (the `npm start` demo): a caller without credentials is an administrator. The pages show a banner then.',
          ),
      }),
    },
    handle: async ({ principal }) => ({
      ...(principal.kind === 'user'
        ? await accounts.me(principal)
        : {
            user: null,
            session: null,
            roles: [],
            permissions: principal.kind === 'partner' ? [...principal.scopes] : ['*'],
          }),
      openMode: mode.openMode,
    }),
  });
}
