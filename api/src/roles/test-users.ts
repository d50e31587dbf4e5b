// Test helpers: signed-in users without going through the sign-in pages (only imported by tests).
// A user row, a session row (H6's createSession) and an access token signed with the API's keys
// (H6's signAccessToken), so a test calls the API exactly as a signed-in browser or app would.
import { randomUUID } from 'node:crypto';
import type { Database } from '@clutch/db';
import { createSession, signAccessToken, type SigningKeys } from '@clutch/identity';

export interface TestUser {
  userId: string;
  tenantId: string;
  sessionId: string;
  /** Bearer access token (with a fresh MFA check when asked). */
  token: string;
}

/** The id of a built-in role (a platform template) by key. */
export async function builtInRoleId(db: Database, key: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id::text AS id FROM roles WHERE tenant_id = 'platform' AND key = $1`,
    [key],
  );
  if (!rows[0]) throw new Error(`no built-in role ${key}`);
  return rows[0].id;
}

/**
 * A user of `tenantId` holding the given roles (built-in keys or role ids), signed in. `mfa`: the
 * session passed an MFA check just now (step-up routes need it).
 */
export async function signedInUser(
  db: Database,
  keys: SigningKeys,
  options: { tenantId: string; roles?: readonly string[]; mfa?: boolean; name?: string; userId?: string },
): Promise<TestUser> {
  const userId = options.userId ?? randomUUID();
  const name = options.name ?? `user-${userId.slice(0, 8)}`;
  await db.query(
    `INSERT INTO users (id, tenant_id, email, display_name, status) VALUES ($1, $2, $3, $4, 'active') ON CONFLICT (id) DO NOTHING`,
    [userId, options.tenantId, `${name.toLowerCase()}-${userId.slice(0, 8)}@example.com`, name],
  );
  for (const role of options.roles ?? []) {
    const roleId = /^[0-9a-f-]{36}$/.test(role) ? role : await builtInRoleId(db, role);
    await db.query(
      `INSERT INTO role_grants (tenant_id, user_id, role_id, valid_from, granted_by) VALUES ($1, $2, $3, now() - interval '1 minute', 'test')`,
      [options.tenantId, userId, roleId],
    );
  }
  const mfaAt = options.mfa ? new Date() : null;
  const started = await db.transaction((q) =>
    createSession(q, {
      userId,
      tenantId: options.tenantId,
      mfaAt,
      device: { client: 'mobile', fingerprint: null, ip: '127.0.0.1', userAgent: 'clutch-tests' },
    }),
  );
  const { token } = await signAccessToken(keys, {
    userId,
    tenantId: options.tenantId,
    sessionId: started.session.id,
    mfaAt,
  });
  return { userId, tenantId: options.tenantId, sessionId: started.session.id, token };
}
