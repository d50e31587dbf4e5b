export { startIngest, DEFAULT_STOP_TIMEOUT_MS, type RunningIngest } from './ingest.js';
export { createIngestHandler, type IngestHandler, type IngestStats } from './pipeline.js';
export { createMemoryQueue, type MemoryQueueOptions } from './queue/memory-queue.js';
export type { WorkQueue, QueuedMessage, BatchHandler, DrainResult } from './queue/work-queue.js';
export { QueueClosedError, DEFAULT_DRAIN_TIMEOUT_MS, backoffDelay } from './queue/work-queue.js';
export { aedesSource } from './sources/aedes-source.js';
export {
  mqttSource,
  DEFAULT_RECEIVE_MAXIMUM,
  DEFAULT_SESSION_EXPIRY_SECONDS,
  type MqttSourceOptions,
} from './sources/mqtt-source.js';
export { handoffSource, type DurableHandoff, type HandedOverPacket } from './sources/handoff-source.js';
export { topicMatches, topicMatcher } from './sources/topic-filter.js';
export { createSeqGapDetector, type SeqGapDetector, type SeqGapOptions } from './processors/seq-gaps.js';
export { INGEST_FILTERS, type MessageSource } from './sources/message-source.js';
export { validateMessage } from './processors/validate.js';
export { normaliseBatch } from './processors/normalise.js';
export { createDeviceResolver } from './processors/resolve-device.js';
export { createRedisStreamsQueue, type RedisStreamsQueueOptions } from './queue/redis-streams-queue.js';
export { refreshRollups, type RefreshOptions } from './rollups/refresh.js';
export { WORKER_DEAD_AFTER_MS, WORKER_HEARTBEAT_MS } from './rollups/workers.js';
export {
  maintainStorage,
  DEFAULT_RETENTION,
  type RetentionPolicy,
  type MaintenanceReport,
} from './storage/maintenance.js';
export { SAMPLE_COPY_COLUMNS } from './samples/repository.js';
export {
  ALL_TENANTS,
  DEFAULT_FRESH_MS,
  type CachedReading,
  type LatestCacheOptions,
  type LatestLookup,
  type LatestSample,
  type LatestValuesCache,
} from './latest/latest-values.js';
export { createMemoryLatestCache, type MemoryLatestCacheOptions } from './latest/memory-cache.js';
export { createRedisLatestCache, type RedisLatestCacheOptions } from './latest/redis-cache.js';
export { invalidatedVehicles, latestValuesSink, LATEST_INVALIDATING_TOPICS } from './latest/invalidation.js';
export {
  loadVehicleNormal,
  loadVehicleNormals,
  saveVehicleNormals,
  type StoredNormal,
  type VehicleNormalEntry,
} from './normals/repository.js';
export { importVehicleLog, IMPORT_BATCH_ROWS, type ImportLogInput, type ImportSummary } from './imports/import-log.js';
export type { ScorerSlot, ScoringConsumer, ScoringStats } from './scoring/consumer.js';
export { startThreadedScoring, type ThreadedScoring, type ThreadedScoringOptions } from './scoring/threaded.js';
export { startModelSlot, HEALTH_CHECKS_ONLY, type ModelSlot } from './scoring/model-slot.js';
