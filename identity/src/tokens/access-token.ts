import { sign } from 'node:crypto';
import { errors, jwtVerify } from 'jose';
import { TOKEN_ALG, type SigningKeys } from './signing-keys.js';

export const TOKEN_ISSUER = 'clutch';
export const ACCESS_AUDIENCE = 'clutch-api';
/** About ten minutes: long enough to spare the refresh endpoint, short enough that a leaked token soon dies. */
export const ACCESS_TOKEN_TTL_SECONDS = 600;

/** What an access token says: the user, their tenant, the session and its last MFA check. */
export interface AccessClaims {
  userId: string;
  tenantId: string;
  sessionId: string;
  /** The last MFA check of the session when the token was issued (claim `mfa`, epoch seconds). */
  mfaAt: Date | null;
  expiresAt: Date;
}

const epoch = (d: Date): number => Math.floor(d.getTime() / 1000);

/** The protected header of every access token a key signs, base64url-encoded once per key. */
const headers = new WeakMap<SigningKeys, string>();
const base64url = (json: unknown): string => Buffer.from(JSON.stringify(json)).toString('base64url');

/**
 * A compact JWS (RFC 7515) of the access token's claims (RFC 9068 `at+jwt`), signed with Ed25519 by
 * node:crypto directly: the same token jose's SignJWT makes, without its WebCrypto round (key import
 * and an async job per signature), which cost a refresh more than its database work. Verification
 * stays with jose (verifyAccessToken); the tests verify what this signs with it.
 */
export async function signAccessToken(
  keys: SigningKeys,
  claims: Omit<AccessClaims, 'expiresAt'>,
  options: { ttlSeconds?: number; now?: Date } = {},
): Promise<{ token: string; expiresAt: Date }> {
  const now = epoch(options.now ?? new Date());
  const exp = now + (options.ttlSeconds ?? ACCESS_TOKEN_TTL_SECONDS);
  let header = headers.get(keys);
  if (header === undefined) {
    header = base64url({ alg: TOKEN_ALG, kid: keys.kid, typ: 'at+jwt' });
    headers.set(keys, header);
  }
  const payload = base64url({
    tid: claims.tenantId,
    sid: claims.sessionId,
    ...(claims.mfaAt ? { mfa: epoch(claims.mfaAt) } : {}),
    iss: TOKEN_ISSUER,
    aud: ACCESS_AUDIENCE,
    sub: claims.userId,
    iat: now,
    exp,
  });
  const input = `${header}.${payload}`;
  const signature = sign(null, Buffer.from(input), keys.privateKey).toString('base64url');
  return { token: `${input}.${signature}`, expiresAt: new Date(exp * 1000) };
}

/** A compact JWS (three base64url parts) rather than an API key or the admin token. */
export const looksLikeJwt = (token: string): boolean => /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(token);

/** The claims of a valid, unexpired access token of this deployment; null for anything else. */
export async function verifyAccessToken(keys: SigningKeys, token: string): Promise<AccessClaims | null> {
  if (!looksLikeJwt(token)) return null;
  try {
    const { payload } = await jwtVerify(token, (header) => lookup(keys, header.kid), {
      algorithms: [TOKEN_ALG],
      issuer: TOKEN_ISSUER,
      audience: ACCESS_AUDIENCE,
      typ: 'at+jwt',
      requiredClaims: ['sub', 'exp', 'tid', 'sid'],
    });
    const { sub, tid, sid, mfa, exp } = payload as Record<string, unknown>;
    if (typeof sub !== 'string' || typeof tid !== 'string' || typeof sid !== 'string' || typeof exp !== 'number')
      return null;
    return {
      userId: sub,
      tenantId: tid,
      sessionId: sid,
      mfaAt: typeof mfa === 'number' ? new Date(mfa * 1000) : null,
      expiresAt: new Date(exp * 1000),
    };
  } catch (err) {
    if (err instanceof errors.JOSEError) return null;
    throw err;
  }
}

export function lookup(keys: SigningKeys, kid: string | undefined) {
  const key = kid === undefined ? undefined : keys.publicKeys.get(kid);
  if (!key) throw new errors.JWKSNoMatchingKey();
  return key;
}
