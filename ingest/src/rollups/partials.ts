import { arrayParameter, type Database } from '@clutch/db';
import type { StoredSample } from '../samples/repository.js';

/**
 * Minute rollups from ingest's own partial aggregates. Recomputing every closed vehicle-minute from
 * the samples reads each sample a second time, which at fleet scale costs as much as storing it
 * (measured: p99 publish-to-stored 5.7 s at 6,000 vehicles, against 0.5 s without it). Instead,
 * each worker sums the samples its transactions stored and, once a minute has closed, adds the sums
 * to `sample_rollups_1m` (n, sum, min, max all combine exactly).
 *
 * Exactly once: a sample's transaction also marks (vehicle, minute, worker) in rollup_dirty. A flush
 * adds a partial only for the marks it deletes itself, in the same statement; a worker that died
 * before flushing leaves its marks behind, and refreshRollups recomputes those minutes from the
 * samples (replacing, so whatever was added before is corrected). If that recompute took a live but
 * late worker's mark, the worker's flush finds no mark and drops its partial: the recompute waited
 * for the mark's transactions and counted those samples. A flush waits for in-flight commits of the minutes it writes and holds new ones
 * back (`commit`), so a mark a flush deletes always belongs to samples already in the partial it
 * writes. It only writes closed minutes, so live traffic (the current minute) never waits; each
 * flush writes at most `maxMinutes` vehicle-minutes, oldest first.
 *
 * Dead workers (rollups/workers.ts): a registered worker whose heartbeat stopped is fenced by the
 * next refresh, which then recomputes its minutes within seconds; a fenced worker's flush adds
 * nothing and deletes no mark, so a worker that was only slow cannot count a sample twice.
 */
export interface RollupPartials {
  readonly worker: string;
  /**
   * Runs an ingest transaction that marks `minutes` (minute starts, ms) for this worker. A flush of
   * any of those minutes waits for it; it waits for a flush of any of them.
   */
  commit<T>(minutes: readonly number[], fn: () => Promise<T>): Promise<T>;
  /** Adds samples whose transaction has committed. */
  add(stored: readonly StoredSample[]): void;
  /**
   * Writes the partials of minutes that closed at least `graceMs` before `now` (every minute with
   * `all`, when stopping). Returns how many vehicle-minutes were written; on failure they stay held.
   */
  flush(
    db: Database,
    options?: { all?: boolean; now?: number; graceMs?: number; maxMinutes?: number },
  ): Promise<number>;
  /** Vehicle-minutes held. */
  size(): number;
}

interface SignalSums {
  n: number;
  sum: number;
  min: number;
  max: number;
}

interface MinutePartial {
  tenantId: string;
  vehicleId: string;
  minute: number;
  signals: Map<number, SignalSums>;
}

const MINUTE = 60_000;

function mergeInto(into: MinutePartial, from: MinutePartial): void {
  for (const [signal, s] of from.signals) {
    const t = into.signals.get(signal);
    if (!t) into.signals.set(signal, { ...s });
    else {
      t.n += s.n;
      t.sum += s.sum;
      if (s.min < t.min) t.min = s.min;
      if (s.max > t.max) t.max = s.max;
    }
  }
}

export function createRollupPartials(options: { worker: string; minutesPerStatement?: number }): RollupPartials {
  const { worker } = options;
  const minutesPerStatement = options.minutesPerStatement ?? 1000;
  const held = new Map<string, MinutePartial>();

  // Per-minute gate: commits share the minutes they touch; a flush takes the minutes it writes.
  const inFlight = new Map<number, number>();
  let flushingMinutes = new Set<number>();
  let flushDone: Promise<void> = Promise.resolve();
  let flushActive = false;
  let drained: (() => void) | null = null;
  const blocksFlush = (): boolean => [...flushingMinutes].some((m) => (inFlight.get(m) ?? 0) > 0);

  return {
    worker,
    async commit(minutes, fn) {
      while (minutes.some((m) => flushingMinutes.has(m))) await flushDone;
      for (const m of minutes) inFlight.set(m, (inFlight.get(m) ?? 0) + 1);
      try {
        return await fn();
      } finally {
        for (const m of minutes) {
          const n = inFlight.get(m)! - 1;
          if (n === 0) inFlight.delete(m);
          else inFlight.set(m, n);
        }
        if (drained && !blocksFlush()) drained();
      }
    },
    add(stored) {
      let partial: MinutePartial | undefined;
      for (const s of stored) {
        const minute = s.timeMs - (s.timeMs % MINUTE);
        // Rows come grouped by vehicle and time: look the minute up only when it changes.
        if (!partial || partial.vehicleId !== s.vehicleId || partial.minute !== minute) {
          const k = `${s.vehicleId}|${minute}`;
          partial = held.get(k);
          if (!partial)
            held.set(k, (partial = { tenantId: s.tenantId, vehicleId: s.vehicleId, minute, signals: new Map() }));
        }
        const sums = partial.signals.get(s.signalId);
        if (!sums) partial.signals.set(s.signalId, { n: 1, sum: s.value, min: s.value, max: s.value });
        else {
          sums.n += 1;
          sums.sum += s.value;
          if (s.value < sums.min) sums.min = s.value;
          if (s.value > sums.max) sums.max = s.value;
        }
      }
    },
    async flush(db, flushOptions = {}) {
      while (flushActive) await flushDone;
      flushActive = true;
      let release!: () => void;
      flushDone = new Promise((resolve) => (release = resolve));
      try {
        const closedBefore = (flushOptions.now ?? Date.now()) - (flushOptions.graceMs ?? 5000) - MINUTE;
        const maxMinutes = flushOptions.maxMinutes ?? Number.POSITIVE_INFINITY;
        let due: MinutePartial[] = [];
        for (const p of held.values()) if (flushOptions.all || p.minute < closedBefore) due.push(p);
        if (due.length > maxMinutes) due = due.sort((a, b) => a.minute - b.minute).slice(0, maxMinutes);
        if (due.length === 0) return 0;
        flushingMinutes = new Set(due.map((p) => p.minute));
        if (blocksFlush()) await new Promise<void>((resolve) => (drained = resolve));
        drained = null;
        // Taken only now: a commit that was in flight has added its samples.
        due = due.map((p) => held.get(`${p.vehicleId}|${p.minute}`)!).filter(Boolean);
        for (const p of due) held.delete(`${p.vehicleId}|${p.minute}`);
        due.sort((a, b) => (a.vehicleId < b.vehicleId ? -1 : a.vehicleId > b.vehicleId ? 1 : a.minute - b.minute)); // one lock order
        let written = 0;
        try {
          for (let i = 0; i < due.length; i += minutesPerStatement) {
            await writePartials(db, worker, due.slice(i, i + minutesPerStatement));
            written = i + minutesPerStatement;
          }
        } catch (err) {
          // Keep what was not written for the next flush (merged with anything added meanwhile).
          for (const p of due.slice(written)) {
            const k = `${p.vehicleId}|${p.minute}`;
            const kept = held.get(k);
            if (kept) mergeInto(p, kept);
            held.set(k, p);
          }
          throw err;
        }
        return due.length;
      } finally {
        flushingMinutes = new Set();
        flushActive = false;
        release();
      }
    },
    size: () => held.size,
  };
}

