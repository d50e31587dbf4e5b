export { createApi, API_PREFIX, type Api, type ApiDeps } from './app.js';
export { startApiServer, type ApiServer, type ApiServerOptions } from './server.js';
export { apiErrors, apiError, isApiErrorCode, problemType, PROBLEM_TYPE_BASE, type ApiErrorCode, type ErrorSpec } from './errors.js';
export { PROBLEM_CONTENT_TYPE, type Problem } from './http/problem.js';
export type { ComponentHealth, ComponentStatus, HealthCheck, HealthReport } from './health/service.js';
export type { Vehicle } from './vehicles/service.js';
export type { LatestReading, TelemetrySeries } from './telemetry/service.js';
export { vehicleRoom, type SubscribeAck } from './realtime/gateway.js';
export { allowAllHandshakes, allowAllSubscriptions, type HandshakeAuthenticator, type SocketPrincipal, type SubscribeAuthorizer } from './realtime/auth.js';
