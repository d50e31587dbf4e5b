import {
  createMemoryLatestCache,
  createRedisLatestCache,
  latestValuesSink,
  type LatestValuesCache,
} from '@clutch/ingest';
import type { OutboxSink } from '@clutch/jobs';
import type { PlatformConfig } from '../config/config.js';

/**
 * The latest-values cache ingest keeps and the API reads (docs/architecture.md, "Latest values"):
 * in this process's memory when ingest and the API run together, in Redis when they are separate
 * processes (`redisUrl`). Undefined when `latestCacheMs` is 0: `/latest` and `/health` then read the
 * samples on every request.
 */
export async function startLatestValues(
  config: Pick<PlatformConfig, 'latestCacheMs'>,
  options: { redisUrl?: string | undefined } = {},
): Promise<LatestValuesCache | undefined> {
  if (config.latestCacheMs === 0) return undefined;
  if (options.redisUrl) return createRedisLatestCache({ url: options.redisUrl, freshMs: config.latestCacheMs });
  return createMemoryLatestCache({ freshMs: config.latestCacheMs });
}

/**
 * The outbox sink that drops a vehicle's cached latest values when a change outside ingest concerns
 * it (vehicle moved or deleted, device unbound or revoked, samples changed: @clutch/ingest's
 * LATEST_INVALIDATING_TOPICS). Empty when there is no cache.
 */
export function latestValuesSinks(cache: LatestValuesCache | undefined): OutboxSink[] {
  return cache ? [latestValuesSink(cache)] : [];
}