async function writePartials(db: Database, worker: string, partials: readonly MinutePartial[]): Promise<void> {
  const vehicles: string[] = [];
  const minutes: string[] = [];
  const rows = {
    bucket: [] as string[],
    tenant: [] as string[],
    vehicle: [] as string[],
    signal: [] as number[],
    n: [] as number[],
    sum: [] as number[],
    min: [] as number[],
    max: [] as number[],
  };
  for (const p of partials) {
    const minute = new Date(p.minute).toISOString();
    vehicles.push(p.vehicleId);
    minutes.push(minute);
    for (const [signal, s] of [...p.signals].sort((a, b) => a[0] - b[0])) {
      rows.bucket.push(minute);
      rows.tenant.push(p.tenantId);
      rows.vehicle.push(p.vehicleId);
      rows.signal.push(signal);
      rows.n.push(s.n);
      rows.sum.push(s.sum);
      rows.min.push(s.min);
      rows.max.push(s.max);
    }
  }
  // A fenced worker (declared dead by a refresh, rollups/workers.ts) adds nothing and leaves its
  // marks for the recompute. FOR SHARE on its registry row orders this statement against the fence:
  // either the fence waits for this flush (whose deleted marks the recompute then skips), or this
  // flush waits for the fence and sees it. Unregistered workers have no row and are never fenced.
  await db.query(
    `WITH me AS (
       SELECT fenced_at FROM ingest_workers WHERE id = $3 FOR SHARE
     ), mine AS (
       DELETE FROM rollup_dirty d
       USING unnest($1::uuid[], $2::timestamptz[]) AS k(vehicle_id, minute)
       WHERE d.vehicle_id = k.vehicle_id AND d.minute = k.minute AND d.worker = $3
         AND NOT EXISTS (SELECT 1 FROM me WHERE me.fenced_at IS NOT NULL)
       RETURNING d.vehicle_id, d.minute
     )
     INSERT INTO sample_rollups_1m AS r (bucket, tenant_id, vehicle_id, signal_id, n, sum, min, max)
     SELECT p.bucket, p.tenant_id, p.vehicle_id, p.signal_id, p.n, p.sum, p.min, p.max
     FROM unnest($4::timestamptz[], $5::text[], $6::uuid[], $7::smallint[], $8::int[], $9::float8[], $10::float8[], $11::float8[])
          AS p(bucket, tenant_id, vehicle_id, signal_id, n, sum, min, max)
     JOIN mine m ON m.vehicle_id = p.vehicle_id AND m.minute = p.bucket
     ON CONFLICT (vehicle_id, signal_id, bucket) DO UPDATE
     SET n = r.n + excluded.n, sum = r.sum + excluded.sum, min = least(r.min, excluded.min), max = greatest(r.max, excluded.max)`,
    [
      arrayParameter(vehicles),
      arrayParameter(minutes),
      worker,
      arrayParameter(rows.bucket),
      arrayParameter(rows.tenant),
      arrayParameter(rows.vehicle),
      arrayParameter(rows.signal),
      arrayParameter(rows.n),
      arrayParameter(rows.sum),
      arrayParameter(rows.min),
      arrayParameter(rows.max),
    ],
  );
}
