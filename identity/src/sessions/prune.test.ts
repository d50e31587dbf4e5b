import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sha256 } from '../secrets/secrets.js';
import { pruneIdentityRecords } from './prune.js';

const DAY = 24 * 3600;

describe.each(testDatabases(inject('pgAdminUrl'), 'identity_prune'))('identity pruning on %s', (_name, open) => {
  let db: Database;
  let userId: string;
  let n = 0;

  beforeAll(async () => {
    db = await open({ signals: false });
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO users (tenant_id, email, display_name) VALUES ('consumers', 'prune@example.com', 'P') RETURNING id`,
    );
    userId = rows[0]!.id;
  });
  afterAll(async () => db?.close());

  /** A session with its state set in days from now (negative: past), and two refresh tokens. */
  async function session(state: { expiresIn: number; revokedDaysAgo?: number }): Promise<string> {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO sessions (tenant_id, user_id, client, created_at, last_seen_at, expires_at, revoked_at, revoked_reason)
       VALUES ('consumers', $1, 'mobile', now() - interval '90 days', now() - interval '90 days',
               now() + make_interval(days => $2),
               CASE WHEN $3::int IS NULL THEN NULL ELSE now() - make_interval(days => $3::int) END,
               CASE WHEN $3::int IS NULL THEN NULL ELSE 'signed-out' END)
       RETURNING id`,
      [userId, state.expiresIn, state.revokedDaysAgo ?? null],
    );
    const id = rows[0]!.id;
    const parent = sha256(`token-${n++}`);
    await db.query(
      `INSERT INTO refresh_tokens (token_sha256, tenant_id, session_id, parent_sha256, expires_at, rotated_at)
       VALUES ($1, 'consumers', $2, NULL, now() - interval '60 days', now() - interval '61 days'),
              ($3, 'consumers', $2, $1, now() + interval '1 day', NULL)`,
      [parent, id, sha256(`token-${n++}`)],
    );
    return id;
  }

  async function accountToken(state: { expiresIn: number; usedDaysAgo?: number }): Promise<string> {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO account_tokens (tenant_id, user_id, purpose, token_sha256, created_at, expires_at, used_at)
       VALUES ('consumers', $1, 'password-reset', $2, now() - interval '90 days', now() + make_interval(days => $3),
               CASE WHEN $4::int IS NULL THEN NULL ELSE now() - make_interval(days => $4::int) END)
       RETURNING id`,
      [userId, sha256(`account-${n++}`), state.expiresIn, state.usedDaysAgo ?? null],
    );
    return rows[0]!.id;
  }

  it('deletes sessions, their refresh tokens and account tokens that ended before the retention, and nothing else', async () => {
    const gone = [await session({ expiresIn: 5, revokedDaysAgo: 31 }), await session({ expiresIn: -31 })];
    const kept = {
      live: await session({ expiresIn: 5 }),
      revokedRecently: await session({ expiresIn: 5, revokedDaysAgo: 29 }),
      expiredRecently: await session({ expiresIn: -29 }),
      // Revoked recently though its expiry is long past: it ended when it was revoked.
      revokedAfterExpiry: await session({ expiresIn: -40, revokedDaysAgo: 1 }),
    };
    const accountGone = [await accountToken({ expiresIn: -31 }), await accountToken({ expiresIn: 1, usedDaysAgo: 31 })];
    const accountKept = [
      await accountToken({ expiresIn: 1 }),
      await accountToken({ expiresIn: -29 }),
      await accountToken({ expiresIn: -40, usedDaysAgo: 29 }),
    ];

    expect(await pruneIdentityRecords(db, 30 * DAY)).toEqual({ sessions: 2, refreshTokens: 4, accountTokens: 2 });

    const { rows: sessions } = await db.query<{ id: string }>(`SELECT id FROM sessions`);
    expect(sessions.map((r) => r.id).sort()).toEqual(Object.values(kept).sort());
    expect(sessions.filter((r) => gone.includes(r.id))).toEqual([]);
    const { rows: tokens } = await db.query<{ session_id: string; n: number }>(
      `SELECT session_id, count(*)::int AS n FROM refresh_tokens GROUP BY session_id`,
    );
    // A live session keeps its replaced tokens however old: they are how reuse is recognised.
    expect(tokens.map((r) => [r.session_id, r.n]).sort()).toEqual(
      Object.values(kept)
        .map((id) => [id, 2])
        .sort(),
    );
    const { rows: accounts } = await db.query<{ id: string }>(`SELECT id FROM account_tokens`);
    expect(accounts.map((r) => r.id).sort()).toEqual([...accountKept].sort());
    expect(accountGone.some((id) => accounts.some((r) => r.id === id))).toBe(false);

    // Nothing more to do the second time.
    expect(await pruneIdentityRecords(db, 30 * DAY)).toEqual({ sessions: 0, refreshTokens: 0, accountTokens: 0 });
  });

  it('refuses a retention that is not a number of seconds', async () => {
    await expect(pruneIdentityRecords(db, Number.NaN)).rejects.toThrow(/keepSeconds/);
    await expect(pruneIdentityRecords(db, -1)).rejects.toThrow(/keepSeconds/);
  });
});
