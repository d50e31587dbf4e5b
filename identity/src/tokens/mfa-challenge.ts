import { randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { lookup, TOKEN_ISSUER } from './access-token.js';
import { TOKEN_ALG, type SigningKeys } from './signing-keys.js';

/** The audience of the token a password sign-in hands out when a second factor is still due. */
export const MFA_LOGIN_AUDIENCE = 'mfa-login';
export const MFA_CHALLENGE_TTL_SECONDS = 300;

/**
 * Proof that the password was right, for the second step of a sign-in (`POST /api/auth/mfa/verify`):
 * who signed in, and from which device, so the session started after the code carries the same facts.
 */
export interface MfaChallenge {
  userId: string;
  tenantId: string;
  /** 'mobile': the session will use bearer tokens; 'browser': cookies. */
  client: 'browser' | 'mobile';
  deviceName: string | null;
  /** Hex SHA-256 of the device fingerprint the password step saw. */
  fingerprint: string | null;
  ip: string | null;
  userAgent: string | null;
  /** Unique id of this challenge (claim `jti`): whoever completes it may mark it used. */
  id: string;
  expiresAt: Date;
}

export type MfaChallengeInput = Omit<MfaChallenge, 'id' | 'expiresAt'>;

export async function signMfaChallenge(
  keys: SigningKeys,
  challenge: MfaChallengeInput,
  options: { ttlSeconds?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    tid: challenge.tenantId,
    cli: challenge.client,
    dev: challenge.deviceName,
    fpr: challenge.fingerprint,
    ip: challenge.ip,
    ua: challenge.userAgent,
  })
    .setProtectedHeader({ alg: TOKEN_ALG, kid: keys.kid, typ: 'mfa-challenge+jwt' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(MFA_LOGIN_AUDIENCE)
    .setSubject(challenge.userId)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttlSeconds ?? MFA_CHALLENGE_TTL_SECONDS))
    .sign(keys.privateKey);
}

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The challenge when the token is one of ours, for MFA login, and unexpired; null otherwise. */
export async function verifyMfaChallenge(keys: SigningKeys, token: string): Promise<MfaChallenge | null> {
  if (typeof token !== 'string' || token.length > 4096) return null;
  try {
    const { payload } = await jwtVerify(token, (header) => lookup(keys, header.kid), {
      algorithms: [TOKEN_ALG],
      issuer: TOKEN_ISSUER,
      audience: MFA_LOGIN_AUDIENCE,
      typ: 'mfa-challenge+jwt',
      requiredClaims: ['sub', 'exp', 'tid', 'jti'],
    });
    const p = payload as Record<string, unknown>;
    if (typeof p.sub !== 'string' || typeof p.tid !== 'string' || typeof p.jti !== 'string') return null;
    return {
      userId: p.sub,
      tenantId: p.tid,
      client: p.cli === 'mobile' ? 'mobile' : 'browser',
      deviceName: text(p.dev),
      fingerprint: text(p.fpr),
      ip: text(p.ip),
      userAgent: text(p.ua),
      id: p.jti,
      expiresAt: new Date((p.exp as number) * 1000),
    };
  } catch (err) {
    if (err instanceof errors.JOSEError) return null;
    throw err;
  }
}
