import type { Logger } from 'pino';
import type { LatestSample, LatestValuesCache } from './latest-values.js';

/**
 * Ingest's hook after a commit: the committed samples into the latest-values cache. It never
 * throws: the samples are stored whatever the cache does, and a cache that missed them drops the
 * views concerned itself (redis-cache.ts) or lets them go stale for at most its freshness window.
 */
export async function recordLatest(
  cache: LatestValuesCache | undefined,
  samples: readonly LatestSample[],
  logger?: Logger,
): Promise<void> {
  if (!cache || samples.length === 0) return;
  try {
    await cache.record(samples);
  } catch (err) {
    logger?.warn(
      { err: (err as Error).message },
      'latest values not cached; the vehicles concerned are read from the database',
    );
  }
}
