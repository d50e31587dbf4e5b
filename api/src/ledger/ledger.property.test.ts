import { randomUUID } from 'node:crypto';
import type { Database } from '@clutch/db';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../test-fixtures.js';
import { createLedgerBatcher } from './batcher.js';
import { accountsById, ledger, transfersById } from './ledger.js';
import type { LedgerAccount, TransferInput, TransferResult } from './types.js';

/**
 * Random concurrent sequences of top-ups, payments, holds, partial and full captures, voids,
 * expiries, refunds and replays (payments through the group-commit batcher) over a few wallets (which
 * may never be overdrawn) and shops. Each step is a batch of operations started together, each in its
 * own transaction, and several runs go at once. After every run: its transfers' postings sum to zero,
 * no hold resolved twice (two concurrent resolutions of the same hold: exactly one wins), replaying
 * its committed transfers in chain order never takes a wallet below zero, and its accounts' totals
 * are those of the replay. After all runs: every currency's postings sum to zero and verify passes.
 */
type Op =
  | { kind: 'topup'; wallet: number; amount: number }
  | { kind: 'pay'; wallet: number; shop: number; amount: number }
  | { kind: 'refund'; shop: number; wallet: number; amount: number }
  | { kind: 'hold'; wallet: number; shop: number; amount: number; timeout: number }
  | { kind: 'post'; hold: number; amount: number | null }
  | { kind: 'void'; hold: number }
  | { kind: 'race'; hold: number }
  | { kind: 'expire'; aheadSeconds: number }
  | { kind: 'replay'; of: number };

const WALLETS = 3;
const SHOPS = 2;
const amount = fc.integer({ min: 1, max: 5_000 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('topup' as const), wallet: fc.nat(WALLETS - 1), amount }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('pay' as const),
      wallet: fc.nat(WALLETS - 1),
      shop: fc.nat(SHOPS - 1),
      amount,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('refund' as const),
      shop: fc.nat(SHOPS - 1),
      wallet: fc.nat(WALLETS - 1),
      amount,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('hold' as const),
      wallet: fc.nat(WALLETS - 1),
      shop: fc.nat(SHOPS - 1),
      amount,
      timeout: fc.constantFrom(0, 1, 30, 3600),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('post' as const),
      hold: fc.nat(20),
      amount: fc.option(amount, { nil: null }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('void' as const), hold: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('race' as const), hold: fc.nat(20) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('expire' as const), aheadSeconds: fc.constantFrom(0, 10, 7200) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay' as const), of: fc.nat(40) }) },
);
/** Steps of 1-4 operations started together. */
const steps = fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 4, maxLength: 10 });

/**
 * Runs per backend (default 1,000 on both; 30-45 ms of this process's CPU per run on PGlite, whose
 * engine runs in the process, 7-13 ms on PostgreSQL) and how many go side by side (default 4). Each
 * run has its own wallets and shops over the one shared ledger; `expire` sweeps every run's holds,
 * which the checks allow for. `LEDGER_PROPERTY_RUNS=10000` for a long run.
 */
const RUNS = Number(process.env.LEDGER_PROPERTY_RUNS ?? 1000);
const PARALLEL = Math.max(1, Number(process.env.LEDGER_PROPERTY_PARALLEL ?? 4));

