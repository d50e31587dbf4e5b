import { randomUUID } from 'node:crypto';
import type { Queryable } from '@clutch/db';
import { BACKUP_CODE_COUNT, newBackupCodes, newNumericCode, normalizeBackupCode } from './codes.js';
import { digestsEqual, type MfaKey } from './crypto.js';
import { mfaError } from './errors.js';
import { acceptTotp, newTotpSecret, qrSvg, totpUri } from './totp.js';

/**
 * Second factors kept in `mfa_factors`, `mfa_one_time_codes` and `mfa_backup_codes`
 * (db/migrations/022_mfa.sql). Every function takes the transaction to run in and names the user,
 * so it is right in the user's tenant scope (the consumer tenant holds every owner) as well as in a
 * system scope.
 *
 * Checks return a result instead of throwing when a code is wrong: the caller must commit what the
 * check changed (an attempt counted, a code used up, a replayed step refused) before it refuses the
 * request, or a rolled-back transaction would hand an attacker unlimited attempts.
 */

export type ChannelKind = 'email' | 'sms';
export type FactorKind = 'totp' | ChannelKind;
export type CodePurpose = 'setup' | 'login' | 'step-up';

/** How long an emailed or texted code works. */
export const ONE_TIME_CODE_TTL_SECONDS = 300;
/** Wrong guesses one code survives; then it is used up and a new one must be sent. */
export const ONE_TIME_CODE_MAX_ATTEMPTS = 5;
/** Codes sent per user and channel within CODE_SEND_WINDOW_SECONDS (SMS costs money and can be abused to spam). */
export const CODE_SENDS_PER_WINDOW = 5;
export const CODE_SEND_WINDOW_SECONDS = 900;

export interface UserRef {
  userId: string;
  tenantId: string;
}

