import { createHash } from 'node:crypto';
import type { Queryable } from '@clutch/db';

/** The prev_hash of the first row (db/migrations/019_audit_chain.sql). */
export const GENESIS_HASH = '00'.repeat(32);

/** Where the chain first stops holding, and what was expected there. */
export interface ChainBreak {
  /** The row (audit_log.id) at which the chain breaks. */
  id: string;
  seq: string;
  /**
   * `seq`: a position is missing (a row deleted) or out of order; `prev_hash`: the row does not
   * link to the one before it; `hash`: the row's content no longer gives its stored hash (edited).
   */
  field: 'seq' | 'prev_hash' | 'hash';
  expected: string;
  stored: string;
}

export interface ChainReport {
  /** Rows checked (up to and including a break). */
  rows: number;
  /** The newest row's hash (hex) when the chain holds: keep it elsewhere to detect truncation. */
  head: string | null;
  broken: ChainBreak | null;
}

interface ChainRow {
  id: string;
  seq: string;
  prev_hash: Uint8Array;
  hash: Uint8Array;
  canonical: Uint8Array;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/**
 * Walks the audit chain in `seq` order and reports the first broken link: each row must take the
 * next position, carry the previous row's hash as prev_hash, and hash to what it stores
 * (sha256(prev_hash || canonical encoding), recomputed here from the row as it is now). The
 * canonical encoding is the database's own `audit_log_canonical` (one definition, migration 019).
 * Needs to see every row: run it as the owner (the platform's database role), not a tenant scope.
 */
export async function verifyAuditChain(q: Queryable, options: { pageSize?: number } = {}): Promise<ChainReport> {
  const pageSize = options.pageSize ?? 1000;
  let rows = 0;
  let expectedSeq = 1n;
  let previous = GENESIS_HASH;
  let last = -1n; // seq values start at 1
  for (;;) {
    const page = await q.query<ChainRow>(
      `SELECT a.id::text AS id, a.seq::text AS seq, a.prev_hash, a.hash, audit_log_canonical(a) AS canonical
         FROM audit_log a WHERE a.seq > $1 ORDER BY a.seq LIMIT $2`,
      [last.toString(), pageSize],
    );
    for (const row of page.rows) {
      rows += 1;
      const at = (field: ChainBreak['field'], expected: string, stored: string): ChainReport => ({
        rows,
        head: null,
        broken: { id: row.id, seq: row.seq, field, expected, stored },
      });
      if (BigInt(row.seq) !== expectedSeq) return at('seq', expectedSeq.toString(), row.seq);
      const prevHash = hex(row.prev_hash);
      if (prevHash !== previous) return at('prev_hash', previous, prevHash);
      const recomputed = createHash('sha256').update(row.prev_hash).update(row.canonical).digest('hex');
      const stored = hex(row.hash);
      if (recomputed !== stored) return at('hash', recomputed, stored);
      previous = stored;
      expectedSeq += 1n;
      last = BigInt(row.seq);
    }
    if (page.rows.length < pageSize) break;
  }
  return { rows, head: rows === 0 ? null : previous, broken: null };
}

/** One line for people: what `clutch-audit verify` prints. */
export function describeChainReport(report: ChainReport): string {
  const b = report.broken;
  if (!b) {
    return report.head === null
      ? 'audit chain intact: no rows yet'
      : `audit chain intact: ${report.rows} rows, head ${report.head}`;
  }
  const what = {
    seq: 'position out of sequence (a row before it is missing)',
    prev_hash: 'does not link to the row before it',
    hash: 'content does not match its hash (edited)',
  }[b.field];
  return `audit chain broken at row id ${b.id} (seq ${b.seq}): ${what}; ${b.field} expected ${b.expected}, stored ${b.stored}`;
}
