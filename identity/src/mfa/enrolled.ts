import type { Queryable } from '@clutch/db';

/** The second factors a user can be asked for, in the order a sign-in page offers them. */
export const MFA_METHODS = ['totp', 'webauthn', 'email', 'sms', 'backup_code'] as const;
export type MfaMethod = (typeof MFA_METHODS)[number];

/**
 * The factors a user has enrolled (confirmed), for the sign-in answer `{ mfaRequired, methods }`;
 * an empty list means the user has no MFA and signs in with the password alone.
 *
 * Backup codes are listed only beside a real factor: they are a way back in when the phone is lost,
 * not a factor of their own, and a user who disabled every factor should not be asked for one.
 *
 * Runs in whatever scope the caller has (the system scope at sign-in, the user's tenant later): it
 * names the user, so the consumer tenant's shared RLS does not matter.
 */
export async function enrolledFactors(q: Queryable, userId: string): Promise<MfaMethod[]> {
  const { rows } = await q.query<{ method: MfaMethod }>(
    `SELECT kind AS method FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL
     UNION
     SELECT 'webauthn' FROM webauthn_credentials WHERE user_id = $1
     UNION
     SELECT 'backup_code' FROM mfa_backup_codes WHERE user_id = $1 AND used_at IS NULL`,
    [userId],
  );
  const found = new Set(rows.map((r) => r.method));
  if (![...found].some((m) => m !== 'backup_code')) return [];
  return MFA_METHODS.filter((m) => found.has(m));
}
