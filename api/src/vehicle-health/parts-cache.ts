import type { LiveEvent, LiveEventBus } from '@clutch/contracts';
import type { Alert } from '../alerts/service.js';
import type { CurrentCode } from '../diagnostics/service.js';
import type { VehicleCalibration } from './calibration.js';

/**
 * What a health summary shows besides latest values: the current trouble codes, the recent alerts
 * and the calibration (from the stored normal). Each was a statement per request; this keeps them per process, per (tenant,
 * vehicle), for the one caller whose view cannot change under it: an API key of the vehicle's own
 * tenant (own-vehicles.ts), whose row-level security shows every code and alert of the vehicle
 * whatever else holds. Shared vehicles and signed-in users read the database as before.
 *
 * Every writer of these parts is ingest's, and each announces its commit on the live-event bus
 * through the outbox, in the transaction of the change (docs/architecture.md, "Latest values"):
 * `dtc` (a trouble-code report stored), `command` (an answer completed a command, a clear among
 * them), `alert` (scoring stored an alert), `normal` (scoring saved the normals of the vehicles it
 * names, ingest/src/normals/repository.ts). Any of them drops the vehicle's parts in every process,
 * and a read that started before the drop does not fill (a generation per vehicle, as the API-key
 * cache's epoch). What no event announces is bounded by time:
 *
 * - an alert leaves the 7-day window, or one dated ahead of the clock becomes due: the entry ends
 *   then (`validUntil`, from the alerts themselves);
 * - an event the bus lost (Redis unreachable between processes): nothing is trusted past
 *   `maxAgeMs` (default 60 s).
 *
 * With all three held and the latest values cached, a known own vehicle's summary opens no
 * transaction at all (as `/latest`).
 */
export interface HealthParts {
  dtcs: CurrentCode[];
  alerts: Alert[];
  calibration: VehicleCalibration;
}

export interface HealthPartsCache {
  /** The parts when they are held and still valid at `nowMs`; else undefined. */
  get(tenantId: string, vehicleId: string, nowMs: number): HealthParts | undefined;
  /** Before a database read that may fill: what `fill` checks that nothing changed in between. */
  ticket(vehicleId: string): number;
  /** Keeps what the database answered, unless the vehicle was invalidated after the ticket; `validUntil` in ms. */
  fill(tenantId: string, vehicleId: string, ticket: number, parts: HealthParts, validUntil: number): void;
  /** Drops a vehicle's parts (every tenant's view) and voids fills under way. */
  invalidate(vehicleId: string): void;
  /** Drops on the bus events that announce a change of these parts; returns the unsubscribe. */
  listen(bus: Pick<LiveEventBus, 'subscribe'>): () => void;
  size(): number;
}

export interface HealthPartsCacheOptions {
  /** How long a filled entry is trusted at most (default 60 s), the bound on a lost event. */
  maxAgeMs?: number;
  /** Entries kept at most; the least recently used goes first (default 20,000). */
  maxEntries?: number;
  now?: () => number;
}

/** The live events whose commit changes a vehicle's codes, alerts or (through a clear) current codes. */
const INVALIDATING: ReadonlySet<LiveEvent['type']> = new Set(['dtc', 'alert', 'command']);

/** The vehicles whose parts an event changes (none for events about other things). */
function vehiclesOf(event: LiveEvent): readonly string[] {
  if (event.type === 'normal') return event.vehicleIds;
  if (INVALIDATING.has(event.type) && 'vehicleId' in event && typeof event.vehicleId === 'string')
    return [event.vehicleId];
  return [];
}

export function createHealthPartsCache(options: HealthPartsCacheOptions = {}): HealthPartsCache {
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const maxEntries = options.maxEntries ?? 20_000;
  const now = options.now ?? Date.now;
  /** vehicle -> tenant -> entry; a vehicle's map moves last when read, so the bound drops the coldest vehicle first. */
  const entries = new Map<string, Map<string, { parts: HealthParts; validUntil: number }>>();
  /** Invalidations per vehicle, for tickets; `base` voids every ticket when the map is cleared. */
  const generations = new Map<string, number>();
  let base = 0;
  const generation = (vehicleId: string): number => base + (generations.get(vehicleId) ?? 0);

  const cache: HealthPartsCache = {
    get(tenantId, vehicleId, nowMs) {
      const views = entries.get(vehicleId);
      const entry = views?.get(tenantId);
      if (!views || !entry) return undefined;
      if (entry.validUntil <= nowMs) {
        views.delete(tenantId);
        if (views.size === 0) entries.delete(vehicleId);
        return undefined;
      }
      entries.delete(vehicleId);
      entries.set(vehicleId, views);
      return entry.parts;
    },

    ticket: generation,

    fill(tenantId, vehicleId, ticket, parts, validUntil) {
      if (ticket !== generation(vehicleId)) return;
      const at = now();
      const until = Math.min(validUntil, at + maxAgeMs);
      if (until <= at) return;
      let views = entries.get(vehicleId);
      if (!views) entries.set(vehicleId, (views = new Map()));
      views.set(tenantId, { parts, validUntil: until });
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },

    invalidate(vehicleId) {
      if (generations.size >= maxEntries && !generations.has(vehicleId)) {
        // Bounded memory: forget the counters and void every ticket under way instead.
        let highest = 0;
        for (const g of generations.values()) highest = Math.max(highest, g);
        base += highest + 1;
        generations.clear();
      }
      generations.set(vehicleId, (generations.get(vehicleId) ?? 0) + 1);
      entries.delete(vehicleId);
    },

    listen(bus) {
      return bus.subscribe((event) => {
        for (const vehicleId of vehiclesOf(event)) cache.invalidate(vehicleId);
      });
    },

    size: () => entries.size,
  };
  return cache;
}
