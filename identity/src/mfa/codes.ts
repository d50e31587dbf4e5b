import { randomInt } from 'node:crypto';

/** A one-time code for email or SMS: 6 digits, uniformly random (leading zeros kept). */
export function newNumericCode(): string {
  return randomInt(0, 1_000_000).toString().padStart(6, '0');
}

/** Backup codes avoid letters people confuse (Crockford's base32: no I, L, O, U). */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const BACKUP_CODE_COUNT = 10;

/** Ten codes like `7KQ4M-2XH9C` (50 random bits each: not guessable within any rate limit). */
export function newBackupCodes(count: number = BACKUP_CODE_COUNT): string[] {
  const codes = new Set<string>();
  while (codes.size < count) {
    const chars = Array.from({ length: 10 }, () => ALPHABET[randomInt(0, ALPHABET.length)]).join('');
    codes.add(`${chars.slice(0, 5)}-${chars.slice(5)}`);
  }
  return [...codes];
}

/**
 * The canonical form of a typed backup code, or null when it cannot be one: case, spaces and dashes
 * do not matter, and the letters Crockford's base32 reads as digits (O, I, L) are read that way.
 */
export function normalizeBackupCode(input: string): string | null {
  if (input.length > 40) return null;
  const compact = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (!/^[0-9A-HJKMNP-TV-Z]{10}$/.test(compact)) return null;
  return `${compact.slice(0, 5)}-${compact.slice(5)}`;
}
