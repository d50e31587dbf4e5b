import { createHash, timingSafeEqual } from 'node:crypto';
import type { Database } from '@clutch/db';
import { verifyApiKey } from '@clutch/identity';
import { apiError } from '../errors.js';
import type { ApiKeyCache } from './api-key-cache.js';
import type { Principal } from './principal.js';
import type { UserTokenVerifier } from './user-tokens.js';

export interface AuthOptions {
  db: Database;
  /** Bearer token that makes the caller an administrator; unset, no token is an admin token. */
  adminToken?: string | undefined;
  /** False (dev mode): a request without a token is an administrator. True: it is refused with 401. */
  requireAuth: boolean;
  /** Verified API keys kept per process (api-key-cache.ts); absent, every request reads `api_keys`. */
  apiKeys?: ApiKeyCache | undefined;
  /** Signed-in users' access tokens (user-tokens.ts); absent, only API keys and the admin token. */
  users?: UserTokenVerifier | undefined;
}

/** Resolves a bearer token to a principal; undefined means "no token and none required". */
export type Authenticator = (authorization: string | undefined) => Promise<Principal>;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** RFC 6750 §2.1 `Authorization: Bearer <b64token>`; the scheme is case-insensitive. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!match) throw apiError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <token>"');
  return match[1];
}

export function createAuthenticator(options: AuthOptions): Authenticator {
  // Compared as digests with timingSafeEqual: equal lengths, and no early exit that leaks a prefix.
  const admin = options.adminToken ? digest(options.adminToken) : undefined;
  const verifyInDatabase = (token: string) => verifyApiKey(options.db, token);
  return async (authorization) => {
    const token = bearerToken(authorization);
    if (token === undefined) {
      if (options.requireAuth) throw apiError('UNAUTHENTICATED', 'This endpoint needs a bearer token');
      return { kind: 'admin', dev: true };
    }
    if (admin && timingSafeEqual(digest(token), admin)) return { kind: 'admin', dev: false };
    // A token that is present but wrong is refused even in dev mode: silently treating it as
    // anonymous would hide a misconfigured client.
    const user = options.users ? await options.users(token) : null;
    if (user) return user;
    const key = token.startsWith('ck_')
      ? await (options.apiKeys ? options.apiKeys.verify(token, verifyInDatabase) : verifyInDatabase(token))
      : null;
    if (!key) throw apiError('UNAUTHENTICATED', 'The bearer token is not valid (unknown, malformed or revoked)');
    return { kind: 'partner', tenantId: key.tenantId, keyId: key.keyId, scopes: key.scopes, expiresAt: key.expiresAt };
  };
}
