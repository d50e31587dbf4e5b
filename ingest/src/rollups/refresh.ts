import type { Database } from '@clutch/db';
import { WORKER_DEAD_AFTER_MS } from './workers.js';

export interface RefreshOptions {
  /** Leave minutes younger than this alone: they are still filling, and would only be recomputed again. */
  graceMs?: number;
  /** Vehicle-minutes per transaction. */
  limit?: number;
  /** Stop after this many transactions even if more minutes are dirty (pacing); default: until none is left. */
  maxTransactions?: number;
  /**
   * A minute marked by an ingest worker (which writes its own partial sums, rollups/partials.ts) is
   * recomputed only once it is this old: the worker has then had ample time to flush, so the mark
   * is an orphan (the worker died). Default 10 minutes.
   */
  orphanAfterMs?: number;
  /**
   * A registered worker (ingest_workers) whose heartbeat is older than this is fenced and its minutes
   * recomputed at once, without waiting for orphanAfterMs (default 15 s; see rollups/workers.ts).
   */
  workerDeadAfterMs?: number;
  /** The calling worker: never fenced by its own refresh (a slow tick of its own is not a death). */
  self?: string;
}

/**
 * Recomputes the 1-minute rollups of dirty vehicle-minutes from the samples themselves, replacing
 * whatever was there: the result depends only on the stored samples, never on how often or in what
 * order they arrived. It takes minutes marked for recompute (worker '') and minutes whose every mark
 * is an orphan (see orphanAfterMs) or belongs to a fenced worker (see workerDeadAfterMs); a minute a
 * live worker still holds waits for its flush. It first
 * locks the minutes' marks, so it reads the samples only after every ingest transaction that marked
 * them has committed; a mark it deletes then never belongs to samples it did not count, and the
 * worker's flush drops the sums of a mark that is gone. Several ingest workers can run it at once (a
 * mark is deleted once, so a minute is counted once). Returns how many vehicle-minutes it refreshed.
 */
export async function refreshRollups(db: Database, options: RefreshOptions = {}): Promise<number> {
  const graceMs = options.graceMs ?? 10_000;
  const limit = options.limit ?? 2000;
  const maxTransactions = options.maxTransactions ?? Number.POSITIVE_INFINITY;
  const orphanAfterMs = options.orphanAfterMs ?? 600_000;
  const deadAfterMs = options.workerDeadAfterMs ?? WORKER_DEAD_AFTER_MS;
  let total = 0;
  for (let transactions = 1; ; transactions++) {
    const { candidates, refreshed } = await db.transaction(async (tx) => {
      // Fence the silent workers first (row locks until commit): a flush of theirs either finished
      // before (its deleted marks are not picked below) or waits and then adds nothing (partials.ts).
      await tx.query(
        `UPDATE ingest_workers SET fenced_at = now()
         WHERE fenced_at IS NULL AND heartbeat_at < now() - make_interval(secs => $1::float8 / 1000) AND id <> $2`,
        [deadAfterMs, options.self ?? ''],
      );
      await tx.query(`DELETE FROM ingest_workers WHERE fenced_at < now() - interval '1 day'`);
      const picked = await tx.query<{ vehicle_id: string; minute: Date | string }>(
        `SELECT d.vehicle_id, d.minute FROM rollup_dirty d
         LEFT JOIN ingest_workers w ON w.id = d.worker AND w.fenced_at IS NOT NULL
         WHERE d.minute < now() - make_interval(secs => $1::float8 / 1000) - interval '1 minute'
         GROUP BY d.vehicle_id, d.minute
         HAVING bool_and(d.worker = '' OR w.id IS NOT NULL OR d.minute < now() - make_interval(secs => $3::float8 / 1000))
         ORDER BY d.vehicle_id, d.minute LIMIT $2`,
        [graceMs, limit, orphanAfterMs],
      );
      if (picked.rows.length === 0) return { candidates: 0, refreshed: 0 };
      const keys = [picked.rows.map((r) => r.vehicle_id), picked.rows.map((r) => new Date(r.minute).toISOString())];
      // Wait for ingest transactions still adding to these minutes (they hold their marks' row
      // locks until commit): their samples must be in what the next statement reads.
      await tx.query(
        `SELECT 1 FROM rollup_dirty d JOIN unnest($1::uuid[], $2::timestamptz[]) AS k(vehicle_id, minute)
           ON d.vehicle_id = k.vehicle_id AND d.minute = k.minute
         ORDER BY d.vehicle_id, d.minute, d.worker FOR UPDATE OF d`,
        keys,
      );
      // A new statement sees what they committed (READ COMMITTED takes a snapshot per statement).
      const { rows } = await tx.query<{ n: number }>(
        `WITH deleted AS (
           DELETE FROM rollup_dirty d USING unnest($1::uuid[], $2::timestamptz[]) AS k(vehicle_id, minute)
           WHERE d.vehicle_id = k.vehicle_id AND d.minute = k.minute
           RETURNING d.vehicle_id, d.minute
         ), picked AS (
           SELECT DISTINCT vehicle_id, minute FROM deleted
         ), fresh AS (
           INSERT INTO sample_rollups_1m AS r (bucket, tenant_id, vehicle_id, signal_id, n, sum, min, max)
           SELECT p.minute, s.tenant_id, s.vehicle_id, s.signal_id, count(*), sum(s.value), min(s.value), max(s.value)
           -- One range of the primary key (vehicle, time, signal) per vehicle-minute.
           FROM picked p
           JOIN samples s ON s.vehicle_id = p.vehicle_id
             AND s.time >= p.minute AND s.time < p.minute + interval '1 minute'
           GROUP BY p.minute, s.tenant_id, s.vehicle_id, s.signal_id
           ORDER BY s.vehicle_id, s.signal_id, p.minute
           ON CONFLICT (vehicle_id, signal_id, bucket) DO UPDATE
           SET n = excluded.n, sum = excluded.sum, min = excluded.min, max = excluded.max
         )
         SELECT count(*)::int AS n FROM picked`,
        keys,
      );
      return { candidates: picked.rows.length, refreshed: rows[0]!.n };
    });
    total += refreshed;
    if (candidates < limit || transactions >= maxTransactions) return total;
  }
}
