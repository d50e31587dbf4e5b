import type { Queryable } from '@clutch/db';

export type UserStatus = 'invited' | 'active' | 'disabled';

export interface User {
  id: string;
  tenantId: string;
  email: string;
  displayName: string;
  /** argon2id PHC string; null until an invited user sets a password. */
  passwordHash: string | null;
  emailVerifiedAt: Date | null;
  locale: string;
  timeZone: string;
  status: UserStatus;
  createdAt: Date;
}

/** A `users` row as the driver returns it (sessions/sessions.ts reads one beside a refresh). */
export interface UserRow {
  id: string;
  tenant_id: string;
  email: string;
  display_name: string;
  password_hash: string | null;
  email_verified_at: Date | string | null;
  locale: string;
  time_zone: string;
  status: UserStatus;
  created_at: Date | string;
}

const USER_COLUMNS =
  'id, tenant_id, email, display_name, password_hash, email_verified_at, locale, time_zone, status, created_at';

export function user(row: UserRow): User {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    email: row.email,
    displayName: row.display_name,
    passwordHash: row.password_hash,
    emailVerifiedAt: row.email_verified_at === null ? null : new Date(row.email_verified_at),
    locale: row.locale,
    timeZone: row.time_zone,
    status: row.status,
    createdAt: new Date(row.created_at),
  };
}

/**
 * The stored form of an address: trimmed and lower-cased (the whole address: providers treat the
 * local part case-insensitively in practice, and one account per mailbox is what users expect).
 */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function findUserById(q: Queryable, userId: string): Promise<User | null> {
  const { rows } = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [userId]);
  return rows[0] ? user(rows[0]) : null;
}

export async function findUserByEmail(q: Queryable, email: string): Promise<User | null> {
  const { rows } = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE email = $1`, [
    normaliseEmail(email),
  ]);
  return rows[0] ? user(rows[0]) : null;
}

export interface NewUser {
  tenantId: string;
  email: string;
  displayName: string;
  passwordHash: string | null;
  status: UserStatus;
  locale?: string | undefined;
  timeZone?: string | undefined;
  emailVerifiedAt?: Date | null | undefined;
}

/** Inserts a user; null when the address is taken (one account per address, platform-wide). */
export async function insertUser(q: Queryable, input: NewUser): Promise<User | null> {
  const { rows } = await q.query<UserRow>(
    `INSERT INTO users (tenant_id, email, display_name, password_hash, status, locale, time_zone, email_verified_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (email) DO NOTHING
     RETURNING ${USER_COLUMNS}`,
    [
      input.tenantId,
      normaliseEmail(input.email),
      input.displayName,
      input.passwordHash,
      input.status,
      input.locale ?? 'en',
      input.timeZone ?? 'UTC',
      input.emailVerifiedAt ?? null,
    ],
  );
  return rows[0] ? user(rows[0]) : null;
}

/** Sets a new password hash; an invited user becomes active with it. */
export async function setPasswordHash(q: Queryable, userId: string, passwordHash: string): Promise<void> {
  await q.query(
    `UPDATE users SET password_hash = $2, updated_at = now(),
            status = CASE WHEN status = 'invited' THEN 'active' ELSE status END
      WHERE id = $1`,
    [userId, passwordHash],
  );
}

export async function markEmailVerified(q: Queryable, userId: string): Promise<void> {
  await q.query(
    `UPDATE users SET email_verified_at = coalesce(email_verified_at, now()), updated_at = now() WHERE id = $1`,
    [userId],
  );
}

/** The kind of the tenant a user belongs to (owners: consumer; partner staff; platform staff). */
export async function tenantKindOf(
  q: Queryable,
  tenantId: string,
): Promise<'consumer' | 'partner' | 'platform' | null> {
  const { rows } = await q.query<{ kind: 'consumer' | 'partner' | 'platform' }>(
    'SELECT kind FROM tenants WHERE id = $1',
    [tenantId],
  );
  return rows[0]?.kind ?? null;
}
