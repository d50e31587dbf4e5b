import { randomBytes } from 'node:crypto';
import { sha256 } from '../secrets/secrets.js';

/**
 * Opaque single-use secrets (refresh tokens, email verification, password reset, invitations):
 * 256 random bits with a readable prefix, stored only as their SHA-256. A leaked database copy
 * gives no usable token, and a high-entropy secret needs no slow hash.
 */
export interface OpaqueToken {
  token: string;
  digest: Buffer;
}

export function newOpaqueToken(prefix: string): OpaqueToken {
  const token = `${prefix}_${randomBytes(32).toString('base64url')}`;
  return { token, digest: sha256(token) };
}

/** The stored digest of a presented token, or null when it cannot be one of ours (bad shape). */
export function opaqueDigest(prefix: string, token: unknown): Buffer | null {
  if (typeof token !== 'string' || !new RegExp(`^${prefix}_[A-Za-z0-9_-]{43}$`).test(token)) return null;
  return sha256(token);
}
