import type { Database } from '@clutch/db';

/**
 * The `ingest_workers` registry (migration 013): who holds minute sums, and whether it is still
 * alive. A worker registers at start, beats every few seconds, and fences itself when it stops; the
 * rollup refresh fences workers whose heartbeat went silent (refresh.ts). A fenced worker's flushes
 * add nothing (partials.ts), so its minutes are counted exactly once, by the recompute.
 */
export const WORKER_DEAD_AFTER_MS = 15_000;
export const WORKER_HEARTBEAT_MS = 5_000;

export async function registerWorker(db: Database, worker: string): Promise<void> {
  await db.query(`INSERT INTO ingest_workers (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [worker]);
}

/**
 * The single worker of an embedded platform owns the database: any other registered worker is a
 * previous run that was killed, so its minutes can be recomputed at once instead of after 15 s.
 * Returns the ids it fenced.
 */
export async function fenceOtherWorkers(db: Database, worker: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE ingest_workers SET fenced_at = now() WHERE id <> $1 AND fenced_at IS NULL RETURNING id`,
    [worker],
  );
  return rows.map((r) => r.id);
}

/**
 * Moves the heartbeat on. False when this worker was fenced meanwhile (it was silent too long): it
 * keeps working, but its minute sums are dropped and its minutes recomputed from the samples.
 */
export async function beat(db: Database, worker: string): Promise<boolean> {
  const { rows } = await db.query(
    `UPDATE ingest_workers SET heartbeat_at = now() WHERE id = $1 AND fenced_at IS NULL RETURNING id`,
    [worker],
  );
  return rows.length > 0;
}

/** After the last flush of a clean stop: whatever marks are left are recomputed promptly. */
export async function retireWorker(db: Database, worker: string): Promise<void> {
  await db.query(`UPDATE ingest_workers SET fenced_at = coalesce(fenced_at, now()) WHERE id = $1`, [worker]);
}
