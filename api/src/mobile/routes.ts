import { z } from 'zod';
import { apiError } from '../errors.js';
import type { ApiRouter } from '../http/route.js';
import { MfaService } from '../mfa/service.js';
import { signedInSchema } from '../sessions/routes.js';
import type { BiometricService } from './service.js';

const uuid = z.uuid({ error: 'must be a UUID' });

const deviceSchema = z.object({
  id: z.string().describe('The device key id the app keeps to ask for challenges'),
  deviceName: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});

const p256Jwk = z.looseObject({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string().max(64),
  y: z.string().max(64),
});

export function mobileRoutes(router: ApiRouter, biometric: BiometricService): void {
  router.route({
    method: 'post',
    path: '/mobile/biometric/register',
    tag: 'mobile',
    summary:
      "Register this phone's device-bound public key (ES256, P-256, from the secure enclave) for biometric sign-in, after a normal sign-in",
    description:
      'A user with MFA needs a recent MFA check (an MFA sign-in gives one). The private key never leaves the phone; a JWK with `d` is refused.',
    access: 'authenticated',
    body: z.strictObject({
      publicKey: z
        .union([p256Jwk, z.string().min(80).max(512).describe('base64 DER SubjectPublicKeyInfo')])
        .describe('The P-256 public key as a JWK or base64 DER SPKI'),
      deviceName: z.string().trim().min(1).max(100),
    }),
    response: { status: 201, description: 'Registered', schema: deviceSchema },
    errors: ['MFA_STEP_UP_REQUIRED', 'FORBIDDEN'],
    handle: async ({ principal, body, ctx }) => {
      const d = await biometric.register(ctx, MfaService.userOf(principal), body);
      return { ...d, createdAt: d.createdAt.toISOString(), lastUsedAt: null };
    },
  });

  router.route({
    method: 'get',
    path: '/mobile/biometric/devices',
    tag: 'mobile',
    summary: "The signed-in user's phones registered for biometric sign-in",
    access: 'authenticated',
    response: { status: 200, description: 'The phones', schema: z.object({ devices: z.array(deviceSchema) }) },
    errors: ['FORBIDDEN'],
    // API keys and the admin token have no phones: an empty list.
    handle: async ({ principal }) => ({
      devices: (principal.kind === 'user' ? await biometric.list(principal) : []).map((d) => ({
        ...d,
        createdAt: d.createdAt.toISOString(),
        lastUsedAt: d.lastUsedAt === null ? null : d.lastUsedAt.toISOString(),
      })),
    }),
  });

  router.route({
    method: 'delete',
    path: '/mobile/biometric/devices/:id',
    tag: 'mobile',
    summary: 'Stop a phone signing in with biometrics (lost, sold); its pending challenges stop working',
    access: 'authenticated',
    params: z.object({ id: uuid }),
    response: { status: 204, description: 'Removed' },
    errors: ['BIOMETRIC_KEY_NOT_FOUND'],
    handle: async ({ principal, params, ctx }) => {
      if (principal.kind !== 'user')
        throw apiError('BIOMETRIC_KEY_NOT_FOUND', 'API keys and the admin token have no phones');
      await biometric.revoke(ctx, principal, params.id);
      return undefined;
    },
  });

  router.routePublic({
    method: 'post',
    path: '/mobile/biometric/challenge',
    tag: 'mobile',
    summary:
      'A single-use challenge (2 minutes) for a registered phone: sign its `challenge` characters (UTF-8) with the device key after the biometric check',
    body: z.strictObject({ deviceKeyId: uuid }),
    response: {
      status: 200,
      description: 'The challenge',
      schema: z.object({ challengeId: z.string(), challenge: z.string(), expiresAt: z.string() }),
    },
    errors: ['MFA_VERIFICATION_FAILED', 'RATE_LIMITED'],
    handle: async ({ body, ctx }) => {
      const c = await biometric.challenge(ctx, body.deviceKeyId);
      return { challengeId: c.challengeId, challenge: c.challenge, expiresAt: c.expiresAt.toISOString() };
    },
  });

  router.routePublic({
    method: 'post',
    path: '/mobile/biometric/verify',
    tag: 'mobile',
    summary:
      'Sign in with a signed challenge: ECDSA P-256 with SHA-256 over the challenge, DER or 64-byte r||s, base64url. Answers with bearer tokens like a mobile sign-in',
    description:
      'Each challenge is answered once (right or wrong) and is bound to the device key it was issued for. Failures are audited and delayed per key and address.',
    body: z.strictObject({
      deviceKeyId: uuid,
      challengeId: uuid,
      signature: z.string().regex(/^[A-Za-z0-9_-]{40,200}$/, { error: 'must be a base64url ECDSA signature' }),
      deviceName: z.string().trim().min(1).max(100).optional(),
    }),
    response: { status: 200, description: 'Signed in', schema: signedInSchema },
    errors: ['MFA_VERIFICATION_FAILED', 'RATE_LIMITED', 'UNAUTHENTICATED'],
    handle: ({ body, ctx }) => biometric.verify(ctx, body),
  });
}
