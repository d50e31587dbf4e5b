import { tmpdir } from 'node:os';
import { ledger, transferId } from '@clutch/api';
import type { Database } from '@clutch/db';
import { openTestDatabase, testDatabaseUrl } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminCli } from './cli.js';

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await adminCli(argv, {}, tmpdir(), { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('clutch-admin ledger verify on PostgreSQL', () => {
  let db: Database;
  let url: string;

  beforeAll(async () => {
    db = await openTestDatabase('postgres', { adminUrl: inject('pgAdminUrl'), name: 'admin_ledger', signals: false });
    url = testDatabaseUrl(db)!;
    const account = (code: 'provider_clearing' | 'platform_revenue') =>
      ledger.ensureAccount(db, {
        tenantId: 'platform',
        ownerUserId: null,
        partnerId: null,
        qualifier: null,
        code,
        currency: 'EUR',
      });
    const [from, to] = [await account('provider_clearing'), await account('platform_revenue')];
    const results = await ledger.createTransfers(
      db,
      [1, 2, 3].map((n) => ({
        id: transferId(`admin-test:${n}`),
        debitAccountId: from.id,
        creditAccountId: to.id,
        amountMinor: n * 100,
        currency: 'EUR',
        reason: 'commission',
      })),
    );
    expect(results.map((r) => r.status)).toEqual(['created', 'created', 'created']);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('passes an intact ledger and fails one whose entry was changed behind its back', async () => {
    const intact = await run(['ledger', 'verify', '--database-url', url]);
    expect(intact.err).toEqual([]);
    expect(intact.out).toEqual(['ledger intact: 3 transfers, hash chain and account totals verified']);
    expect(intact.code).toBe(0);

    // The owner, with the immutability trigger off, changes an amount: the chain and the totals disagree.
    await db.transaction(async (q) => {
      await q.query('ALTER TABLE ledger_transfers DISABLE TRIGGER ledger_transfers_immutable');
      await q.query(`UPDATE ledger_transfers SET amount = 250 WHERE id = $1`, [transferId('admin-test:2')]);
      await q.query('ALTER TABLE ledger_transfers ENABLE TRIGGER ledger_transfers_immutable');
    });
    const broken = await run(['ledger', 'verify', '--database-url', url]);
    expect(broken.code).toBe(1);
    expect(broken.err[0]).toBe('ledger BROKEN (3 transfers checked):');
    expect(broken.err.join('\n')).toContain('(seq 2): its hash does not match its fields');
    expect(broken.err.join('\n')).toMatch(/differ from its transfers/);
  });

  it('explains its usage', async () => {
    const bad = await run(['ledger', 'check']);
    expect(bad.code).toBe(2);
    expect(bad.err[0]).toMatch(/unknown ledger command "check"/);
  });
});
