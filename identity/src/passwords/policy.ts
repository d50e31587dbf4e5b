import { COMMON_PASSWORDS_TEXT } from './common-passwords.js';

/** NIST SP 800-63B: at least 12 here (OWASP ASVS 5 level 2), at most 256 so hashing stays bounded. */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

export type PasswordProblem = 'too-short' | 'too-long' | 'common' | 'contains-email' | 'repetitive';

let common: ReadonlySet<string> | undefined;
const commonPasswords = (): ReadonlySet<string> => (common ??= new Set(COMMON_PASSWORDS_TEXT.split('\n')));

/** Length in characters as a person counts them (code points), after Unicode normalisation (NFKC). */
export function passwordLength(password: string): number {
  return [...password.normalize('NFKC')].length;
}

/**
 * Why a password is refused, or null when it is acceptable. No composition rules (NIST says not to):
 * long enough, not in the common list (also with digits or symbols merely appended: `password2024!`),
 * not the account's own address, not one character or a short pattern repeated.
 */
export function passwordProblem(
  password: string,
  context: { email?: string | undefined } = {},
): PasswordProblem | null {
  const length = passwordLength(password);
  if (length < PASSWORD_MIN_LENGTH) return 'too-short';
  if (length > PASSWORD_MAX_LENGTH) return 'too-long';
  const lower = password.normalize('NFKC').toLowerCase();
  const list = commonPasswords();
  if (list.has(lower)) return 'common';
  const base = lower.replace(/[\d\W_]+$/u, '');
  if (base.length >= 4 && base.length < lower.length && list.has(base)) return 'common';
  if (/^(.{1,4})\1+$/su.test(lower)) return 'repetitive';
  const email = context.email?.trim().toLowerCase();
  if (email) {
    const local = email.split('@')[0] ?? '';
    if (
      lower.includes(email) ||
      (local.length >= 4 && lower.replace(/[\d\W_]+/gu, '') === local.replace(/[\d\W_]+/gu, ''))
    )
      return 'contains-email';
  }
  return null;
}
