import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { ACCESS_AUDIENCE, TOKEN_ISSUER, signAccessToken, verifyAccessToken } from './access-token.js';
import { generateSigningKeys } from './signing-keys.js';

describe('access tokens', () => {
  const keys = generateSigningKeys();
  const claims = { userId: 'u-1', tenantId: 'consumers', sessionId: 's-1', mfaAt: new Date('2026-12-03T10:00:00Z') };

  it('signs what jose verifies against the published key set, with the header and claims of RFC 9068', async () => {
    const { token, expiresAt } = await signAccessToken(keys, claims, { ttlSeconds: 600 });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(keys.jwks), {
      algorithms: ['EdDSA'],
      issuer: TOKEN_ISSUER,
      audience: ACCESS_AUDIENCE,
      typ: 'at+jwt',
    });
    expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: keys.kid, typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: 'u-1', tid: 'consumers', sid: 's-1', mfa: claims.mfaAt.getTime() / 1000 });
    expect(payload.exp! - payload.iat!).toBe(600);
    expect(payload.exp).toBe(expiresAt.getTime() / 1000);
  });

  it('round-trips through verifyAccessToken, with and without an MFA time', async () => {
    const withMfa = await signAccessToken(keys, claims);
    expect(await verifyAccessToken(keys, withMfa.token)).toEqual({ ...claims, expiresAt: withMfa.expiresAt });
    const without = await signAccessToken(keys, { ...claims, mfaAt: null });
    expect(await verifyAccessToken(keys, without.token)).toMatchObject({ mfaAt: null, sessionId: 's-1' });
  });

  it('is refused when tampered with, expired, or signed by another deployment', async () => {
    const { token } = await signAccessToken(keys, claims);
    const [header, payload, signature] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'admin' }),
    ).toString('base64url');
    expect(await verifyAccessToken(keys, `${header}.${forged}.${signature}`)).toBeNull();
    const expired = await signAccessToken(keys, claims, { now: new Date(Date.now() - 3600_000), ttlSeconds: 60 });
    expect(await verifyAccessToken(keys, expired.token)).toBeNull();
    const other = await signAccessToken(generateSigningKeys(), claims);
    expect(decodeProtectedHeader(other.token).kid).not.toBe(keys.kid);
    expect(await verifyAccessToken(keys, other.token)).toBeNull();
  });
});
