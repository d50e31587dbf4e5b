// Ledger throughput (issue 16, DESIGN.md §12: at least 5,000 transfers/s on PostgreSQL while every
// transfer also credits one hot platform-fee account). `npm run bench -- ledger`.
//
// The load: BENCH_SUBMITTERS concurrent submitters (default 256) for BENCH_SECONDS (default 8), each
// payment = two ledger transfers submitted together through the group-commit batcher
// (createLedgerBatcher): customer_wallet -> shop_payable of the price, and shop_payable ->
// platform_revenue of the fee, so every payment credits the one hot platform_revenue account. Every
// transfer is checked against its wallet's limit and hash-chained, as in production.
//
// The reference, in the same run, on the same engine: the same rows (id, accounts, amount,
// currency, reason) inserted by the same kind of batcher into a plain table (primary key only, no
// limits, no chain, no account totals): what a batched INSERT costs on this machine. Printed: both
// rates, their ratio, and the p95 latency of a payment (submit to both results). PGlite figures
// too (no target). `BENCH_DB=postgres|pglite` for one engine.
import { randomUUID } from 'node:crypto';
import { createLedgerBatcher, ledger, type LedgerAccount, type TransferInput } from '@clutch/api';
import { migrate, openPglite, openPostgres, type Database, type Queryable } from '@clutch/db';
import { createTestDatabase, startPostgresServer } from '@clutch/test-support';
import { fmt, percentile } from '../common/stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const SUBMITTERS = Number(process.env.BENCH_SUBMITTERS ?? 256);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 2_000);
const SHOPS = Number(process.env.BENCH_SHOPS ?? 200);
const TARGET = 5_000;
const CURRENCY = 'EUR';

interface Accounts {
  wallets: LedgerAccount[];
  shops: LedgerAccount[];
  revenue: LedgerAccount;
}

async function openAccounts(db: Database): Promise<Accounts> {
  const account = (ref: Partial<Parameters<typeof ledger.ensureAccount>[1]> & { code: LedgerAccount['code'] }) =>
    ledger.ensureAccount(db, {
      tenantId: 'platform',
      ownerUserId: null,
      partnerId: null,
      qualifier: null,
      currency: CURRENCY,
      ...ref,
    });
  const clearing = await account({ code: 'provider_clearing', qualifier: 'stripe' });
  const revenue = await account({ code: 'platform_revenue' });
  const wallets: LedgerAccount[] = [];
  for (let i = 0; i < CUSTOMERS; i++)
    wallets.push(await account({ code: 'customer_wallet', tenantId: 'consumer', ownerUserId: randomUUID() }));
  const shops: LedgerAccount[] = [];
  for (let i = 0; i < SHOPS; i++)
    shops.push(await account({ code: 'shop_payable', tenantId: `shop-${i}`, partnerId: randomUUID() }));
  // Every wallet topped up far beyond what the run spends.
  for (let i = 0; i < wallets.length; i += 1_000)
    await db.transaction((q) =>
      ledger.createTransfers(
        q,
        wallets.slice(i, i + 1_000).map((w) => ({
          id: randomUUID(),
          debitAccountId: clearing.id,
          creditAccountId: w.id,
          amountMinor: 1_000_000_000,
          currency: CURRENCY,
          reason: 'wallet_topup',
        })),
      ),
    );
  return { wallets, shops, revenue };
}

/** One payment: the price to the shop, the fee from the shop to the platform. */
function payment(a: Accounts, n: number): [TransferInput, TransferInput] {
  const wallet = a.wallets[n % a.wallets.length]!;
  const shop = a.shops[(n * 7) % a.shops.length]!;
  const price = 1_000 + (n % 9_000);
  const fee = Math.floor(price / 10);
  return [
    {
      id: randomUUID(),
      debitAccountId: wallet.id,
      creditAccountId: shop.id,
      amountMinor: price,
      currency: CURRENCY,
      reason: 'capture',
    },
    {
      id: randomUUID(),
      debitAccountId: shop.id,
      creditAccountId: a.revenue.id,
      amountMinor: fee,
      currency: CURRENCY,
      reason: 'commission',
    },
  ];
}

interface Figure {
  transfers: number;
  seconds: number;
  p95Ms: number;
  batches: number;
}

