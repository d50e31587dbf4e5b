import type { Queryable } from '@clutch/db';
import { user as userFromRow, type User, type UserRow } from '../accounts/users.js';
import { newOpaqueToken, opaqueDigest } from '../tokens/opaque.js';

/** Refresh tokens look like `crt_<43 base64url characters>`. */
export const REFRESH_TOKEN_PREFIX = 'crt';

export type SessionClient = 'browser' | 'mobile';
/** The kind of the user's tenant decides the concurrent-session limit (owners, partner staff, platform staff). */
export type TenantKind = 'consumer' | 'partner' | 'platform';

export interface SessionPolicy {
  /** A refresh token unused this long stops working (the session idles out). */
  idleSeconds: number;
  /** No session lives longer than this from its sign-in, however often it refreshes. */
  absoluteSeconds: number;
  /**
   * How long the token a refresh just replaced is still tolerated, for concurrent refreshes from
   * one client (two tabs, a retry after a lost response): it gets a new access token, no new
   * refresh token. Older tokens, or the parent later than this, are reuse.
   */
  reuseGraceSeconds: number;
  /** Live sessions per user by tenant kind; signing in beyond it evicts the oldest. */
  maxSessions: Record<TenantKind, number>;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = {
  idleSeconds: 7 * 24 * 3600,
  absoluteSeconds: 30 * 24 * 3600,
  reuseGraceSeconds: 10,
  maxSessions: { consumer: 10, partner: 5, platform: 3 },
};

export interface Session {
  id: string;
  userId: string;
  tenantId: string;
  client: SessionClient;
  deviceName: string | null;
  ip: string | null;
  userAgent: string | null;
  createdAt: Date;
  lastSeenAt: Date;
  mfaAt: Date | null;
  expiresAt: Date;
  revokedAt: Date | null;
  revokedReason: string | null;
}

/** A `sessions` row as SESSION_COLUMNS reads it. */
export interface SessionRow {
  id: string;
  user_id: string;
  tenant_id: string;
  client: SessionClient;
  device_name: string | null;
  fingerprint_sha256: Uint8Array | null;
  ip: string | null;
  user_agent: string | null;
  created_at: Date | string;
  last_seen_at: Date | string;
  mfa_at: Date | string | null;
  expires_at: Date | string;
  revoked_at: Date | string | null;
  revoked_reason: string | null;
}

const SESSION_COLUMNS = `id, user_id, tenant_id, client, device_name, fingerprint_sha256, host(ip) AS ip, user_agent,
  created_at, last_seen_at, mfa_at, expires_at, revoked_at, revoked_reason`;

const date = (v: Date | string): Date => new Date(v);
const maybeDate = (v: Date | string | null): Date | null => (v === null ? null : new Date(v));

function session(row: SessionRow): Session {
  return {
    id: row.id,
    userId: row.user_id,
    tenantId: row.tenant_id,
    client: row.client,
    deviceName: row.device_name,
    ip: row.ip,
    userAgent: row.user_agent,
    createdAt: date(row.created_at),
    lastSeenAt: date(row.last_seen_at),
    mfaAt: maybeDate(row.mfa_at),
    expiresAt: date(row.expires_at),
    revokedAt: maybeDate(row.revoked_at),
    revokedReason: row.revoked_reason,
  };
}

const sameBytes = (a: Uint8Array | null, b: Uint8Array | null): boolean =>
  a !== null && b !== null && Buffer.from(a).equals(Buffer.from(b));

/** Where a session is signed in from; stored with the session and compared on every refresh. */
export interface DeviceFacts {
  client: SessionClient;
  deviceName?: string | null | undefined;
  /** SHA-256 of the device fingerprint; null when the client gives none (nothing to compare then). */
  fingerprint: Uint8Array | null;
  ip: string | null;
  userAgent: string | null;
}

export interface StartedSession {
  session: Session;
  /** Shown once: the client keeps it (cookie or app storage); only its digest is stored. */
  refreshToken: string;
  /** Older sessions the limit evicted (already revoked). */
  evicted: Session[];
}

/**
 * Starts a session with its first refresh token, then evicts the user's oldest live sessions beyond
 * the limit of their tenant's kind. The user's row is locked for the count, so concurrent sign-ins
 * cannot both slip under the limit.
 */
export async function createSession(
  q: Queryable,
  input: { userId: string; tenantId: string; mfaAt: Date | null; device: DeviceFacts },
  policy: SessionPolicy = DEFAULT_SESSION_POLICY,
): Promise<StartedSession> {
  const { rows: users } = await q.query<{ kind: TenantKind }>(
    `SELECT t.kind FROM users u JOIN tenants t ON t.id = u.tenant_id
      WHERE u.id = $1 AND u.tenant_id = $2 FOR UPDATE OF u`,
    [input.userId, input.tenantId],
  );
  const kind = users[0]?.kind;
  if (!kind) throw new Error(`createSession: user ${input.userId} is not in tenant ${input.tenantId}`);
  const d = input.device;
  const { rows } = await q.query<SessionRow>(
    `INSERT INTO sessions (tenant_id, user_id, client, device_name, fingerprint_sha256, ip, user_agent, mfa_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6::inet, $7, $8, now() + make_interval(secs => $9))
     RETURNING ${SESSION_COLUMNS}`,
    [
      input.tenantId,
      input.userId,
      d.client,
      d.deviceName ? d.deviceName.slice(0, 100) : null,
      d.fingerprint,
      d.ip,
      d.userAgent?.slice(0, 512) ?? null,
      input.mfaAt,
      policy.absoluteSeconds,
    ],
  );
  const started = session(rows[0]!);
  const refreshToken = await insertRefreshToken(q, started, null, policy);
  const limit = Math.max(1, policy.maxSessions[kind]);
  const { rows: evicted } = await q.query<SessionRow>(
    `UPDATE sessions SET revoked_at = now(), revoked_reason = 'evicted'
      WHERE id IN (SELECT id FROM sessions
                    WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
                    ORDER BY created_at DESC, id DESC OFFSET $2)
      RETURNING ${SESSION_COLUMNS}`,
    [input.userId, limit],
  );
  return { session: started, refreshToken, evicted: evicted.map(session) };
}

async function insertRefreshToken(
  q: Queryable,
  owner: Pick<Session, 'id' | 'tenantId' | 'expiresAt'>,
  parent: Uint8Array | null,
  policy: SessionPolicy,
): Promise<string> {
  const { token, digest } = newOpaqueToken(REFRESH_TOKEN_PREFIX);
  await q.query(
    `INSERT INTO refresh_tokens (token_sha256, tenant_id, session_id, parent_sha256, expires_at)
     VALUES ($1, $2, $3, $4, least($5::timestamptz, now() + make_interval(secs => $6)))`,
    [digest, owner.tenantId, owner.id, parent, owner.expiresAt, policy.idleSeconds],
  );
  return token;
}

/** What a refresh came to. Only `rotated` and `concurrent` let the caller in. */
export type RefreshOutcome =
  /** The live token: replaced by `refreshToken`. */
  | { kind: 'rotated'; session: Session; refreshToken: string }
  /**
   * The token the last refresh replaced, within the grace period, from the same device: a
   * concurrent refresh of one client. It gets an access token; its sibling got the new refresh token.
   */
  | { kind: 'concurrent'; session: Session }
  /** A replaced token presented again: the session (the token family) was revoked just now. */
  | { kind: 'reused'; session: Session }
  /** The live token from another device: the session was revoked just now. */
  | { kind: 'foreign-device'; session: Session }
  /** Unknown, malformed, idle or expired token, or a session already revoked. */
  | { kind: 'invalid' };

interface TokenRow {
  session_id: string;
  rotated_at: Date | string | null;
  expires_at: Date | string;
  /** Seconds since rotation (null while live). */
  rotated_ago: number | null;
  /** The replacement is still the live token. */
  child_live: boolean;
  expired: boolean;
}

/**
 * The common refresh, the live token from its own device, in one statement that needs no
 * transaction around it (so one round trip): lock the session if it is live and the device matches,
 * mark the token rotated if it is still live and unexpired, record the session as seen, insert the
 * replacement, and read the user. Null when any of that does not hold; the caller then takes
 * `rotateRefreshToken`, which says why under the session lock (reuse, another device, expiry...).
 *
 * Why it is as safe as the locked path: the session row is locked (`FOR UPDATE`) before the token
 * row is updated, as the locked path does; in READ COMMITTED, a row lock that had to wait re-checks
 * the row's latest version against the conditions (a session revoked meanwhile drops out), and so
 * does the update of a token another refresh rotated meanwhile. Nothing is written unless the token
 * was live, and the unique index on live tokens stands behind it all.
 */
export async function rotateLiveRefreshToken(
  q: Pick<Queryable, 'query'>,
  presented: string,
  device: Pick<DeviceFacts, 'fingerprint' | 'ip' | 'userAgent'>,
  policy: SessionPolicy = DEFAULT_SESSION_POLICY,
): Promise<{ session: Session; refreshToken: string; user: User } | null> {
  const digest = opaqueDigest(REFRESH_TOKEN_PREFIX, presented);
  if (!digest) return null;
  const next = newOpaqueToken(REFRESH_TOKEN_PREFIX);
  const { rows } = await q.query<SessionRow & { user_row: UserRow | null }>(
    `WITH locked AS (
       SELECT s.id FROM sessions s
        WHERE s.id = (SELECT r.session_id FROM refresh_tokens r WHERE r.token_sha256 = $1)
          AND s.revoked_at IS NULL AND s.expires_at > now()
          AND (s.fingerprint_sha256 IS NULL OR s.fingerprint_sha256 = $2)
        FOR UPDATE
     ), rotated AS (
       UPDATE refresh_tokens t SET rotated_at = now()
         FROM locked
        WHERE t.token_sha256 = $1 AND t.session_id = locked.id AND t.rotated_at IS NULL AND t.expires_at > now()
       RETURNING t.session_id AS rotated_session
     ), seen AS (
       UPDATE sessions SET last_seen_at = now(), ip = coalesce($4::inet, ip), user_agent = coalesce($5, user_agent)
         FROM rotated WHERE sessions.id = rotated.rotated_session
       RETURNING ${SESSION_COLUMNS}
     ), issued AS (
       INSERT INTO refresh_tokens (token_sha256, tenant_id, session_id, parent_sha256, expires_at)
       SELECT $3, seen.tenant_id, seen.id, $1, least(seen.expires_at, now() + make_interval(secs => $6)) FROM seen
     )
     SELECT seen.*, (SELECT to_jsonb(u) FROM users u WHERE u.id = seen.user_id) AS user_row FROM seen`,
    [digest, device.fingerprint, next.digest, device.ip, device.userAgent?.slice(0, 512) ?? null, policy.idleSeconds],
  );
  const row = rows[0];
  if (!row?.user_row) return null;
  return { session: session(row), refreshToken: next.token, user: userFromRow(row.user_row) };
}

/**
 * One refresh, in the caller's transaction. The session row is locked first, so the refreshes of
 * one family are serialised and at most one token of a family is ever live (a unique index says so
 * too). `refreshSession` tries `rotateLiveRefreshToken` first and comes here for everything else.
 */
export async function rotateRefreshToken(
  q: Queryable,
  presented: string,
  device: Pick<DeviceFacts, 'fingerprint' | 'ip' | 'userAgent'>,
  policy: SessionPolicy = DEFAULT_SESSION_POLICY,
): Promise<RefreshOutcome> {
  const digest = opaqueDigest(REFRESH_TOKEN_PREFIX, presented);
  if (!digest) return { kind: 'invalid' };
  const { rows: locked } = await q.query<SessionRow & { live: boolean }>(
    `SELECT ${SESSION_COLUMNS}, (revoked_at IS NULL AND expires_at > now()) AS live
       FROM sessions WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_sha256 = $1) FOR UPDATE`,
    [digest],
  );
  const row = locked[0];
  if (!row || !row.live) return { kind: 'invalid' };
  const sessionId = row.id;
  // Read under the lock: a concurrent refresh may have rotated it meanwhile.
  const { rows: tokens } = await q.query<TokenRow>(
    `SELECT t.session_id, t.rotated_at, t.expires_at, t.expires_at <= now() AS expired,
            extract(epoch FROM now() - t.rotated_at)::float8 AS rotated_ago,
            EXISTS (SELECT 1 FROM refresh_tokens c WHERE c.parent_sha256 = t.token_sha256 AND c.rotated_at IS NULL) AS child_live
       FROM refresh_tokens t WHERE t.token_sha256 = $1`,
    [digest],
  );
  const token = tokens[0]!;
  const current = session(row);
  const sameDevice = row.fingerprint_sha256 === null || sameBytes(row.fingerprint_sha256, device.fingerprint);

  if (token.rotated_at !== null) {
    const concurrent =
      policy.reuseGraceSeconds > 0 &&
      token.child_live &&
      token.rotated_ago !== null &&
      token.rotated_ago <= policy.reuseGraceSeconds &&
      sameDevice;
    if (concurrent) return { kind: 'concurrent', session: current };
    return { kind: 'reused', session: await revoke(q, sessionId, 'refresh-token-reused') };
  }
  if (!sameDevice) return { kind: 'foreign-device', session: await revoke(q, sessionId, 'foreign-device') };
  if (token.expired) return { kind: 'invalid' };

  await q.query('UPDATE refresh_tokens SET rotated_at = now() WHERE token_sha256 = $1', [digest]);
  const refreshToken = await insertRefreshToken(q, current, digest, policy);
  const { rows: seen } = await q.query<SessionRow>(
    `UPDATE sessions SET last_seen_at = now(), ip = coalesce($2::inet, ip), user_agent = coalesce($3, user_agent)
      WHERE id = $1 RETURNING ${SESSION_COLUMNS}`,
    [sessionId, device.ip, device.userAgent?.slice(0, 512) ?? null],
  );
  return { kind: 'rotated', session: session(seen[0]!), refreshToken };
}

/** Where a refresh runs: single statements on their own, and transactions (a `Database`). */
export interface RefreshStore {
  query: Queryable['query'];
  transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
}

/**
 * A whole refresh as the API does it: the one-statement rotation, else the locked path in a
 * transaction, where `andThen` runs too (the audit rows and events of a revocation, so they commit
 * with it). This is what the rotation property test drives.
 */
export async function refreshSession<T = undefined>(
  store: RefreshStore,
  presented: string,
  device: Pick<DeviceFacts, 'fingerprint' | 'ip' | 'userAgent'>,
  policy: SessionPolicy = DEFAULT_SESSION_POLICY,
  andThen?: (q: Queryable, outcome: RefreshOutcome) => Promise<T>,
): Promise<{ outcome: RefreshOutcome; user?: User; then?: T }> {
  const live = await rotateLiveRefreshToken(store, presented, device, policy);
  if (live)
    return { outcome: { kind: 'rotated', session: live.session, refreshToken: live.refreshToken }, user: live.user };
  return store.transaction(async (q) => {
    const outcome = await rotateRefreshToken(q, presented, device, policy);
    return andThen ? { outcome, then: await andThen(q, outcome) } : { outcome };
  });
}

async function revoke(q: Queryable, sessionId: string, reason: string): Promise<Session> {
  const { rows } = await q.query<SessionRow>(
    `UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 RETURNING ${SESSION_COLUMNS}`,
    [sessionId, reason],
  );
  return session(rows[0]!);
}

/** Revokes a live session; null when there is none by that id or it already ended. */
export async function revokeSessionRow(q: Queryable, sessionId: string, reason: string): Promise<Session | null> {
  const { rows } = await q.query<SessionRow>(
    `UPDATE sessions SET revoked_at = now(), revoked_reason = $2
      WHERE id = $1 AND revoked_at IS NULL RETURNING ${SESSION_COLUMNS}`,
    [sessionId, reason],
  );
  return rows[0] ? session(rows[0]) : null;
}

/** Revokes every live session of a user (but `exceptSessionId`); returns those revoked. */
export async function revokeUserSessionRows(
  q: Queryable,
  userId: string,
  reason: string,
  exceptSessionId?: string,
): Promise<Session[]> {
  const { rows } = await q.query<SessionRow>(
    `UPDATE sessions SET revoked_at = now(), revoked_reason = $2
      WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid)
      RETURNING ${SESSION_COLUMNS}`,
    [userId, reason, exceptSessionId ?? null],
  );
  return rows.map(session);
}

/** Records an MFA check in a live session; false when the session is not live. */
export async function markSessionMfaRow(q: Queryable, sessionId: string, at: Date): Promise<boolean> {
  const result = await q.query(
    `UPDATE sessions SET mfa_at = greatest(coalesce(mfa_at, $2), $2)
      WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()`,
    [sessionId, at],
  );
  return result.rowCount > 0;
}

export async function findSession(q: Queryable, sessionId: string): Promise<Session | null> {
  const { rows } = await q.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = $1`, [sessionId]);
  return rows[0] ? session(rows[0]) : null;
}

/**
 * The SELECT of a user's live sessions (`$1`: the user id), without an order: the API pages it
 * (newest sign-in first, by `created_at` and `id`); rows become sessions with `sessionFromRow`.
 */
export const LIVE_USER_SESSIONS_SQL = `SELECT ${SESSION_COLUMNS} FROM sessions
  WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()`;

export const sessionFromRow = (row: SessionRow): Session => session(row);
