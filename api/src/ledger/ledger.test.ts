import { enterUserScope, type Database } from '@clutch/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../test-fixtures.js';
import { transferId } from './ids.js';
import { ledger } from './ledger.js';
import type { LedgerAccount, TransferResult } from './types.js';

const USER_A = 'aaaaaaaa-0000-4000-8000-000000000001';
const USER_B = 'aaaaaaaa-0000-4000-8000-000000000002';
const SHOP = 'bbbbbbbb-0000-4000-8000-000000000001';

describe('transferId', () => {
  it('is a stable uuid v5 per name', () => {
    expect(transferId('capture:p1:1')).toBe(transferId('capture:p1:1'));
    expect(transferId('capture:p1:1')).not.toBe(transferId('capture:p1:2'));
    expect(transferId('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
  it('matches the RFC 9562 test vector (DNS namespace, www.example.com)', async () => {
    const { uuidV5 } = await import('./ids.js');
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });
});

const walletRefOf = (owner: string) => ({
  tenantId: 'consumer',
  ownerUserId: owner,
  partnerId: null,
  qualifier: null,
  code: 'customer_wallet' as const,
  currency: 'EUR',
});

const statuses = (rs: TransferResult[]): string[] => rs.map((r) => r.status);

describe.each(backends('ledger'))('ledger: %s', (_name, open) => {
  let db: Database;
  let clearing: LedgerAccount;
  let walletA: LedgerAccount;
  let walletB: LedgerAccount;
  let shop: LedgerAccount;
  let revenue: LedgerAccount;

  beforeAll(async () => {
    db = await open!();
    clearing = await ledger.ensureAccount(db, {
      tenantId: 'platform',
      ownerUserId: null,
      partnerId: null,
      qualifier: 'stripe',
      code: 'provider_clearing',
      currency: 'EUR',
    });
    const wallet = (owner: string) => ({
      tenantId: 'consumer',
      ownerUserId: owner,
      partnerId: null,
      qualifier: null,
      code: 'customer_wallet' as const,
      currency: 'EUR',
    });
    walletA = await ledger.ensureAccount(db, wallet(USER_A));
    walletB = await ledger.ensureAccount(db, wallet(USER_B));
    shop = await ledger.ensureAccount(db, {
      tenantId: 'shop-tenant',
      ownerUserId: null,
      partnerId: SHOP,
      qualifier: null,
      code: 'shop_payable',
      currency: 'EUR',
    });
    revenue = await ledger.ensureAccount(db, {
      tenantId: 'platform',
      ownerUserId: null,
      partnerId: null,
      qualifier: null,
      code: 'platform_revenue',
      currency: 'EUR',
    });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('opens one account per holder, code and currency (absent parts count as equal)', async () => {
    const again = await ledger.ensureAccount(db, {
      tenantId: 'consumer',
      ownerUserId: USER_A,
      partnerId: null,
      qualifier: null,
      code: 'customer_wallet',
      currency: 'EUR',
    });
    expect(again.id).toBe(walletA.id);
    expect(again.debitsMustNotExceedCredits).toBe(true);
    expect(revenue.debitsMustNotExceedCredits).toBe(false);
  });

  it('moves money once per id, answers each transfer of a batch on its own, and keeps the limits', async () => {
    const topUp = {
      id: transferId('test:topup:a'),
      debitAccountId: clearing.id,
      creditAccountId: walletA.id,
      amountMinor: 10_000,
      currency: 'EUR',
      reason: 'wallet_topup',
    };
    const first = await ledger.createTransfers(db, [topUp]);
    expect(statuses(first)).toEqual(['created']);
    const batch = await ledger.createTransfers(db, [
      topUp,
      { ...topUp, amountMinor: 1 },
      // 7,000 then 4,000 from a wallet holding 10,000: the second fails alone
      {
        ...topUp,
        id: transferId('test:a-b:1'),
        debitAccountId: walletA.id,
        creditAccountId: walletB.id,
        amountMinor: 7_000,
        reason: 'wallet_transfer',
      },
      {
        ...topUp,
        id: transferId('test:a-b:2'),
        debitAccountId: walletA.id,
        creditAccountId: walletB.id,
        amountMinor: 4_000,
        reason: 'wallet_transfer',
      },
      {
        ...topUp,
        id: transferId('test:a-b:3'),
        debitAccountId: walletA.id,
        creditAccountId: walletB.id,
        amountMinor: 3_000,
        reason: 'wallet_transfer',
      },
      { ...topUp, id: transferId('test:bad'), amountMinor: 0 },
      { ...topUp, id: transferId('test:big'), amountMinor: Number.MAX_SAFE_INTEGER + 2 },
      { ...topUp, id: transferId('test:same'), creditAccountId: clearing.id },
      { ...topUp, id: transferId('test:usd'), currency: 'USD' },
      { ...topUp, id: transferId('test:none'), creditAccountId: 'cccccccc-0000-4000-8000-000000000000' },
    ]);
    expect(statuses(batch)).toEqual([
      'exists',
      'exists_with_different_fields',
      'created',
      'exceeds_credits',
      'created',
      'invalid_amount',
      'invalid_amount',
      'accounts_must_differ',
      'currency_mismatch',
      'account_not_found',
    ]);
    const [a, b] = await ledger.balances(db, [walletA.id, walletB.id]);
    expect(a).toMatchObject({ postedMinor: 0, availableMinor: 0 });
    expect(b).toMatchObject({ postedMinor: 10_000, availableMinor: 10_000 });
  });

  it('holds, posts part of a hold (the rest returns), and resolves a hold at most once', async () => {
    const hold = {
      id: transferId('test:hold:1'),
      debitAccountId: walletB.id,
      creditAccountId: shop.id,
      amountMinor: 6_000,
      currency: 'EUR',
      reason: 'booking_hold',
      pending: { timeoutSeconds: 3600 },
      reference: 'booking:1',
    };
    const [held] = await ledger.createTransfers(db, [hold]);
    expect(held!.status).toBe('created');
    if (held!.status !== 'created') return;
    expect(held!.transfer.kind).toBe('pending');
    expect(held!.transfer.timeoutAt).toBeInstanceOf(Date);
    const [b] = await ledger.balances(db, [walletB.id]);
    expect(b).toMatchObject({ postedMinor: 10_000, availableMinor: 4_000, pendingDebitsMinor: 6_000 });

    const post = {
      id: transferId('test:hold:1:post'),
      pendingId: hold.id,
      action: 'post' as const,
      amountMinor: 2_500,
    };
    const results = await ledger.resolvePending(db, [
      post,
      post,
      { id: transferId('test:hold:1:void'), pendingId: hold.id, action: 'void' },
      { id: transferId('test:hold:x'), pendingId: transferId('nothing'), action: 'void' },
    ]);
    expect(statuses(results)).toEqual(['created', 'exists', 'pending_already_posted', 'pending_not_found']);
    const [b2, s] = await ledger.balances(db, [walletB.id, shop.id]);
    expect(b2).toMatchObject({ postedMinor: 7_500, availableMinor: 7_500, pendingDebitsMinor: 0 });
    expect(s).toMatchObject({ postedMinor: 2_500, pendingCreditsMinor: 0 });

    const over = await ledger.createTransfers(db, [{ ...hold, id: transferId('test:hold:2'), amountMinor: 7_501 }]);
    expect(statuses(over)).toEqual(['exceeds_credits']);
    const [tooMuch] = await ledger.createTransfers(db, [
      { ...hold, id: transferId('test:hold:3'), amountMinor: 1_000 },
    ]);
    const more = await ledger.resolvePending(db, [
      { id: transferId('test:hold:3:post'), pendingId: tooMuch!.id, action: 'post', amountMinor: 1_001 },
    ]);
    expect(statuses(more)).toEqual(['amount_exceeds_pending']);
  });

  it('expires holds past their timeout, once', async () => {
    const hold = {
      id: transferId('test:expiring'),
      debitAccountId: walletB.id,
      creditAccountId: shop.id,
      amountMinor: 500,
      currency: 'EUR',
      reason: 'booking_hold',
      pending: { timeoutSeconds: 60 },
    };
    await ledger.createTransfers(db, [hold]);
    const later = new Date(Date.now() + 3_600_000 * 2);
    expect(await ledger.expirePending(db, later)).toBeGreaterThanOrEqual(1);
    expect(await ledger.expirePending(db, later)).toBe(0);
    const [late] = await ledger.resolvePending(db, [
      { id: transferId('test:expiring:post'), pendingId: hold.id, action: 'post' },
    ]);
    expect(late!.status).toBe('pending_expired');
  });

  it('pages an account history newest first, and verifies the chain and the totals', async () => {
    const page1 = await ledger.history(db, walletB.id, { limit: 2 });
    expect(page1.transfers).toHaveLength(2);
    expect(page1.next).not.toBeNull();
    const page2 = await ledger.history(db, walletB.id, { limit: 100, before: page1.next! });
    expect(page2.transfers[0]!.seq).toBeLessThan(page1.transfers[1]!.seq);
    expect(page2.next).toBeNull();
    const verdict = await ledger.verify(db);
    expect(verdict.problems).toEqual([]);
    expect(verdict.ok).toBe(true);
    const sums = await db.query<{ currency: string; total: string }>(
      `SELECT currency, sum(amount)::text AS total FROM ledger_postings GROUP BY currency`,
    );
    expect(sums.rows.every((r) => r.total === '0')).toBe(true);
  });

  it("lets a tenant read only its holders' accounts and postings, and write only through the ledger's functions", async () => {
    await db.query(
      `INSERT INTO tenants (id, name, kind) VALUES ('consumers', 'Car owners', 'consumer') ON CONFLICT (id) DO NOTHING`,
    );
    const mine = await ledger.ensureAccount(db, {
      tenantId: 'consumers',
      ownerUserId: USER_A,
      partnerId: null,
      qualifier: null,
      code: 'customer_wallet',
      currency: 'EUR',
    });
    const other = await ledger.ensureAccount(db, { ...walletRefOf(USER_B), tenantId: 'consumers' });
    await db.withTenant('consumers', async (q) => {
      await enterUserScope(q, USER_A);
      const seen = await q.query<{ id: string }>(`SELECT id FROM ledger_accounts`);
      expect(seen.rows.map((r) => r.id)).toEqual([mine.id]);
      // Money moves between holders (the other is not visible) through the functions only.
      await ledger.createTransfers(q, [
        {
          id: transferId('test:rls:topup'),
          debitAccountId: clearing.id,
          creditAccountId: mine.id,
          amountMinor: 100,
          currency: 'EUR',
          reason: 'wallet_topup',
        },
      ]);
      const [sent] = await ledger.createTransfers(q, [
        {
          id: transferId('test:rls:a-b'),
          debitAccountId: mine.id,
          creditAccountId: other.id,
          amountMinor: 40,
          currency: 'EUR',
          reason: 'wallet_transfer',
        },
      ]);
      expect(sent!.status).toBe('created');
      const postings = await q.query<{ account_id: string }>(`SELECT DISTINCT account_id FROM ledger_postings`);
      expect(postings.rows.map((r) => r.account_id)).toEqual([mine.id]);
      const history = await ledger.history(q, other.id, { limit: 10 });
      expect(history.transfers).toEqual([]);
      await q.query('SAVEPOINT direct');
      await expect(
        q.query(`UPDATE ledger_accounts SET credits_posted = 1000000 WHERE id = $1`, [mine.id]),
      ).rejects.toThrow(/permission denied/);
      await q.query('ROLLBACK TO SAVEPOINT direct');
      await expect(q.query(`SELECT count(*) FROM ledger_transfers`)).rejects.toThrow(/permission denied/);
      await q.query('ROLLBACK TO SAVEPOINT direct');
    });
  });

  it('refuses to change or delete an entry', async () => {
    await expect(db.query(`UPDATE ledger_transfers SET amount = amount + 1`)).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM ledger_postings`)).rejects.toThrow(/append-only/);
  });

  it('reports a tampered transfer', async () => {
    await db.transaction(async (q) => {
      await q.query(`ALTER TABLE ledger_transfers DISABLE TRIGGER ledger_transfers_immutable`);
      await q.query(`UPDATE ledger_transfers SET amount = amount + 1 WHERE seq = 2`);
      await q.query(`ALTER TABLE ledger_transfers ENABLE TRIGGER ledger_transfers_immutable`);
    });
    const verdict = await ledger.verify(db);
    expect(verdict.ok).toBe(false);
    expect(verdict.problems.join('\n')).toMatch(/seq 2\): its hash does not match/);
    expect(verdict.problems.join('\n')).toMatch(/differ from its transfers/);
  });
});
