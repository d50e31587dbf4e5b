import { MFA_METHODS } from '@clutch/identity';
import { z } from 'zod';
import { apiError } from '../errors.js';
import type { ApiRouter } from '../http/route.js';
import { signedInSchema } from '../sessions/routes.js';
import { MfaService, type VerifyInput } from './service.js';

/** The signed `mfa-login` token a password sign-in answered with (`challenge`), for the sign-in's second step. */
const loginChallenge = z
  .string()
  .min(20)
  .max(4096)
  .describe('The `challenge` of the sign-in answer `{ mfaRequired: true }`; omit on a signed-in session');

const sixDigits = z.string().regex(/^\d{6}$/, { error: 'must be 6 digits' });

/** A WebAuthn credential as @simplewebauthn/browser returns it; checked in depth by the verifier. */
const b64url = z
  .string()
  .regex(/^[A-Za-z0-9_-]*={0,2}$/, { error: 'must be base64url' })
  .max(65_536);
const webauthnResponse = z.looseObject({
  id: b64url.min(16),
  rawId: b64url.min(16),
  type: z.literal('public-key'),
  response: z.union([
    z.looseObject({
      clientDataJSON: b64url,
      attestationObject: b64url,
      transports: z.array(z.string().max(32)).max(10).optional(),
    }),
    z.looseObject({
      clientDataJSON: b64url,
      authenticatorData: b64url,
      signature: b64url,
      userHandle: b64url.nullable().optional(),
    }),
  ]),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.string().max(32).nullable().optional(),
});

const verifyBody = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('totp'), code: sixDigits, challenge: loginChallenge.optional() }),
  z.strictObject({ method: z.literal('email'), code: sixDigits, challenge: loginChallenge.optional() }),
  z.strictObject({ method: z.literal('sms'), code: sixDigits, challenge: loginChallenge.optional() }),
  z.strictObject({
    method: z.literal('backup_code'),
    code: z.string().min(10).max(40).describe('One of the ten backup codes; case, spaces and dashes do not matter'),
    challenge: loginChallenge.optional(),
  }),
  z.strictObject({
    method: z.literal('webauthn'),
    response: webauthnResponse.describe(
      'The credential from navigator.credentials.create() (completes a passkey setup) or .get() (a check)',
    ),
    name: z.string().trim().min(1).max(100).optional().describe('A name for a passkey being registered'),
    challenge: loginChallenge.optional(),
  }),
]);

const setupBody = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('totp') }),
  z.strictObject({ method: z.literal('webauthn') }),
  z.strictObject({ method: z.literal('email') }),
  z.strictObject({
    method: z.literal('sms'),
    phone: z
      .string()
      .regex(/^\+[1-9]\d{6,14}$/, { error: 'must be an E.164 number: + and 7 to 15 digits' })
      .describe('E.164, e.g. +447700900123'),
  }),
]);

const codeSent = z.object({
  method: z.enum(['email', 'sms']),
  sentTo: z.string().describe('Where the code went, mostly hidden'),
  expiresAt: z.string(),
});

const setupAnswer = z.union([
  z.object({
    method: z.literal('totp'),
    secret: z.string().describe('Base32, for typing into an app by hand'),
    uri: z.string().describe('otpauth://totp/... (what the QR code holds)'),
    qrSvg: z.string().describe('The URI as a QR code, SVG markup'),
  }),
  z.object({
    method: z.literal('webauthn'),
    options: z
      .record(z.string(), z.unknown())
      .describe('PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create()'),
  }),
  codeSent,
]);

const sessionVerified = z.object({
  method: z.enum(MFA_METHODS),
  completed: z.enum(['setup', 'step-up']),
  mfaAt: z.string(),
  backupCodes: z
    .array(z.string())
    .optional()
    .describe('After the first factor is set up: ten one-time backup codes, shown this once'),
  accessToken: z.string().optional().describe('Mobile clients: an access token carrying the new MFA time'),
  accessTokenExpiresAt: z.string().optional(),
});

const factorMethod = z.enum(['totp', 'webauthn', 'email', 'sms']);

const statusSchema = z.object({
  methods: z.array(z.enum(MFA_METHODS)).describe('What a sign-in asks for; empty: no MFA'),
  factors: z.array(
    z.object({
      kind: z.enum(['totp', 'email', 'sms']),
      confirmed: z.boolean(),
      phone: z.string().nullable(),
      createdAt: z.string(),
      lastUsedAt: z.string().nullable(),
    }),
  ),
  passkeys: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      transports: z.array(z.string()),
      backedUp: z.boolean(),
      createdAt: z.string(),
      lastUsedAt: z.string().nullable(),
    }),
  ),
  backupCodesRemaining: z.number().int(),
  biometricDevices: z.array(
    z.object({ id: z.string(), deviceName: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable() }),
  ),
});

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

