import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordSecurityEvent } from '@clutch/api';
import type { Database } from '@clutch/db';
import { openTestDatabase, testDatabaseUrl } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { auditCli } from './cli.js';

interface Run {
  code: number;
  out: string[];
  err: string[];
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await auditCli(argv, env, tmpdir(), { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

async function writeEvents(db: Database): Promise<void> {
  for (const action of ['auth.login', 'auth.login.failed', 'role.granted'])
    await db.transaction((q) => recordSecurityEvent(q, { actor: 'user:1', action, outcome: 'success' }));
}

/** Edits the second row behind the append-only trigger, as a superuser (or the owner, with DDL) can. */
async function tamper(db: Database): Promise<{ id: string; hash: string }> {
  const { rows } = await db.query<{ id: string; hash: string }>(
    `SELECT id::text AS id, encode(hash, 'hex') AS hash FROM audit_log WHERE seq = 2`,
  );
  await db.transaction(async (q) => {
    await q.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await q.query(`UPDATE audit_log SET outcome = 'failure' WHERE seq = 2`);
    await q.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
  });
  return rows[0]!;
}

describe('clutch-audit verify on PostgreSQL (DATABASE_URL)', () => {
  let db: Database;
  let url: string;

  beforeAll(async () => {
    db = await openTestDatabase('postgres', { adminUrl: inject('pgAdminUrl'), name: 'audit_cli', signals: false });
    url = testDatabaseUrl(db)!;
    await writeEvents(db);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('reports an intact chain with its head, exit status 0', async () => {
    const { rows } = await db.query<{ hash: string }>(
      `SELECT encode(hash, 'hex') AS hash FROM audit_log ORDER BY seq DESC LIMIT 1`,
    );
    const result = await run(['verify'], { DATABASE_URL: url });
    expect(result).toEqual({ code: 0, out: [`audit chain intact: 3 rows, head ${rows[0]!.hash}`], err: [] });
  });

  it('names the tampered row, the expected and the stored hash, exit status 1', async () => {
    const victim = await tamper(db);
    const result = await run(['verify', '--database-url', url]);
    expect(result.code).toBe(1);
    expect(result.out).toEqual([]);
    expect(result.err).toHaveLength(1);
    const line = result.err[0]!;
    expect(line).toMatch(
      new RegExp(
        `^audit chain broken at row id ${victim.id} \\(seq 2\\): content does not match its hash \\(edited\\); hash expected [0-9a-f]{64}, stored ${victim.hash}$`,
      ),
    );
    expect(line).not.toContain(`expected ${victim.hash}`);
  });
});

describe('clutch-audit verify on PGlite (--data-dir)', () => {
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'clutch-audit-cli-'));
    const db = await openTestDatabase('pglite', { dataDir: dir, signals: false });
    await writeEvents(db);
    await db.close();
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies the directory npm start uses, and finds an edit made while the platform was down', async () => {
    expect((await run(['verify', '--data-dir', dir])).code).toBe(0);
    const db = await openTestDatabase('pglite', { dataDir: dir, migrate: false });
    const victim = await tamper(db);
    await db.close();
    const broken = await run(['verify'], { CLUTCH_DATA_DIR: dir });
    expect(broken.code).toBe(1);
    expect(broken.err[0]).toContain(`row id ${victim.id} (seq 2)`);
  });

  it('refuses a directory without a database instead of creating one', async () => {
    const empty = join(dir, 'nothing-here');
    expect(await run(['verify', '--data-dir', empty])).toEqual({
      code: 2,
      out: [],
      err: [`no database in ${empty} (give --data-dir or --database-url; start the platform once first)`],
    });
  });

  it('explains its usage', async () => {
    expect((await run(['--help'])).out[0]).toContain('clutch-audit verify');
    expect((await run([])).code).toBe(2);
    expect((await run(['prune'])).code).toBe(2);
    expect((await run(['verify', '--bogus'])).code).toBe(2);
  });
});
