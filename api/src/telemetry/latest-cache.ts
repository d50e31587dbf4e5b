/**
 * What the API needs of the latest-values cache ingest keeps (`@clutch/ingest`'s `latest/`: in
 * memory when embedded, in Redis when scaled out). Declared here, not imported, because the API
 * may not depend on ingest; the platform hands ingest's cache over, and TypeScript checks there
 * that it fits.
 *
 * A view is what one kind of caller sees of a vehicle's samples: a tenant id (row-level security
 * shows a tenant only the samples stored under it) or ALL_TENANTS (administrators). Each view is
 * cached on its own, so a tenant's answer is built from that tenant's samples only, exactly as the
 * database would build it.
 */
export const ALL_TENANTS = '*';

/** One signal's newest sample in a view. */
export interface CachedReading {
  signalId: number;
  /** Sample time, ms since the epoch. */
  timeMs: number;
  value: number;
}

export type LatestLookup =
  /** The view is complete: these are the newest samples of every signal the vehicle ever sent in it. */
  | { hit: true; readings: CachedReading[] }
  /**
   * Not cached (or stale): read the database, then `fill` with this ticket. The ticket proves the
   * read started after the cache began tracking the view, so nothing committed meanwhile is lost;
   * null when the cache could not take a ticket (it is down): read the database and fill nothing.
   */
  | { hit: false; ticket: string | null };

export interface LatestValuesCache {
  read(view: string, vehicleId: string): Promise<LatestLookup>;
  /** Completes the view with what the database read after the ticket was taken: every signal's newest sample. */
  fill(view: string, vehicleId: string, ticket: string, readings: readonly CachedReading[]): Promise<void>;
}