export function mfaRoutes(router: ApiRouter, mfa: MfaService): void {
  router.route({
    method: 'get',
    path: '/auth/mfa',
    tag: 'mfa',
    summary:
      "The signed-in user's second factors: TOTP, email and SMS codes, passkeys, backup codes left, biometric phones",
    access: 'authenticated',
    response: { status: 200, description: 'The factors', schema: statusSchema },
    handle: async ({ principal }) => {
      // API keys and the admin token have no second factors: an empty status, like their empty session list.
      if (principal.kind !== 'user')
        return { methods: [], factors: [], passkeys: [], backupCodesRemaining: 0, biometricDevices: [] };
      const s = await mfa.status(principal);
      return {
        methods: s.methods,
        factors: s.factors.map((f) => ({ ...f, createdAt: f.createdAt.toISOString(), lastUsedAt: iso(f.lastUsedAt) })),
        passkeys: s.passkeys.map((p) => ({
          ...p,
          createdAt: p.createdAt.toISOString(),
          lastUsedAt: iso(p.lastUsedAt),
        })),
        backupCodesRemaining: s.backupCodesRemaining,
        biometricDevices: s.biometricDevices.map((d) => ({
          ...d,
          createdAt: d.createdAt.toISOString(),
          lastUsedAt: iso(d.lastUsedAt),
        })),
      };
    },
  });

  router.route({
    method: 'post',
    path: '/auth/mfa/setup',
    tag: 'mfa',
    summary:
      'Start setting up a second factor: TOTP (secret, otpauth URI, QR code), a passkey (WebAuthn options), or codes by email or SMS (a first code is sent); it counts once POST /auth/mfa/verify confirms it',
    description:
      'Adding a factor when one exists needs a recent MFA check (403 MFA_STEP_UP_REQUIRED). Not idempotent: the answer holds a secret, which is never stored in the idempotency records.',
    access: 'authenticated',
    idempotent: false,
    body: setupBody,
    response: { status: 200, description: 'What the user needs to finish the setup', schema: setupAnswer },
    errors: [
      'MFA_STEP_UP_REQUIRED',
      'MFA_ALREADY_ENROLLED',
      'MFA_CHANNEL_UNAVAILABLE',
      'MFA_DELIVERY_FAILED',
      'RATE_LIMITED',
      'FORBIDDEN',
    ],
    handle: ({ principal, body, ctx }) => mfa.setup(ctx, MfaService.userOf(principal), body),
  });

  router.routePublic({
    method: 'post',
    path: '/auth/mfa/challenge',
    tag: 'mfa',
    summary:
      'Ask for a code by email or SMS, or for WebAuthn options, to answer with POST /auth/mfa/verify: during a sign-in (`challenge`) or on a signed-in session (step-up)',
    body: z.strictObject({ method: z.enum(['email', 'sms', 'webauthn']), challenge: loginChallenge.optional() }),
    response: {
      status: 200,
      description: 'The code was sent, or the options to pass to navigator.credentials.get()',
      schema: z.union([
        codeSent,
        z.object({
          method: z.literal('webauthn'),
          options: z.record(z.string(), z.unknown()).describe('PublicKeyCredentialRequestOptionsJSON'),
        }),
      ]),
    },
    errors: [
      'UNAUTHENTICATED',
      'MFA_CHALLENGE_INVALID',
      'MFA_NOT_ENROLLED',
      'MFA_DELIVERY_FAILED',
      'MFA_CHANNEL_UNAVAILABLE',
      'RATE_LIMITED',
      'FORBIDDEN',
    ],
    handle: async ({ body, ctx, caller }) => mfa.challenge(ctx, await caller(), body),
  });

  router.routePublic({
    method: 'post',
    path: '/auth/mfa/verify',
    tag: 'mfa',
    summary:
      'Check a second factor: with `challenge`, completes a sign-in (answers like POST /auth/login, session cookies or mobile tokens); on a signed-in session, completes a pending setup or passes a step-up',
    description:
      'Wrong answers count against the account and the address with growing delays (429 with Retry-After), never a permanent lock; a burst of them on a signed-in session signs that session out (401) and tells the user by mail. Every outcome is in the audit log.',
    body: verifyBody,
    response: {
      status: 200,
      description: 'Signed in (with `challenge`), or the session passed the check',
      schema: z.union([signedInSchema, sessionVerified]),
    },
    errors: ['UNAUTHENTICATED', 'MFA_VERIFICATION_FAILED', 'MFA_CHALLENGE_INVALID', 'RATE_LIMITED', 'FORBIDDEN'],
    handle: async ({ body, ctx, caller }) => {
      const answer = await mfa.verify(ctx, await caller(), body as VerifyInput);
      return answer.body;
    },
  });

  router.route({
    method: 'post',
    path: '/auth/mfa/disable',
    tag: 'mfa',
    summary:
      'Remove a second factor (one passkey with `credentialId`, else every passkey); removing the last one removes the backup codes too. Needs a recent MFA check',
    access: 'authenticated',
    body: z.strictObject({
      method: factorMethod,
      credentialId: z.string().min(16).max(1366).optional().describe('webauthn: the passkey to remove'),
    }),
    response: {
      status: 200,
      description: 'The factors left',
      schema: z.object({ methods: z.array(z.enum(MFA_METHODS)) }),
    },
    errors: ['MFA_STEP_UP_REQUIRED', 'MFA_NOT_ENROLLED', 'FORBIDDEN'],
    handle: ({ principal, body, ctx }) => mfa.disable(ctx, MfaService.userOf(principal), body),
  });

  router.route({
    method: 'get',
    path: '/auth/mfa/backup-codes',
    tag: 'mfa',
    summary:
      'A new set of ten one-time backup codes, shown this once; the previous set stops working. Needs a recent MFA check',
    access: 'authenticated',
    response: {
      status: 200,
      description: 'The codes (stored only as digests)',
      schema: z.object({ codes: z.array(z.string()) }),
    },
    errors: ['MFA_STEP_UP_REQUIRED', 'MFA_NOT_ENROLLED'],
    handle: ({ principal, ctx }) => {
      if (principal.kind !== 'user')
        throw apiError('MFA_NOT_ENROLLED', 'API keys and the admin token have no second factors');
      return mfa.newBackupCodes(ctx, principal);
    },
  });
}