/** Runs SUBMITTERS loops for SECONDS, each awaiting its payment's two results before the next. */
async function drive(
  submit: (t: TransferInput) => Promise<unknown>,
  a: Accounts,
  batches: () => number,
): Promise<Figure> {
  let n = 0;
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + SECONDS * 1000;
  const before = batches();
  await Promise.all(
    Array.from({ length: SUBMITTERS }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const [price, fee] = payment(a, n++);
        const results = await Promise.all([submit(price), submit(fee)]);
        for (const r of results)
          if (r !== undefined && (r as { status: string }).status !== 'created')
            throw new Error(`transfer not created: ${JSON.stringify(r)}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { transfers: latencies.length * 2, seconds, p95Ms: percentile(latencies, 95), batches: batches() - before };
}

/** The reference: the same rows, the same group commit, a plain table. */
function rawBatcher(db: Database, maxBatch: number) {
  const queue: { t: TransferInput; done: () => void; fail: (e: unknown) => void }[] = [];
  let writing: Promise<void> | null = null;
  let batches = 0;
  const write = async (batch: typeof queue, q: Queryable) => {
    const col = <K extends keyof TransferInput>(k: K) => batch.map((w) => w.t[k]);
    await q.query(
      `INSERT INTO bench_raw_transfers (id, debit_account_id, credit_account_id, amount, currency, reason)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::text[])`,
      [col('id'), col('debitAccountId'), col('creditAccountId'), col('amountMinor'), col('currency'), col('reason')],
    );
  };
  const drain = (): void => {
    if (writing || queue.length === 0) return;
    const batch = queue.splice(0, maxBatch);
    batches++;
    writing = db
      .transaction((q) => write(batch, q))
      .then(
        () => batch.forEach((w) => w.done()),
        (e) => batch.forEach((w) => w.fail(e)),
      )
      .finally(() => {
        writing = null;
        drain();
      });
  };
  return {
    submit: (t: TransferInput) =>
      new Promise<void>((done, fail) => {
        queue.push({ t, done, fail });
        setImmediate(drain);
      }),
    batches: () => batches,
  };
}

async function benchEngine(label: string, db: Database): Promise<void> {
  await migrate(db);
  await db.query(`CREATE TABLE bench_raw_transfers (id uuid PRIMARY KEY, debit_account_id uuid NOT NULL,
    credit_account_id uuid NOT NULL, amount bigint NOT NULL, currency char(3) NOT NULL, reason text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())`);
  const accounts = await openAccounts(db);

  let batches = 0;
  const counting: Pick<Database, 'transaction'> = {
    transaction: (fn) => {
      batches++;
      return db.transaction(fn);
    },
  };
  const batcher = createLedgerBatcher({ db: counting, maxBatch: 1_000 });
  const ours = await drive(
    (t) => batcher.submit(t),
    accounts,
    () => batches,
  );
  const raw = rawBatcher(db, 1_000);
  const reference = await drive(raw.submit, accounts, raw.batches);

  const verdict = await db.transaction((q) => ledger.verify(q));
  const [revenue] = await ledger.balances(db, [accounts.revenue.id]);
  const rate = (f: Figure) => f.transfers / f.seconds;
  const line = (name: string, f: Figure) =>
    `  ${label.padEnd(10)} ${name.padEnd(22)} ${fmt(rate(f)).padStart(8)} transfers/s  p95 ${fmt(f.p95Ms, 1).padStart(6)} ms per payment  (${fmt(f.transfers)} transfers in ${fmt(f.batches)} batches, ${fmt(f.transfers / Math.max(1, f.batches), 0)}/batch)`;
  console.log(line('ledger (batcher)', ours));
  console.log(line('raw batched INSERT', reference));
  const target =
    label === 'PostgreSQL'
      ? `, ${rate(ours) >= TARGET ? 'meets' : 'BELOW'} the ${fmt(TARGET)}/s target`
      : ' (no target)';
  console.log(
    `  ${label}: the ledger runs at ${fmt((rate(ours) / rate(reference)) * 100, 0)}% of the raw INSERT rate${target}; ` +
      `verify ${verdict.ok ? 'passes' : 'FAILS'} over ${fmt(verdict.transfers)} transfers; the hot fee account holds ${fmt(revenue!.postedMinor)} minor units`,
  );
  if (!verdict.ok) console.log(verdict.problems.slice(0, 5).join('\n'));
}

const only = process.env.BENCH_DB;
console.log(
  `ledger: ${SUBMITTERS} concurrent submitters for ${SECONDS} s, each payment = wallet -> shop + shop -> the one platform fee account (${fmt(CUSTOMERS)} wallets, ${fmt(SHOPS)} shops)`,
);
if (only === undefined || only === 'postgres') {
  const server = await startPostgresServer();
  try {
    const db = await openPostgres(await createTestDatabase(server.adminUrl, 'bench_ledger'));
    try {
      await benchEngine('PostgreSQL', db);
    } finally {
      await db.close();
    }
  } finally {
    server.destroy();
  }
}
if (only === undefined || only === 'pglite') {
  const db = await openPglite();
  try {
    await benchEngine('PGlite', db);
  } finally {
    await db.close();
  }
}
