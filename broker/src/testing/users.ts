// Test helpers: signed-in people without the API's sign-in routes (only imported by tests). A user
// row, role grants, a session row and an access token signed with the deployment's keys, so a test
// connects to the broker exactly as an app holding a fresh access token would.
import { randomUUID } from 'node:crypto';
import type { Database } from '@clutch/db';
import { createSession, signAccessToken, type SigningKeys } from '@clutch/identity';

export interface TestUser {
  userId: string;
  tenantId: string;
  sessionId: string;
  /** The access token: the MQTT password with username `user`. */
  token: string;
  /** The client id prefix the broker allows this user. */
  clientId: string;
}

/** A user of `tenantId` holding the built-in roles named, signed in (`ttlSeconds`: the token's lifetime). */
export async function signedInUser(
  db: Database,
  keys: SigningKeys,
  options: { tenantId: string; roles: readonly string[]; ttlSeconds?: number; userId?: string },
): Promise<TestUser> {
  const userId = options.userId ?? randomUUID();
  await db.query(
    `INSERT INTO users (id, tenant_id, email, display_name, status) VALUES ($1, $2, $3, 'Test user', 'active')
     ON CONFLICT (id) DO NOTHING`,
    [userId, options.tenantId, `u-${userId}@example.com`],
  );
  for (const role of options.roles) {
    await db.query(
      `INSERT INTO role_grants (tenant_id, user_id, role_id, valid_from, granted_by)
       SELECT $1, $2, id, now() - interval '1 minute', 'test' FROM roles WHERE tenant_id = 'platform' AND key = $3`,
      [options.tenantId, userId, role],
    );
  }
  const started = await db.transaction((q) =>
    createSession(q, {
      userId,
      tenantId: options.tenantId,
      mfaAt: null,
      device: { client: 'mobile', fingerprint: null, ip: '127.0.0.1', userAgent: 'clutch-broker-tests' },
    }),
  );
  const { token } = await signAccessToken(
    keys,
    { userId, tenantId: options.tenantId, sessionId: started.session.id, mfaAt: null },
    options.ttlSeconds !== undefined ? { ttlSeconds: options.ttlSeconds } : {},
  );
  return {
    userId,
    tenantId: options.tenantId,
    sessionId: started.session.id,
    token,
    clientId: `${options.tenantId}/user-${userId}`,
  };
}