describe.each(backends('ledger_property'))('ledger properties: %s', (name, open) => {
  let db: Database;
  let clearing: LedgerAccount;
  let run = 0;

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
  });
  afterAll(async () => {
    await db?.close();
  });

  /** One run on accounts of its own; the runs of a batch go side by side over the one shared ledger. */
  const sequence = async (plan: Op[][]): Promise<void> => {
    const me = ++run;
    // Fresh accounts per run (the ledger itself is shared and must stay verifiable throughout).
    const wallets: LedgerAccount[] = [];
    for (let i = 0; i < WALLETS; i++)
      wallets.push(
        await ledger.ensureAccount(db, {
          tenantId: 'consumers',
          ownerUserId: randomUUID(),
          partnerId: null,
          qualifier: null,
          code: 'customer_wallet',
          currency: 'EUR',
        }),
      );
    const shops: LedgerAccount[] = [];
    for (let i = 0; i < SHOPS; i++)
      shops.push(
        await ledger.ensureAccount(db, {
          tenantId: `shop-${me}-${i}`,
          ownerUserId: null,
          partnerId: randomUUID(),
          qualifier: null,
          code: 'shop_payable',
          currency: 'EUR',
        }),
      );
    const batcher = createLedgerBatcher({ db, maxBatch: 8, lingerMs: 2 });
    const holds: string[] = [];
    const submitted: TransferInput[] = [];
    let settled: TransferInput[] = [];
    const ours = new Set<string>();

    const create = async (t: TransferInput): Promise<TransferResult> => {
      submitted.push(t);
      ours.add(t.id);
      const [r] = await db.transaction((q) => ledger.createTransfers(q, [t]));
      return r!;
    };
    const resolve = async (pendingId: string, action: 'post' | 'void', amountMinor?: number) => {
      const id = randomUUID();
      ours.add(id);
      const [r] = await db.transaction((q) => ledger.resolvePending(q, [{ id, pendingId, action, amountMinor }]));
      return r!;
    };
    const transfer = (
      debit: LedgerAccount,
      credit: LedgerAccount,
      amountMinor: number,
      reason: string,
    ): TransferInput => ({
      id: randomUUID(),
      debitAccountId: debit.id,
      creditAccountId: credit.id,
      amountMinor,
      currency: 'EUR',
      reason,
    });

    const perform = async (o: Op): Promise<void> => {
      switch (o.kind) {
        case 'topup':
          expect((await create(transfer(clearing, wallets[o.wallet]!, o.amount, 'wallet_topup'))).status).toBe(
            'created',
          );
          return;
        case 'pay': {
          // Through the group-commit batcher: payments of one step share a transaction, each
          // with its own answer (one over its wallet's limit fails alone).
          const t = transfer(wallets[o.wallet]!, shops[o.shop]!, o.amount, 'capture');
          submitted.push(t);
          ours.add(t.id);
          expect(['created', 'exceeds_credits']).toContain((await batcher.submit(t)).status);
          return;
        }
        case 'refund':
          expect((await create(transfer(shops[o.shop]!, wallets[o.wallet]!, o.amount, 'refund'))).status).toBe(
            'created',
          );
          return;
        case 'hold': {
          const t = {
            ...transfer(wallets[o.wallet]!, shops[o.shop]!, o.amount, 'booking_hold'),
            pending: { timeoutSeconds: o.timeout },
          };
          const r = await create(t);
          expect(['created', 'exceeds_credits']).toContain(r.status);
          if (r.status === 'created') holds.push(t.id);
          return;
        }
        case 'post':
        case 'void': {
          const pendingId = holds[o.hold % Math.max(1, holds.length)];
          if (!pendingId) return;
          const r = await resolve(pendingId, o.kind, o.kind === 'post' ? (o.amount ?? undefined) : undefined);
          expect([
            'created',
            'amount_exceeds_pending',
            'pending_already_posted',
            'pending_already_voided',
            'pending_expired',
          ]).toContain(r.status);
          return;
        }
        case 'race': {
          const pendingId = holds[o.hold % Math.max(1, holds.length)];
          if (!pendingId) return;
          const [a, b] = await Promise.all([resolve(pendingId, 'post'), resolve(pendingId, 'void')]);
          expect([a, b].filter((r) => r.status === 'created').length).toBeLessThanOrEqual(1);
          // Unless it timed out, the hold is now resolved, exactly once (by one of the two, or
          // by another operation of the same step that got there first).
          const { rows: resolutions } = await db.query(`SELECT kind FROM ledger_transfers WHERE pending_id = $1`, [
            pendingId,
          ]);
          if (a.status !== 'pending_expired' || b.status !== 'pending_expired') expect(resolutions).toHaveLength(1);
          for (const r of [a, b])
            expect(['created', 'pending_already_posted', 'pending_already_voided', 'pending_expired']).toContain(
              r.status,
            );
          return;
        }
        case 'expire':
          await db.transaction((q) => ledger.expirePending(q, new Date(Date.now() + o.aheadSeconds * 1000)));
          return;
        case 'replay': {
          // Of an earlier step (one of this step could still be on its way: then the replay may win).
          const original = settled[o.of % Math.max(1, settled.length)];
          if (!original) return;
          const [r] = await db.transaction((q) => ledger.createTransfers(q, [original]));
          expect(['exists', 'exceeds_credits', 'created']).toContain(r!.status);
          if (r!.status === 'exists') {
            expect(r!.transfer.amountMinor).toBe(original.amountMinor);
            const [changed] = await db.transaction((q) =>
              ledger.createTransfers(q, [{ ...original, amountMinor: original.amountMinor + 1 }]),
            );
            expect(changed!.status).toBe('exists_with_different_fields');
          }
          return;
        }
      }
    };

    for (const step of plan) {
      await Promise.all(step.map(perform));
      settled = [...submitted];
    }

    // Replay this run's committed transfers in chain order against a model of the accounts.
    const mine = [...wallets, ...shops].map((a) => a.id);
    // One snapshot of the chain and the totals: another run's `expire` may commit in between otherwise.
    const { rows, transfers, stored, accounts } = await db.transaction(async (q) => {
      await q.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const { rows: ids } = await q.query<{ id: string }>(
        `SELECT DISTINCT transfer_id AS id FROM ledger_postings WHERE account_id = ANY ($1::uuid[])`,
        [mine],
      );
      return {
        rows: ids,
        transfers: (
          await transfersById(
            q,
            ids.map((r) => r.id),
          )
        ).sort((x, y) => x.seq - y.seq),
        stored: await ledger.balances(q, mine),
        accounts: await accountsById(q, mine),
      };
    });
    const byId = new Map(transfers.map((t) => [t.id, t]));
    const model = new Map<string, { dp: number; dpo: number; cp: number; cpo: number }>(
      [clearing.id, ...mine].map((id) => [id, { dp: 0, dpo: 0, cp: 0, cpo: 0 }]),
    );
    const resolvedBy = new Map<string, string>();
    for (const t of transfers) {
      const d = model.get(t.debitAccountId)!;
      const c = model.get(t.creditAccountId)!;
      if (t.kind === 'pending') {
        d.dp += t.amountMinor;
        c.cp += t.amountMinor;
      } else if (t.kind === 'posted') {
        d.dpo += t.amountMinor;
        c.cpo += t.amountMinor;
      } else {
        expect(resolvedBy.has(t.pendingId!)).toBe(false);
        resolvedBy.set(t.pendingId!, t.id);
        const held = byId.get(t.pendingId!)!;
        expect(held.kind).toBe('pending');
        expect(t.amountMinor).toBeLessThanOrEqual(held.amountMinor);
        d.dp -= held.amountMinor;
        c.cp -= held.amountMinor;
        if (t.kind === 'post_pending') {
          d.dpo += t.amountMinor;
          c.cpo += t.amountMinor;
        }
      }
      // A wallet never passes its limit, at any point of the chain.
      for (const w of wallets) {
        const m = model.get(w.id)!;
        expect(m.dp + m.dpo).toBeLessThanOrEqual(m.cpo);
      }
    }
    for (const a of accounts) {
      const m = model.get(a.id)!;
      expect([a.debitsPendingMinor, a.debitsPostedMinor, a.creditsPendingMinor, a.creditsPostedMinor]).toEqual([
        m.dp,
        m.dpo,
        m.cp,
        m.cpo,
      ]);
    }
    expect(stored).toHaveLength(mine.length);
    for (const id of ours) if (byId.has(id)) expect(byId.get(id)!.id).toBe(id);

    // This run's transfers balance, and none of its holds was resolved twice.
    const unbalanced = await db.query(
      `SELECT transfer_id FROM ledger_postings WHERE transfer_id = ANY ($1::uuid[])
            GROUP BY transfer_id, currency HAVING sum(amount) <> 0`,
      [rows.map((r) => r.id)],
    );
    expect(unbalanced.rows).toEqual([]);
    const twice = await db.query(
      `SELECT pending_id FROM ledger_transfers WHERE pending_id = ANY ($1::uuid[]) GROUP BY pending_id HAVING count(*) > 1`,
      [holds],
    );
    expect(twice.rows).toEqual([]);
    runs++;
  };
  let runs = 0;

  it('never creates, loses or double-moves money under concurrent random operations', async () => {
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    await fc.assert(
      fc.asyncProperty(fc.array(steps, { minLength: PARALLEL, maxLength: PARALLEL }), async (batch) => {
        // Settled, not Promise.all: no run of a failed batch is still going when shrinking starts.
        const outcomes = await Promise.allSettled(batch.map(sequence));
        const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
        if (failed) throw failed.reason;
      }),
      {
        numRuns: Math.max(1, Math.ceil(RUNS / PARALLEL)),
        seed: Number(process.env.LEDGER_PROPERTY_SEED ?? 20261203),
        endOnFailure: true,
      },
    );
    expect(runs).toBeGreaterThanOrEqual(RUNS);
    // The books as a whole, once: every currency's postings sum to zero, the chain and totals verify.
    const sums = await db.query<{ total: string }>(
      `SELECT sum(amount)::text AS total FROM ledger_postings GROUP BY currency`,
    );
    expect(sums.rows.every((r) => r.total === '0')).toBe(true);
    const verdict = await db.transaction((q) => ledger.verify(q));
    expect(verdict.problems).toEqual([]);
    const cpu = process.cpuUsage(cpu0);
    console.info(
      `ledger property on ${name}: ${runs} runs (${PARALLEL} at a time) in ${((performance.now() - wall0) / 1000).toFixed(1)} s, ` +
        `${((cpu.user + cpu.system) / 1000 / runs).toFixed(1)} ms CPU of this process per run`,
    );
  }, 1_200_000);
});
