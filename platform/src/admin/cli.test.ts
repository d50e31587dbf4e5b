import { tmpdir } from 'node:os';
import type { Database } from '@clutch/db';
import { openTestDatabase, testDatabaseUrl } from '@clutch/db/testing';
import { consumeAccountToken } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminCli } from './cli.js';

interface Run {
  code: number;
  out: string[];
  err: string[];
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await adminCli(argv, env, tmpdir(), { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('clutch-admin create-admin on PostgreSQL', () => {
  let db: Database;
  let url: string;

  beforeAll(async () => {
    db = await openTestDatabase('postgres', { adminUrl: inject('pgAdminUrl'), name: 'admin_cli', signals: false });
    url = testDatabaseUrl(db)!;
  });
  afterAll(async () => {
    await db?.close();
  });

  it('creates a platform administrator and prints a one-time link that opens the account', async () => {
    const result = await run(['create-admin', '--email', 'Ops@Example.com', '--name', 'Ops', '--database-url', url], {
      CLUTCH_PUBLIC_URL: 'https://clutch.example.com/',
    });
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    const link = /one-time link, valid 7 days, to choose a password: (\S+)$/.exec(result.out[1]!)?.[1];
    expect(link).toMatch(/^https:\/\/clutch\.example\.com\/signin\.html\?invitation=/);
    const token = new URL(link!).searchParams.get('invitation')!;

    const { rows: users } = await db.query<{ id: string; status: string; tenant_id: string }>(
      `SELECT id::text AS id, status, tenant_id FROM users WHERE email = 'ops@example.com'`,
    );
    expect(users).toEqual([{ id: expect.any(String), status: 'invited', tenant_id: 'platform' }]);
    const { rows: roles } = await db.query<{ key: string }>(
      `SELECT r.key FROM role_grants g JOIN roles r ON r.id = g.role_id WHERE g.user_id = $1`,
      [users[0]!.id],
    );
    expect(roles.map((r) => r.key)).toEqual(['platform-admin']);
    const { rows: audit } = await db.query<{ action: string; actor: string }>(
      `SELECT action, actor FROM audit_log WHERE target = $1 ORDER BY seq`,
      [`user:${users[0]!.id}`],
    );
    expect(audit).toEqual([
      { action: 'user.invite', actor: 'cli' },
      { action: 'role.granted', actor: 'cli' },
    ]);
    // The link's token is the invitation the sign-in page accepts, once.
    expect(await db.transaction((q) => consumeAccountToken(q, 'invitation', token))).toEqual({
      userId: users[0]!.id,
      tenantId: 'platform',
    });
    expect(await db.transaction((q) => consumeAccountToken(q, 'invitation', token))).toBeNull();
  });

  it('refuses an address that already has an account, and changes nothing', async () => {
    const before = await db.query(`SELECT count(*)::int AS n FROM role_grants`);
    const result = await run(['create-admin', '--email', 'ops@example.com', '--database-url', url], {
      CLUTCH_PUBLIC_URL: 'https://clutch.example.com',
    });
    expect(result.code).toBe(1);
    expect(result.err[0]).toContain('already has an account');
    expect((await db.query(`SELECT count(*)::int AS n FROM role_grants`)).rows).toEqual(before.rows);
  });

  it('explains its usage and refuses bad input before touching a database', async () => {
    expect((await run(['--help'])).out[0]).toContain('clutch-admin create-admin');
    expect((await run([])).code).toBe(2);
    expect((await run(['drop-everything'])).code).toBe(2);
    expect(
      (await run(['create-admin', '--email', 'not-an-address'], { CLUTCH_PUBLIC_URL: 'https://x.test' })).err[0],
    ).toContain('is not an email address');
    expect((await run(['create-admin', '--email', 'a@b.test'])).err[0]).toContain('give --public-url');
    const missing = await run(['create-admin', '--email', 'a@b.test', '--data-dir', `${tmpdir()}/no-such-clutch-dir`], {
      CLUTCH_PUBLIC_URL: 'https://x.test',
    });
    expect(missing.code).toBe(2);
    expect(missing.err[0]).toContain('no database in');
  });
});
