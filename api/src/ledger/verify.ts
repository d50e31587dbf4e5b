import type { Queryable } from '@clutch/db';

/** Chain rows read per query: verify streams a ledger of any length in ranges of this many. */
const RANGE = 10_000;
/** Problems reported at most (a broken ledger can have millions; the first ones locate it). */
const MAX_PROBLEMS = 100;

interface ChainRow {
  seq: string | number;
  id: string;
  hash_ok: boolean;
  link_ok: boolean;
}

/**
 * Recomputes the hash chain (every transfer's hash from its fields and the previous hash, gapless
 * seq, the chain head at the end) and every account's four totals from its transfers and postings
 * (migration 031's ledger_verify_chain and ledger_verify_totals). Runs as the platform (a system
 * transaction): it reads every tenant's accounts.
 */
export async function verifyLedger(q: Queryable): Promise<{ ok: boolean; transfers: number; problems: string[] }> {
  const problems: string[] = [];
  const report = (p: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  const head = await q.query<{ seq: string | number; hash: string; max: string | number | null; last: string | null }>(
    `SELECT h.seq, encode(h.hash, 'hex') AS hash, (SELECT max(seq) FROM ledger_transfers) AS max,
            (SELECT encode(t.hash, 'hex') FROM ledger_transfers t ORDER BY t.seq DESC LIMIT 1) AS last
       FROM ledger_chain_head h`,
  );
  const h = head.rows[0]!;
  const max = h.max === null ? 0 : Number(h.max);
  let expected = 1;
  let transfers = 0;
  for (let from = 1; from <= max; from += RANGE) {
    const { rows } = await q.query<ChainRow>(`SELECT seq, id, hash_ok, link_ok FROM ledger_verify_chain($1, $2)`, [
      from,
      from + RANGE - 1,
    ]);
    for (const row of rows) {
      const seq = Number(row.seq);
      transfers += 1;
      if (seq !== expected) report(`seq ${expected} is missing (next is ${seq})`);
      expected = seq + 1;
      if (!row.hash_ok) report(`transfer ${row.id} (seq ${seq}): its hash does not match its fields`);
      if (!row.link_ok) report(`transfer ${row.id} (seq ${seq}): prev_hash is not the hash of seq ${seq - 1}`);
    }
  }
  if (Number(h.seq) !== max) report(`chain head is at seq ${h.seq}, the last transfer at ${max}`);
  if (max > 0 && h.hash !== h.last) report(`chain head hash differs from the last transfer's`);
  const totals = await q.query<{ problem: string }>(`SELECT problem FROM ledger_verify_totals()`);
  totals.rows.forEach((r) => report(r.problem));
  return { ok: problems.length === 0, transfers, problems };
}
