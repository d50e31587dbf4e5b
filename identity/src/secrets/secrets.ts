import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 random bits, URL-safe: device passwords and API-key secrets. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Constant-time comparison of a presented secret with a stored digest. */
export function secretMatches(secret: string, digest: Uint8Array): boolean {
  const presented = sha256(secret);
  return digest.byteLength === presented.byteLength && timingSafeEqual(presented, digest);
}
