import type { LatestValuesCache } from './latest-values.js';

/**
 * Outbox topics that change what a vehicle's latest values are, or who may see them, without going
 * through ingest's commits. Their producers append them in the transaction of the change
 * (`appendEvent(tx, { tenantId, topic, payload: { vehicleId } })`); the relay hands them to the
 * latest-values sink, which drops the vehicle's cached views (every tenant's), so the next read
 * goes to the database. `samples.changed` without a vehicle (a bulk import or correction) drops
 * everything.
 */
export const LATEST_INVALIDATING_TOPICS: readonly string[] = [
  'vehicle.moved',
  'vehicle.deleted',
  'device.unbound',
  'device.revoked',
  'samples.changed',
];

/** The vehicles an outbox event invalidates: their ids, 'all', or none when it is not about latest values. */
export function invalidatedVehicles(event: { topic: string; payload: unknown }): string[] | 'all' {
  if (!LATEST_INVALIDATING_TOPICS.includes(event.topic)) return [];
  const payload = (typeof event.payload === 'object' && event.payload !== null ? event.payload : {}) as Record<
    string,
    unknown
  >;
  const ids = [
    ...(typeof payload.vehicleId === 'string' ? [payload.vehicleId] : []),
    ...(Array.isArray(payload.vehicleIds) ? payload.vehicleIds.filter((v): v is string => typeof v === 'string') : []),
  ];
  if (ids.length > 0) return ids;
  // A change that names no vehicle could concern any: forget them all rather than serve a stale one.
  return 'all';
}

/**
 * The outbox sink that keeps the latest-values cache true to changes made outside ingest. It is
 * shaped like @clutch/jobs' OutboxSink; a cache that cannot be reached makes the relay deliver the
 * event again later.
 */
export function latestValuesSink(cache: Pick<LatestValuesCache, 'invalidate' | 'invalidateAll'>): {
  name: string;
  deliver(event: { topic: string; payload: unknown }): Promise<void>;
} {
  return {
    name: 'latest-values',
    async deliver(event) {
      const vehicles = invalidatedVehicles(event);
      if (vehicles === 'all') await cache.invalidateAll();
      else if (vehicles.length > 0) await cache.invalidate(vehicles);
    },
  };
}