export interface FactorSummary {
  kind: FactorKind;
  confirmed: boolean;
  /** SMS: the number, all but the last digits hidden. */
  phone: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

const asDate = (v: Date | string | null): Date | null => (v === null ? null : new Date(v));

/** `+44 ••• ••• 1234`: enough to recognise one's own number, not enough to learn someone's. */
export function maskPhone(phone: string): string {
  return `${phone.slice(0, 3)}•••${phone.slice(-4)}`;
}

/** `j•••@example.com`. */
export function maskEmail(email: string): string {
  const at = email.indexOf('@');
  return at <= 0 ? '•••' : `${email[0]}•••${email.slice(at)}`;
}

export async function listFactors(q: Queryable, userId: string): Promise<FactorSummary[]> {
  const { rows } = await q.query<{
    kind: FactorKind;
    confirmed_at: Date | string | null;
    phone: string | null;
    created_at: Date | string;
    last_used_at: Date | string | null;
  }>(
    `SELECT kind, confirmed_at, phone, created_at, last_used_at FROM mfa_factors WHERE user_id = $1 ORDER BY created_at`,
    [userId],
  );
  return rows.map((r) => ({
    kind: r.kind,
    confirmed: r.confirmed_at !== null,
    phone: r.phone === null ? null : maskPhone(r.phone),
    createdAt: new Date(r.created_at),
    lastUsedAt: asDate(r.last_used_at),
  }));
}

/**
 * Starts setting up a factor: an unconfirmed row replaces any earlier unconfirmed one of that kind;
 * a confirmed one must be disabled first (MFA_ALREADY_ENROLLED).
 */
async function upsertPendingFactor(
  q: Queryable,
  user: UserRef,
  kind: FactorKind,
  values: { secret?: Buffer; phone?: string },
): Promise<string> {
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO mfa_factors (tenant_id, user_id, kind, secret, phone)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (user_id, kind) DO UPDATE
       SET secret = EXCLUDED.secret, phone = EXCLUDED.phone, created_at = now(), last_used_step = NULL
       WHERE mfa_factors.confirmed_at IS NULL
     RETURNING id`,
    [user.tenantId, user.userId, kind, values.secret ?? null, values.phone ?? null],
  );
  if (!rows[0]) throw mfaError('MFA_ALREADY_ENROLLED', `A ${kind} factor is already set up; disable it first`);
  return rows[0].id;
}

export interface TotpSetup {
  factorId: string;
  /** Base32, for typing into an app by hand. */
  secret: string;
  uri: string;
  qrSvg: string;
}

/** A new TOTP secret (encrypted at rest), its `otpauth://` URI and QR code; it counts once confirmed. */
export async function startTotpSetup(
  q: Queryable,
  key: MfaKey,
  user: UserRef & { issuer: string; account: string },
): Promise<TotpSetup> {
  const secret = newTotpSecret();
  const sealed = key.encrypt(Buffer.from(secret, 'utf8'), totpContext(user.userId));
  const factorId = await upsertPendingFactor(q, user, 'totp', { secret: sealed });
  const uri = totpUri({ issuer: user.issuer, account: user.account, secret });
  return { factorId, secret, uri, qrSvg: await qrSvg(uri) };
}

const totpContext = (userId: string): string => `totp:${userId}`;

export type CheckOutcome = 'accepted' | 'rejected' | 'none';

/**
 * Checks a TOTP code: `confirming` for the first code of a new factor (which confirms it), otherwise
 * against the confirmed factor. An accepted code's time step is stored, so neither it nor any older
 * code works again. `none` when there is no such factor.
 */
export async function checkTotp(
  q: Queryable,
  key: MfaKey,
  userId: string,
  code: string,
  options: { confirming: boolean; now?: Date },
): Promise<CheckOutcome> {
  const { rows } = await q.query<{ id: string; secret: Buffer | Uint8Array; last_used_step: string | null }>(
    `SELECT id, secret, last_used_step::text FROM mfa_factors
     WHERE user_id = $1 AND kind = 'totp' AND (confirmed_at IS NULL) = $2
     FOR UPDATE`,
    [userId, options.confirming],
  );
  const factor = rows[0];
  if (!factor) return 'none';
  const secret = key.decrypt(factor.secret, totpContext(userId)).toString('utf8');
  const lastStep = factor.last_used_step === null ? null : Number(factor.last_used_step);
  const step = await acceptTotp(secret, code, lastStep, options.now);
  if (step === null) return 'rejected';
  await q.query(
    `UPDATE mfa_factors SET last_used_step = $2, last_used_at = now(), confirmed_at = coalesce(confirmed_at, now())
     WHERE id = $1`,
    [factor.id, step],
  );
  return 'accepted';
}

/** Starts an email or SMS factor; the caller sends the first code (`issueCode`, purpose `setup`). */
export async function startChannelSetup(
  q: Queryable,
  user: UserRef,
  kind: ChannelKind,
  phone?: string,
): Promise<string> {
  if (kind === 'sms' && phone === undefined) throw mfaError('VALIDATION_FAILED', 'An SMS factor needs a phone number');
  return upsertPendingFactor(q, user, kind, kind === 'sms' ? { phone: phone! } : {});
}

/** Where codes of a channel go for this user: the account's email, or the SMS factor's number. */
export async function channelAddress(
  q: Queryable,
  userId: string,
  kind: ChannelKind,
  options: { confirmed: boolean },
): Promise<string | null> {
  const { rows } = await q.query<{ address: string }>(
    kind === 'email'
      ? `SELECT u.email AS address FROM mfa_factors f JOIN users u ON u.id = f.user_id
         WHERE f.user_id = $1 AND f.kind = 'email' AND (f.confirmed_at IS NOT NULL) = $2`
      : `SELECT phone AS address FROM mfa_factors WHERE user_id = $1 AND kind = 'sms' AND (confirmed_at IS NOT NULL) = $2`,
    [userId, options.confirmed],
  );
  return rows[0]?.address ?? null;
}

/** Marks an email or SMS factor confirmed (its first code was right). */
export async function confirmChannelFactor(q: Queryable, userId: string, kind: ChannelKind): Promise<void> {
  await q.query(
    `UPDATE mfa_factors SET confirmed_at = now(), last_used_at = now()
     WHERE user_id = $1 AND kind = $2 AND confirmed_at IS NULL`,
    [userId, kind],
  );
}

/** Records the use of a confirmed email or SMS factor. */
export async function touchChannelFactor(q: Queryable, userId: string, kind: ChannelKind): Promise<void> {
  await q.query(`UPDATE mfa_factors SET last_used_at = now() WHERE user_id = $1 AND kind = $2`, [userId, kind]);
}

export type IssueOutcome = { code: string; expiresAt: Date } | { throttledForSeconds: number };

/**
 * A new 6-digit code for the user, channel and purpose; earlier unused ones of the same kind stop
 * working (only the latest counts). Throttled: at most CODE_SENDS_PER_WINDOW per channel and user
 * within the window. The code is returned for delivery and stored only as a keyed digest.
 */
export async function issueCode(
  q: Queryable,
  key: MfaKey,
  user: UserRef,
  channel: ChannelKind,
  purpose: CodePurpose,
): Promise<IssueOutcome> {
  const { rows: recent } = await q.query<{ n: number; oldest: Date | string | null }>(
    `SELECT count(*)::int AS n, min(created_at) AS oldest FROM mfa_one_time_codes
     WHERE user_id = $1 AND channel = $2 AND created_at > now() - make_interval(secs => $3)`,
    [user.userId, channel, CODE_SEND_WINDOW_SECONDS],
  );
  const sent = recent[0]!;
  if (sent.n >= CODE_SENDS_PER_WINDOW && sent.oldest !== null) {
    const freeAt = new Date(sent.oldest).getTime() + CODE_SEND_WINDOW_SECONDS * 1000;
    return { throttledForSeconds: Math.max(1, Math.ceil((freeAt - Date.now()) / 1000)) };
  }
  await q.query(
    `UPDATE mfa_one_time_codes SET consumed_at = now()
     WHERE user_id = $1 AND channel = $2 AND purpose = $3 AND consumed_at IS NULL`,
    [user.userId, channel, purpose],
  );
  const id = randomUUID();
  const code = newNumericCode();
  const { rows } = await q.query<{ expires_at: Date | string }>(
    `INSERT INTO mfa_one_time_codes (id, tenant_id, user_id, channel, purpose, code_hash, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
     RETURNING expires_at`,
    [id, user.tenantId, user.userId, channel, purpose, key.digest(`otp:${id}`, code), ONE_TIME_CODE_TTL_SECONDS],
  );
  return { code, expiresAt: new Date(rows[0]!.expires_at) };
}

/**
 * Checks a code against the latest live one of that channel and purpose: counts the attempt, and
 * uses the code up when it is right or when its attempts are exhausted. `none` when no code is live.
 */
export async function checkCode(
  q: Queryable,
  key: MfaKey,
  userId: string,
  channel: ChannelKind,
  purpose: CodePurpose,
  code: string,
): Promise<CheckOutcome> {
  const { rows } = await q.query<{ id: string; code_hash: Buffer | Uint8Array; attempts: number }>(
    `SELECT id, code_hash, attempts FROM mfa_one_time_codes
     WHERE user_id = $1 AND channel = $2 AND purpose = $3 AND consumed_at IS NULL AND expires_at > now()
     ORDER BY created_at DESC LIMIT 1
     FOR UPDATE`,
    [userId, channel, purpose],
  );
  const live = rows[0];
  if (!live) return 'none';
  const right = /^\d{6}$/.test(code) && digestsEqual(key.digest(`otp:${live.id}`, code), live.code_hash);
  const attempts = live.attempts + 1;
  await q.query(
    `UPDATE mfa_one_time_codes SET attempts = $2, consumed_at = CASE WHEN $3 THEN now() ELSE NULL END WHERE id = $1`,
    [live.id, attempts, right || attempts >= ONE_TIME_CODE_MAX_ATTEMPTS],
  );
  return right ? 'accepted' : 'rejected';
}

/** A fresh set of ten backup codes; the previous set stops working. Returned once, stored as digests. */
export async function replaceBackupCodes(q: Queryable, key: MfaKey, user: UserRef): Promise<string[]> {
  const codes = newBackupCodes(BACKUP_CODE_COUNT);
  await q.query(`DELETE FROM mfa_backup_codes WHERE user_id = $1`, [user.userId]);
  await q.query(`INSERT INTO mfa_backup_codes (tenant_id, user_id, code_hash) SELECT $1, $2, unnest($3::bytea[])`, [
    user.tenantId,
    user.userId,
    codes.map((c) => key.digest(backupContext(user.userId), c)),
  ]);
  return codes;
}

const backupContext = (userId: string): string => `backup:${userId}`;

/** Uses up a backup code: true once per code. */
export async function useBackupCode(q: Queryable, key: MfaKey, userId: string, input: string): Promise<boolean> {
  const code = normalizeBackupCode(input);
  if (code === null) return false;
  const { rows } = await q.query(
    `UPDATE mfa_backup_codes SET used_at = now()
     WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING id`,
    [userId, key.digest(backupContext(userId), code)],
  );
  return rows.length === 1;
}

export async function remainingBackupCodes(q: Queryable, userId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM mfa_backup_codes WHERE user_id = $1 AND used_at IS NULL`,
    [userId],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Removes a factor (all of the user's passkeys, or one by credential id). When no real factor is
 * left the backup codes go too: they exist to replace a lost factor, not to be one. True when
 * something was removed.
 */
export async function removeFactor(
  q: Queryable,
  userId: string,
  method: FactorKind | 'webauthn',
  credentialId?: string,
): Promise<boolean> {
  const { rows } =
    method === 'webauthn'
      ? await q.query(
          `DELETE FROM webauthn_credentials WHERE user_id = $1 AND ($2::text IS NULL OR id = $2) RETURNING id`,
          [userId, credentialId ?? null],
        )
      : await q.query(`DELETE FROM mfa_factors WHERE user_id = $1 AND kind = $2 RETURNING id`, [userId, method]);
  const { rows: left } = await q.query(
    `SELECT 1 FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL
     UNION ALL SELECT 1 FROM webauthn_credentials WHERE user_id = $1 LIMIT 1`,
    [userId],
  );
  if (left.length === 0) {
    await q.query(`DELETE FROM mfa_backup_codes WHERE user_id = $1`, [userId]);
    await q.query(`DELETE FROM mfa_factors WHERE user_id = $1`, [userId]);
  }
  return rows.length > 0;
}
