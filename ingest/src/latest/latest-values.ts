/**
 * The latest value of every signal of every vehicle someone reads, kept by ingest after each commit
 * so the API's `/latest` and `/health` need not re-read minutes of raw samples per request
 * (docs/architecture.md, "Latest values"). In memory when ingest and the API share a process
 * (memory-cache.ts), in Redis when they are scaled out (redis-cache.ts); both pass one contract test.
 *
 * The cache holds views of a vehicle: a tenant id (row-level security shows a tenant only the
 * samples stored under it) or ALL_TENANTS (administrators, who read every sample). A view is
 * tracked from the first read that missed it: from then on every commit's samples are merged into
 * it (newest time per signal wins), and the database read that the miss started completes it
 * (`fill`). The ticket a miss hands out orders the two: whatever was recorded after the ticket is
 * kept when newer than the database's answer, whatever was recorded before is replaced by it (it is
 * in the database's answer, or it was deleted since). A complete view is trusted for `freshMs`,
 * then read again from the database: the bound on anything that changed samples without telling the
 * cache. Changes made outside ingest (a vehicle moved or deleted, a device unbound) drop a vehicle's
 * views through the outbox (invalidation.ts).
 */
export const ALL_TENANTS = '*';

/** A committed sample, as ingest's store step returns it. */
export interface LatestSample {
  tenantId: string;
  vehicleId: string;
  signalId: number;
  /** Sample time, ms since the epoch. */
  timeMs: number;
  value: number;
}

/** One signal's newest sample in a view. */
export interface CachedReading {
  signalId: number;
  timeMs: number;
  value: number;
}

export type LatestLookup =
  | { hit: true; readings: CachedReading[] }
  /** Read the database, then `fill` with the ticket (null: the cache could not track the view; fill nothing). */
  | { hit: false; ticket: string | null };

export interface LatestValuesCache {
  /** Ingest, after a commit: merges the committed samples into every tracked view they belong to. */
  record(samples: readonly LatestSample[]): Promise<void>;
  /** The view's readings when it is complete and fresh; else starts tracking it and hands out a ticket. */
  read(view: string, vehicleId: string): Promise<LatestLookup>;
  /** Completes a view with the newest sample of every signal, as the database had them after the ticket. */
  fill(view: string, vehicleId: string, ticket: string, readings: readonly CachedReading[]): Promise<void>;
  /** Forgets these vehicles (every view): the next read of each goes to the database. */
  invalidate(vehicleIds: readonly string[]): Promise<void>;
  /** Forgets everything (after retention deleted samples). */
  invalidateAll(): Promise<void>;
  close(): Promise<void>;
}

export interface LatestCacheOptions {
  /** How long a completed view is trusted before it is read from the database again (default 10 minutes). */
  freshMs?: number;
  now?: () => number;
}

export const DEFAULT_FRESH_MS = 10 * 60_000;

/**
 * The newest sample per (tenant, vehicle, signal) among `samples`: what a commit can change. A tie
 * keeps the first: the store step keeps the first write of a (vehicle, signal, time).
 */
export function newestPerSignal(
  samples: readonly LatestSample[],
): Map<string, Map<string, Map<number, CachedReading>>> {
  const byVehicle = new Map<string, Map<string, Map<number, CachedReading>>>();
  for (const s of samples) {
    let byTenant = byVehicle.get(s.vehicleId);
    if (!byTenant) byVehicle.set(s.vehicleId, (byTenant = new Map()));
    let bySignal = byTenant.get(s.tenantId);
    if (!bySignal) byTenant.set(s.tenantId, (bySignal = new Map()));
    const current = bySignal.get(s.signalId);
    if (!current || current.timeMs < s.timeMs)
      bySignal.set(s.signalId, { signalId: s.signalId, timeMs: s.timeMs, value: s.value });
  }
  return byVehicle;
}
