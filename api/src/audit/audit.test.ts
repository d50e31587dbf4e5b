import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CORE_MIGRATIONS_DIR, migrate, type Database } from '@clutch/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scope } from '../auth/scope.js';
import { backends } from '../test-fixtures.js';
import { GENESIS_HASH, recordAudit, recordSecurityEvent, verifyAuditChain } from './index.js';

interface Stored {
  id: string;
  seq: string;
  tenant_id: string | null;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  outcome: string;
  detail: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

const stored = async (db: Database): Promise<Stored[]> =>
  (
    await db.query<Stored>(
      `SELECT id::text AS id, seq::text AS seq, tenant_id, actor, action, target, host(ip) AS ip, outcome, detail,
              encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash
         FROM audit_log ORDER BY audit_log.seq`,
    )
  ).rows;

/** Edits audit_log behind the append-only trigger's back, as its owner can with DDL. */
async function tamper(db: Database, sql: string, params: unknown[] = []): Promise<void> {
  await db.transaction(async (q) => {
    await q.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await q.query(sql, params);
    await q.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
  });
}

describe.each(backends('api_audit'))('audit log on %s', (_name, open) => {
  let db: Database;

  beforeAll(async () => {
    db = await open!();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('chains every row to the one before it, whoever writes it', async () => {
    await db.transaction((q) =>
      recordSecurityEvent(q, {
        actor: 'user:7',
        action: 'auth.login.failed',
        tenantId: 'acme',
        ip: '203.0.113.9',
        outcome: 'failure',
        detail: { reason: 'password', attempts: 3 },
      }),
    );
    await Scope.system(
      db,
      { actor: 'admin', action: 'tenant.create', target: 'acme', ip: '2001:db8::1' },
      recordAudit,
    ).run(async () => undefined);
    await db.transaction((q) => recordSecurityEvent(q, { actor: 'admin', action: 'role.granted', outcome: 'denied' }));

    const rows = await stored(db);
    expect(rows.map((r) => [r.seq, r.actor, r.action, r.tenant_id, r.target, r.ip, r.outcome, r.detail])).toEqual([
      ['1', 'user:7', 'auth.login.failed', 'acme', null, '203.0.113.9', 'failure', { reason: 'password', attempts: 3 }],
      ['2', 'admin', 'tenant.create', null, 'acme', '2001:db8::1', 'success', {}],
      ['3', 'admin', 'role.granted', null, null, null, 'denied', {}],
    ]);
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH);
    expect(rows[1]!.prev_hash).toBe(rows[0]!.hash);
    expect(rows[2]!.prev_hash).toBe(rows[1]!.hash);
    expect(new Set(rows.map((r) => r.hash)).size).toBe(3);
    expect(await verifyAuditChain(db)).toEqual({ rows: 3, head: rows[2]!.hash, broken: null });
  });

  it('ignores chain values a writer supplies', async () => {
    await db.query(
      `INSERT INTO audit_log (actor, action, outcome, seq, prev_hash, hash) VALUES ('mallory', 'x.forged', 'success', 1, '\\x00', '\\x00')`,
    );
    const rows = await stored(db);
    const forged = rows.at(-1)!;
    expect(forged.actor).toBe('mallory');
    expect(forged.seq).toBe(String(rows.length));
    expect(forged.prev_hash).toBe(rows.at(-2)!.hash);
    expect((await verifyAuditChain(db)).broken).toBeNull();
  });

  it('refuses bad input with a clear error and stores nothing', async () => {
    const before = (await stored(db)).length;
    await expect(
      db.transaction((q) => recordSecurityEvent(q, { actor: 'x', action: 'a.b', outcome: 'maybe' as 'success' })),
    ).rejects.toThrow(/outcome_check|check constraint/);
    await expect(
      db.transaction((q) => recordSecurityEvent(q, { actor: 'x', action: 'a.b', outcome: 'success', ip: 'not-an-ip' })),
    ).rejects.toThrow(/inet/);
    await expect(
      db.transaction((q) => recordSecurityEvent(q, { actor: 'x', action: 'Not Dotted', outcome: 'success' })),
    ).rejects.toThrow(/action_check|check constraint/);
    expect((await stored(db)).length).toBe(before);
    expect((await verifyAuditChain(db)).broken).toBeNull();
  });

  it('is append-only: UPDATE, DELETE and TRUNCATE are refused to the owner too', async () => {
    const before = await stored(db);
    for (const sql of [
      `UPDATE audit_log SET actor = 'someone else'`,
      `DELETE FROM audit_log WHERE seq = 1`,
      `DELETE FROM audit_log WHERE false`,
      `TRUNCATE audit_log`,
    ]) {
      await expect(db.query(sql), sql).rejects.toThrow(/audit_log is append-only/);
    }
    expect(await stored(db)).toEqual(before);
  });

  it('lets a tenant read its own rows and write none', async () => {
    const acme = await db.withTenant('acme', (q) =>
      q.query<{ action: string }>('SELECT action FROM audit_log ORDER BY seq'),
    );
    expect(acme.rows.map((r) => r.action)).toEqual(['auth.login.failed']);
    for (const sql of [
      `INSERT INTO audit_log (tenant_id, actor, action) VALUES ('acme', 'x', 'a.b')`,
      `UPDATE audit_log SET actor = 'x'`,
      `DELETE FROM audit_log`,
    ]) {
      await expect(
        db.withTenant('acme', (q) => q.query(sql)),
        sql,
      ).rejects.toThrow(/permission denied/);
    }
  });

  it('records a failure even though the use case rolled back, when recorded in its own transaction', async () => {
    const signIn = db.transaction(async (q) => {
      await q.query(`INSERT INTO tenants (id, name) VALUES ('half-done', 'never committed')`);
      throw new Error('wrong password');
    });
    await expect(signIn).rejects.toThrow('wrong password');
    await db.transaction((q) =>
      recordSecurityEvent(q, { actor: 'anonymous', action: 'auth.login.failed', outcome: 'failure', target: 'a@b.c' }),
    );
    expect((await db.query(`SELECT 1 FROM tenants WHERE id = 'half-done'`)).rows).toEqual([]);
    expect((await stored(db)).at(-1)).toMatchObject({
      action: 'auth.login.failed',
      target: 'a@b.c',
      outcome: 'failure',
    });
  });

  it('writes no row for a system scope whose work failed', async () => {
    const before = (await stored(db)).length;
    const scope = Scope.system(db, { actor: 'admin', action: 'tenant.create' }, recordAudit);
    await expect(scope.run(() => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect((await stored(db)).length).toBe(before);
  });

  describe('verify', () => {
    it('names the row whose content was edited, with the expected and the stored hash', async () => {
      const rows = await stored(db);
      const victim = rows[1]!;
      await tamper(db, `UPDATE audit_log SET actor = 'someone else' WHERE id = $1`, [victim.id]);
      const report = await verifyAuditChain(db);
      expect(report.head).toBeNull();
      expect(report.broken).toMatchObject({ id: victim.id, seq: victim.seq, field: 'hash', stored: victim.hash });
      expect(report.broken!.expected).toMatch(/^[0-9a-f]{64}$/);
      expect(report.broken!.expected).not.toBe(victim.hash);
      await tamper(db, `UPDATE audit_log SET actor = $2 WHERE id = $1`, [victim.id, victim.actor]);
      expect((await verifyAuditChain(db)).broken).toBeNull();
    });

    it('finds a row whose hash was rewritten to match its edit at the row after it', async () => {
      const rows = await stored(db);
      const [victim, next] = [rows[0]!, rows[1]!];
      await tamper(db, `UPDATE audit_log SET detail = '{"reason":"none"}' WHERE id = $1`, [victim.id]);
      await tamper(
        db,
        `UPDATE audit_log SET hash = sha256(prev_hash || audit_log_canonical(audit_log)) WHERE id = $1`,
        [victim.id],
      );
      // The edited row now checks out on its own; its successor no longer links to it.
      const report = await verifyAuditChain(db, { pageSize: 2 });
      expect(report.broken).toMatchObject({
        id: next.id,
        field: 'prev_hash',
        expected: expect.not.stringMatching(next.prev_hash),
        stored: next.prev_hash,
      });
    });

    it('finds a deleted row by the gap it leaves', async () => {
      const fresh = await open!();
      try {
        for (const action of ['a.one', 'a.two', 'a.three'])
          await fresh.transaction((q) => recordSecurityEvent(q, { actor: 'admin', action, outcome: 'success' }));
        const rows = await stored(fresh);
        await tamper(fresh, `DELETE FROM audit_log WHERE id = $1`, [rows[1]!.id]);
        expect((await verifyAuditChain(fresh)).broken).toEqual({
          id: rows[2]!.id,
          seq: '3',
          field: 'seq',
          expected: '2',
          stored: '3',
        });
      } finally {
        await fresh.close();
      }
    });
  });

  it('chains the rows written before migration 019 in the order they were written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clutch-audit-019-'));
    const early = await open!({ migrate: false });
    try {
      for (const file of readdirSync(CORE_MIGRATIONS_DIR).filter((f) => /^0(0\d|1[0-8])_/.test(f)))
        cpSync(join(CORE_MIGRATIONS_DIR, file), join(dir, file));
      await migrate(early, dir);
      await early.query(
        `INSERT INTO audit_log (tenant_id, actor, action, target, detail) VALUES
           ('acme', 'admin', 'device.provision', 'pi-1', '{"n":1}'), (NULL, 'admin', 'tenant.create', 'acme', '{}')`,
      );
      expect(await migrate(early)).toContain('019_audit_chain.sql');
      const rows = await stored(early);
      expect(rows.map((r) => [r.seq, r.action, r.outcome, r.ip])).toEqual([
        ['1', 'device.provision', 'success', null],
        ['2', 'tenant.create', 'success', null],
      ]);
      await early.transaction((q) => recordSecurityEvent(q, { actor: 'admin', action: 'a.after', outcome: 'success' }));
      expect(await verifyAuditChain(early)).toMatchObject({ rows: 3, broken: null });
    } finally {
      await early.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('audit chain under concurrent writers (PostgreSQL)', () => {
  const [, open] = backends('api_audit_concurrent')[1]!;
  let db: Database;

  beforeAll(async () => {
    db = await open!({ max: 12 });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('forms one chain from parallel transactions, rolled-back ones leaving no gap', async () => {
    const writers = Array.from({ length: 24 }, (_, w) =>
      db
        .transaction(async (q) => {
          for (let i = 0; i < 4; i++) {
            await recordSecurityEvent(q, {
              actor: `writer:${w}`,
              action: 'load.append',
              outcome: 'success',
              detail: { i },
            });
            await q.query('SELECT pg_sleep(0.002)');
          }
          if (w % 5 === 0) throw new Error('rolled back');
        })
        .catch((err: Error) => (err.message === 'rolled back' ? undefined : Promise.reject(err))),
    );
    await Promise.all(writers);
    const rows = await stored(db);
    const committedWriters = 24 - 5; // writers 0, 5, 10, 15, 20 rolled back
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: committedWriters * 4 }, (_, i) => String(i + 1)));
    expect(await verifyAuditChain(db)).toMatchObject({ rows: committedWriters * 4, broken: null });
  });

  it('refuses to append from a REPEATABLE READ transaction, whose snapshot could miss the head', async () => {
    await expect(
      db.transaction(async (q) => {
        await q.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        await recordSecurityEvent(q, { actor: 'x', action: 'a.b', outcome: 'success' });
      }),
    ).rejects.toThrow(/READ COMMITTED/);
  });
});
