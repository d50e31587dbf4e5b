import type { Queryable } from '@clutch/db';
import { loadDeviceVehicleResource, type Resource } from '@clutch/identity';

/**
 * The vehicle a device topic (`clutch/v1/{tenant}/{device}/...`) is about, as the policy function
 * sees it (the same shape as the API's `vehicleResources`): tenant, owner, a few attributes and the
 * shares in force. Read as the platform: the broker has no row-level security of its own, so every
 * share is there and `decide` picks those that name the caller.
 */
export interface TopicResources {
  /** The device's vehicle; undefined when the tenant has no such device. */
  vehicleOf(tenantId: string, deviceId: string): Promise<Resource | undefined>;
  /**
   * A fresher answer than `vehicleOf`'s when it is older than `refreshAfterMs`: asked after a
   * refusal, so a share made a moment ago counts without every refusal costing a query.
   */
  refreshed(tenantId: string, deviceId: string): Promise<Resource | undefined>;
  /** Forget what is known of a vehicle (one of its shares ended). */
  forgetVehicle(vehicleId: string): void;
  /** Forget everything. */
  clear(): void;
}

const load = loadDeviceVehicleResource;

/**
 * Looked up once per device topic and kept: a SUBSCRIBE or PUBLISH of a user costs no query after
 * the first. Kept at most `maxAgeMs` (default 60 s, like the policy store's snapshot), dropped at
 * once when one of the vehicle's shares ends (the `roles-changed` event names it); a share's own
 * end in time needs no event (`decide` compares it with the clock). Least recently used entries
 * are dropped past `maxEntries`.
 */
export function createTopicResources(
  db: Queryable,
  options: { maxAgeMs?: number; refreshAfterMs?: number; maxEntries?: number } = {},
): TopicResources {
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const refreshAfterMs = options.refreshAfterMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 50_000;
  /** `vehicleId`: set once the lookup settled (null: no such device). */
  const cache = new Map<string, { at: number; value: Promise<Resource | undefined>; vehicleId?: string | null }>();
  // Bumped by every forget: a lookup that started before it is used once but not kept.
  let epoch = 0;

  const fetch = (key: string, tenantId: string, deviceId: string): Promise<Resource | undefined> => {
    const started = epoch;
    const value = load(db, tenantId, deviceId);
    if (started === epoch) {
      const entry: { at: number; value: Promise<Resource | undefined>; vehicleId?: string | null } = {
        at: Date.now(),
        value,
      };
      cache.delete(key);
      cache.set(key, entry);
      while (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
      value.then(
        (r) => (entry.vehicleId = r?.id ?? null),
        // A failed lookup is not remembered.
        () => {
          if (cache.get(key) === entry) cache.delete(key);
        },
      );
    }
    return value;
  };
  const keyOf = (tenantId: string, deviceId: string): string => `${tenantId}/${deviceId}`;

  return {
    vehicleOf(tenantId, deviceId) {
      const key = keyOf(tenantId, deviceId);
      const hit = cache.get(key);
      if (hit && Date.now() - hit.at < maxAgeMs) {
        cache.delete(key);
        cache.set(key, hit); // most recently used last
        return hit.value;
      }
      return fetch(key, tenantId, deviceId);
    },
    refreshed(tenantId, deviceId) {
      const key = keyOf(tenantId, deviceId);
      const hit = cache.get(key);
      if (hit && Date.now() - hit.at < refreshAfterMs) return hit.value;
      return fetch(key, tenantId, deviceId);
    },
    forgetVehicle(vehicleId) {
      epoch += 1;
      // Settled entries go by their vehicle; pending ones are dropped too (they may be it).
      for (const [key, entry] of cache)
        if (entry.vehicleId === undefined || entry.vehicleId === vehicleId) cache.delete(key);
    },
    clear() {
      epoch += 1;
      cache.clear();
    },
  };
}
