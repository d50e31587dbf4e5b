import { arrayParameter, type Queryable } from '@clutch/db';
import type { StoredSample } from '../samples/repository.js';

// Writes `rollup_dirty` marks; the rollup workers that clear them (refresh.ts, partials.ts) sit beside it.

/**
 * Marks the (vehicle, minute) of every newly stored sample, in the samples'
 * transaction, as held by `worker` (whose in-memory sums rollups/partials.ts will write) or, with
 * worker '', as to be recomputed from the samples (rollups/refresh.ts).
 * One small row per vehicle-minute instead of one rollup upsert per vehicle-signal-minute keeps the
 * ingest transaction close to the cost of its COPY.
 */
export async function markRollupsDirty(tx: Queryable, stored: readonly StoredSample[], worker = ''): Promise<void> {
  if (stored.length === 0) return;
  const minutes = new Map<string, Set<number>>();
  let lastVehicle = '';
  let lastMinute = Number.NaN;
  let set: Set<number> | undefined;
  for (const s of stored) {
    const minute = s.timeMs - (s.timeMs % 60_000);
    if (s.vehicleId !== lastVehicle || !set) {
      lastVehicle = s.vehicleId;
      lastMinute = Number.NaN;
      set = minutes.get(lastVehicle);
      if (!set) minutes.set(lastVehicle, (set = new Set()));
    }
    // A car's rows come by instant: consecutive rows nearly always share the minute.
    if (minute !== lastMinute) set.add((lastMinute = minute));
  }
  const vehicles: string[] = [];
  const starts: string[] = [];
  // A fleet's cars share their minutes: each is formatted once.
  const iso = new Map<number, string>();
  for (const vehicle of [...minutes.keys()].sort()) {
    for (const minute of [...minutes.get(vehicle)!].sort((a, b) => a - b)) {
      let start = iso.get(minute);
      if (start === undefined) iso.set(minute, (start = new Date(minute).toISOString()));
      vehicles.push(vehicle);
      starts.push(start);
    }
  }
  // DO UPDATE rather than DO NOTHING: the row stays locked until this transaction commits, so a
  // recompute of the minute waits for these samples (rollups/refresh.ts). `WHERE false` locks the
  // existing mark without writing a new version of it: PostgreSQL locks every conflicting row of a
  // DO UPDATE whatever its WHERE says. A car re-marks its minute every second; as a real update that
  // was a dead tuple and a primary-key entry each time (the key holds `worker`, so never HOT).
  await tx.query(
    `INSERT INTO rollup_dirty (vehicle_id, minute, worker) SELECT v, m, $3 FROM unnest($1::uuid[], $2::timestamptz[]) AS u(v, m)
     ON CONFLICT (vehicle_id, minute, worker) DO UPDATE SET worker = excluded.worker WHERE false`,
    [arrayParameter(vehicles), arrayParameter(starts), worker],
  );
}
