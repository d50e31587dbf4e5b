import { randomUUID } from 'node:crypto';
import { openPglite, openPostgres, pgliteOf, type Database } from '@clutch/db';
import { testDatabases, testDatabaseUrl } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCashProvider } from './cash.js';
import { providerContract, type ProviderBooks } from './provider.contract.js';

/**
 * The cash provider with its IOUs in the database (migration 044): the same provider contract as
 * in memory, on both engines; and what the database adds: an IOU outlives the process that wrote it
 * (the database is closed and opened again, then the IOU is settled), it belongs to the shop whose
 * payment it backs, and row-level security shows it to that shop only.
 */

/** What the cash books show for one IOU: its amounts, and the distinct refunds recorded against it. */
async function cashBooks(db: Database, ref: string): Promise<ProviderBooks> {
  const { rows } = await db.query<{ captured: number; refunded: number; refunds: number }>(
    `SELECT i.captured_minor::float8 AS captured, i.refunded_minor::float8 AS refunded,
            (SELECT count(DISTINCT r.result->>'refundRef')::int FROM cash_requests r
              WHERE r.result->>'providerRef' = i.ref AND r.result ? 'refundRef') AS refunds
       FROM cash_ious i WHERE i.ref = $1`,
    [ref],
  );
  const row = rows[0];
  if (!row) throw new Error(`no IOU ${ref}`);
  return {
    captures: row.captured > 0 ? 1 : 0,
    capturedMinor: row.captured,
    refunds: row.refunds,
    refundedMinor: row.refunded,
  };
}

for (const [name, open] of testDatabases(inject('pgAdminUrl'), 'api_cash_books')) {
  providerContract(`cash in the database on ${name}`, async () => {
    const db = await open();
    return {
      provider: createCashProvider({ db }),
      currency: 'EGP',
      books: (ref) => cashBooks(db, ref),
      close: () => db.close(),
    };
  });
}

/** Closes the database and opens it again from what it stored (PGlite: its data directory's dump). */
async function reopen(db: Database): Promise<Database> {
  const pg = pgliteOf(db);
  if (pg) {
    const dump = await pg.dumpDataDir('none');
    await db.close();
    return openPglite(undefined, { loadDataDir: dump });
  }
  const url = testDatabaseUrl(db)!;
  await db.close();
  return openPostgres(url, { max: 2 });
}

describe.each(testDatabases(inject('pgAdminUrl'), 'api_cash_ious'))(
  'cash IOUs in the database on %s',
  (_name, open) => {
    let db: Database;
    const shop = `cash-shop-${randomUUID().slice(0, 8)}`;
    const paymentId = randomUUID();

    beforeAll(async () => {
      db = await open();
      await db.query(
        `INSERT INTO tenants (id, name, kind) VALUES ($1, $1, 'partner'), ('other-shop', 'Other', 'partner')`,
        [shop],
      );
      await db.query(
        `INSERT INTO payments (id, tenant_id, customer_tenant_id, purpose, provider, amount_minor, currency, created_by)
       VALUES ($1, $2, 'consumers', 'repair', 'cash', 45000, 'EGP', 'test:cash')`,
        [paymentId, shop],
      );
    });
    afterAll(async () => {
      await db?.close();
    });

    it('records an IOU for the shop, keeps it over a restart, and settles it afterwards', async () => {
      const before = createCashProvider({ db });
      const held = await before.authorize({
        idempotencyKey: `${paymentId}:authorize`,
        amount: { amountMinor: 45_000, currency: 'EGP' },
        capture: 'manual',
        metadata: { paymentId },
      });
      expect(held).toMatchObject({ status: 'authorized', amountAuthorizedMinor: 45_000 });

      // The shop sees its IOU; another shop sees nothing of it.
      const mine = await db.withTenant(shop, (q) =>
        q.query<{ ref: string; payment_id: string }>(`SELECT ref, payment_id FROM cash_ious`),
      );
      expect(mine.rows).toEqual([{ ref: held.providerRef, payment_id: paymentId }]);
      const theirs = await db.withTenant('other-shop', (q) => q.query(`SELECT ref FROM cash_ious`));
      expect(theirs.rows).toEqual([]);

      db = await reopen(db);
      const after = createCashProvider({ db });
      expect(await after.retrieve(held.providerRef)).toMatchObject({
        status: 'authorized',
        amountAuthorizedMinor: 45_000,
      });
      // A retry of the authorisation after the restart finds the same IOU instead of making a second.
      const again = await after.authorize({
        idempotencyKey: `${paymentId}:authorize`,
        amount: { amountMinor: 45_000, currency: 'EGP' },
        capture: 'manual',
        metadata: { paymentId },
      });
      expect(again.providerRef).toBe(held.providerRef);

      // The shop took 40,000 at the counter, and handed 5,000 back later.
      const captured = await after.capture(held.providerRef, {
        idempotencyKey: `${paymentId}:capture`,
        amountMinor: 40_000,
      });
      expect(captured).toMatchObject({ status: 'captured', amountCapturedMinor: 40_000 });
      const refund = await after.refund(held.providerRef, {
        idempotencyKey: `${paymentId}:refund:1`,
        amountMinor: 5_000,
      });
      expect(refund).toMatchObject({ status: 'succeeded', amountMinor: 5_000, currency: 'EGP' });
      expect(await cashBooks(db, held.providerRef)).toEqual({
        captures: 1,
        capturedMinor: 40_000,
        refunds: 1,
        refundedMinor: 5_000,
      });
      const counts = await db.query<{ ious: number; requests: number }>(
        `SELECT (SELECT count(*)::int FROM cash_ious) AS ious,
              (SELECT count(*)::int FROM cash_requests WHERE tenant_id = $1) AS requests`,
        [shop],
      );
      expect(counts.rows[0]).toEqual({ ious: 1, requests: 3 });
    });

    it('lets two providers over one database settle an IOU once between them', async () => {
      const a = createCashProvider({ db });
      const b = createCashProvider({ db });
      const held = await a.authorize({
        idempotencyKey: randomUUID(),
        amount: { amountMinor: 1_000, currency: 'EGP' },
        capture: 'manual',
        metadata: {},
      });
      // Two processes capture with their own keys at once: one takes the cash, the other is refused.
      const outcomes = await Promise.allSettled([
        a.capture(held.providerRef, { idempotencyKey: randomUUID(), amountMinor: 1_000 }),
        b.capture(held.providerRef, { idempotencyKey: randomUUID(), amountMinor: 700 }),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const books = await cashBooks(db, held.providerRef);
      expect(books.captures).toBe(1);
      expect([1_000, 700]).toContain(books.capturedMinor);
      // An IOU for no payment of ours is the platform's.
      const owner = await db.query<{ tenant_id: string }>(`SELECT tenant_id FROM cash_ious WHERE ref = $1`, [
        held.providerRef,
      ]);
      expect(owner.rows).toEqual([{ tenant_id: 'platform' }]);
    });
  },
);
