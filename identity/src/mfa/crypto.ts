import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The key MFA secrets are protected with: AES-256-GCM for TOTP shared secrets (they must be read
 * back to check a code, so they are encrypted, not hashed) and HMAC-SHA256 for one-time and backup
 * codes (only ever compared). Keyed digests rather than plain hashes because a 6-digit code has a
 * million values: a plain hash in a database dump is reversed in a blink, a keyed one is not
 * without the key, which lives in configuration, never in the database.
 *
 * One 32-byte master key; the encryption and digest keys are derived from it (HKDF-SHA256) so the
 * two uses never share key material.
 */
export interface MfaKey {
  /** Ciphertext of `plain`, bound to `context` (e.g. the user id): it decrypts only with the same context. */
  encrypt(plain: Uint8Array, context: string): Buffer;
  /** The plaintext; throws when the blob was altered, belongs to another context, or another key made it. */
  decrypt(blob: Uint8Array, context: string): Buffer;
  /** Keyed digest of a code, separated by `purpose` (`backup`, `otp:<row id>`, ...). */
  digest(purpose: string, value: string): Buffer;
}

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const MFA_KEY_BYTES = 32;

const derive = (master: Uint8Array, info: string): Buffer =>
  Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));

export function mfaKeyFrom(master: Uint8Array): MfaKey {
  if (master.byteLength !== MFA_KEY_BYTES) throw new Error(`MFA key: expected ${MFA_KEY_BYTES} bytes`);
  const encryptionKey = derive(master, 'clutch mfa secret encryption v1');
  const digestKey = derive(master, 'clutch mfa code digest v1');
  return {
    encrypt(plain, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), body]);
    },
    decrypt(blob, context) {
      const data = Buffer.from(blob);
      if (data.length < 1 + IV_BYTES + TAG_BYTES || data[0] !== VERSION)
        throw new Error('MFA key: not a sealed secret');
      const iv = data.subarray(1, 1 + IV_BYTES);
      const tag = data.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', encryptionKey, iv);
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(data.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
    },
    digest(purpose, value) {
      return createHmac('sha256', digestKey).update(purpose).update('\0').update(value, 'utf8').digest();
    },
  };
}

/** Constant-time equality of two digests. */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

/** A key from configuration (`CLUTCH_MFA_KEY`): 32 bytes as base64, base64url or 64 hex digits. */
export function parseMfaKey(text: string): MfaKey {
  const trimmed = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (bytes.length !== MFA_KEY_BYTES)
    throw new Error('MFA key: expected 32 bytes as base64 or 64 hex digits (e.g. `openssl rand -base64 32`)');
  return mfaKeyFrom(bytes);
}

/** A fresh random key (tests; a deployment's first start). */
export function generateMfaKey(): MfaKey {
  return mfaKeyFrom(randomBytes(MFA_KEY_BYTES));
}

/**
 * The deployment's key from a file, created on first use (embedded `npm start` keeps it under
 * `./data`, beside the data it protects; a real deployment sets `CLUTCH_MFA_KEY` instead, so the key
 * is not in the database's backups). Written owner-only and complete before it appears under its
 * name; when two processes start at once, the first file wins and both use it. Losing the key makes
 * every TOTP factor unusable (users fall back to backup codes).
 */
export function loadOrCreateMfaKey(file: string): MfaKey {
  const existing = readKeyFile(file);
  if (existing) return existing;
  const raw = randomBytes(MFA_KEY_BYTES);
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, `${raw.toString('base64')}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  try {
    linkSync(temporary, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const winner = readKeyFile(file);
    if (!winner) throw err;
    return winner;
  } finally {
    unlinkSync(temporary);
  }
  return mfaKeyFrom(raw);
}

function readKeyFile(file: string): MfaKey | undefined {
  try {
    return parseMfaKey(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
