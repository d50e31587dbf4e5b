export { createApi, API_PREFIX, type Api, type ApiDeps } from './app.js';
export { startApiServer, type ApiServer, type ApiServerOptions } from './server.js';
export {
  apiErrors,
  apiError,
  isApiErrorCode,
  problemType,
  PROBLEM_TYPE_BASE,
  type ApiErrorCode,
  type ErrorSpec,
} from './errors.js';
export { PROBLEM_CONTENT_TYPE, type Problem } from './http/problem.js';
export type { RouteSpec, HttpMethod } from './http/route.js';
export { buildOpenApi, type OpenApiDocument } from './openapi/document.js';
export type { Access, Principal } from './auth/principal.js';
export type { ComponentHealth, ComponentStatus, HealthCheck, HealthReport } from './health/service.js';
export type { Vehicle } from './vehicles/service.js';
export type { LatestReading, TelemetrySeries, BucketedSeries, BucketPoint, Bucket } from './telemetry/service.js';
export type { Command, CommandSender, CommandTarget } from './commands/service.js';
export type { DeadLetter, DeadLetterReplayer } from './dead-letters/service.js';
export { vehicleRoom, type SubscribeAck } from './realtime/gateway.js';
export {
  allowAllHandshakes,
  allowAllSubscriptions,
  type HandshakeAuthenticator,
  type SocketPrincipal,
  type SubscribeAuthorizer,
} from './realtime/auth.js';
export { purgeIdempotencyKeys } from './http/idempotency.js';
export {
  describeChainReport,
  recordSecurityEvent,
  verifyAuditChain,
  type ChainReport,
  type SecurityEvent,
} from './audit/index.js';
export {
  AI_RETRAIN_QUEUE,
  AI_RETRAIN_SETTINGS,
  queuedRetrains,
  type JobEnqueuer,
  type RetrainJobs,
} from './ai/retrain-jobs.js';
export { defineAiRetrainWorker, type JobDefiner } from './ai/retrain-job-worker.js';
export { retrainWith, type RetrainFolders } from './ai/retrain-worker.js';
export { loadMfaOptions, type MfaOptions } from './mfa/config.js';
export {
  availableStrategies,
  greatCircleMetres,
  type NearbyQuery,
  type NearbyRow,
  type NearbyStrategy,
} from './partners/nearby.js';
export { nearbyPage } from './partners/service.js';
export { SERVICE_CODES, type ServiceCode } from './partners/service-catalogue.js';
// Seeded shops for the marketplace bench (bench/src/marketplace), the data the contract test uses.
export { GERMANY, generateShops, insertShops, seededRandom, type SeedShop } from './partners/nearby-fixtures.js';
// Bookings' scheduled jobs (platform/src/builders/jobs.ts) and the slot computation (bench/src/marketplace/slots.ts).
export { BOOKING_CRONS, expireHolds, markNoShows } from './bookings/no-show.js';
export {
  availableSlots,
  computeSlots,
  DEFAULT_BOOKING_RULES,
  loadBusy,
  loadCalendar,
  loadCapacity,
  loadService,
  loadShop,
  type BusyInterval,
  type CapacityResource,
  type ServiceNeeds,
  type ShopCalendar,
  type Slot,
  type SlotQuery,
} from './bookings/availability.js';
