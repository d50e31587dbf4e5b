import {
  ALL_TENANTS,
  DEFAULT_FRESH_MS,
  newestPerSignal,
  type CachedReading,
  type LatestCacheOptions,
  type LatestValuesCache,
} from './latest-values.js';

interface Stored extends CachedReading {
  /** The record (or fill ticket) that wrote it: a fill keeps what was recorded after its ticket. */
  version: number;
}

interface View {
  /** Complete and trusted until then (ms); 0 while tracked but not filled yet. */
  freshUntil: number;
  signals: Map<number, Stored>;
}

interface VehicleEntry {
  /** Which life of the entry a ticket belongs to: a fill for an evicted or invalidated entry is dropped. */
  life: number;
  views: Map<string, View>;
}

export interface MemoryLatestCacheOptions extends LatestCacheOptions {
  /** Vehicles tracked at most; the least recently read goes first (default 100,000). */
  maxVehicles?: number;
}

/**
 * The latest-values cache in this process: ingest and the API share it when they run together
 * (`npm start`). Everything is synchronous underneath, so a commit's samples are in it before the
 * batch is acknowledged.
 */
export function createMemoryLatestCache(options: MemoryLatestCacheOptions = {}): LatestValuesCache {
  const freshMs = options.freshMs ?? DEFAULT_FRESH_MS;
  const maxVehicles = options.maxVehicles ?? 100_000;
  const now = options.now ?? Date.now;
  // Insertion order is recency of reads: the first key is the coldest vehicle.
  const vehicles = new Map<string, VehicleEntry>();
  let version = 0;
  let lives = 0;

  return {
    async record(samples) {
      if (vehicles.size === 0 || samples.length === 0) return;
      const recorded = ++version;
      for (const [vehicleId, byTenant] of newestPerSignal(samples)) {
        const entry = vehicles.get(vehicleId);
        if (!entry) continue;
        for (const [tenantId, bySignal] of byTenant) {
          for (const name of [tenantId, ALL_TENANTS]) {
            const view = entry.views.get(name);
            if (!view) continue;
            for (const reading of bySignal.values()) {
              const current = view.signals.get(reading.signalId);
              if (!current || current.timeMs < reading.timeMs)
                view.signals.set(reading.signalId, { ...reading, version: recorded });
            }
          }
        }
      }
    },

    async read(name, vehicleId) {
      let entry = vehicles.get(vehicleId);
      if (entry) {
        vehicles.delete(vehicleId);
        vehicles.set(vehicleId, entry);
        const view = entry.views.get(name);
        if (view && view.freshUntil > now())
          return {
            hit: true,
            readings: [...view.signals.values()].map(({ signalId, timeMs, value }) => ({ signalId, timeMs, value })),
          };
      } else {
        entry = { life: ++lives, views: new Map() };
        vehicles.set(vehicleId, entry);
        while (vehicles.size > maxVehicles) vehicles.delete(vehicles.keys().next().value!);
      }
      if (!entry.views.has(name)) entry.views.set(name, { freshUntil: 0, signals: new Map() });
      return { hit: false, ticket: `${entry.life}:${version}` };
    },

    async fill(name, vehicleId, ticket, readings) {
      const [life, since] = ticket.split(':').map(Number) as [number, number];
      const entry = vehicles.get(vehicleId);
      const view = entry?.life === life ? entry.views.get(name) : undefined;
      if (!view) return;
      const signals = new Map<number, Stored>();
      for (const r of readings)
        signals.set(r.signalId, { signalId: r.signalId, timeMs: r.timeMs, value: r.value, version: since });
      for (const [signalId, current] of view.signals) {
        if (current.version <= since) continue;
        const read = signals.get(signalId);
        if (!read || read.timeMs < current.timeMs) signals.set(signalId, current);
      }
      view.signals = signals;
      view.freshUntil = now() + freshMs;
    },

    async invalidate(vehicleIds) {
      for (const id of vehicleIds) vehicles.delete(id);
    },

    async invalidateAll() {
      vehicles.clear();
    },

    async close() {
      vehicles.clear();
    },
  };
}
