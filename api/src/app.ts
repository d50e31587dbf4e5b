import type { Server as HttpServer } from 'node:http';
import Router from '@koa/router';
import type { LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import Koa from 'koa';
import { pino, type Logger } from 'pino';
import type { Server as SocketIOServer } from 'socket.io';
import { aiRoutes } from './ai/routes.js';
import { AiInsightsService, AiModelsService, DEFAULT_MODELS_DIR } from './ai/service.js';
import { alertRoutes } from './alerts/routes.js';
import { AlertsService } from './alerts/service.js';
import { analyticsRoutes } from './analytics/routes.js';
import { AnalyticsService } from './analytics/service.js';
import { apiKeyRoutes } from './api-keys/routes.js';
import { ApiKeysService } from './api-keys/service.js';
import { createAuthenticator } from './auth/authenticate.js';
import { commandRoutes } from './commands/routes.js';
import { CommandsService, type CommandSender } from './commands/service.js';
import { Scope } from './auth/principal.js';
import { socketAuth } from './auth/socket.js';
import { dataQualityRoutes } from './data-quality/routes.js';
import { DataQualityService } from './data-quality/service.js';
import { deadLetterRoutes } from './dead-letters/routes.js';
import { DeadLettersService, type DeadLetterReplayer } from './dead-letters/service.js';
import { deviceRoutes } from './devices/routes.js';
import { defaultDatasetsDir, lazyDtcDescriptions } from './diagnostics/dtc-descriptions.js';
import { diagnosticsRoutes } from './diagnostics/routes.js';
import { DiagnosticsService } from './diagnostics/service.js';
import { DevicesService } from './devices/service.js';
import { healthRoutes } from './health/routes.js';
import { HealthService, type HealthCheck } from './health/service.js';
import { DEFAULT_BODY_LIMITS } from './http/body.js';
import { requireJsonWrites } from './http/csrf.js';
import { apiFallback } from './http/fallback.js';
import { hostAllowList, requireAllowedHost, socketRequestAllowed } from './http/hosts.js';
import { problemMiddleware } from './http/problem.js';
import { createRateLimits, type RateLimitOptions } from './http/rate-limit.js';
import { requestLog } from './http/request-log.js';
import { securityHeaders } from './http/security.js';
import { withIdempotency } from './http/idempotency.js';
import { ApiRouter, type RouteSpec } from './http/route.js';
import { serveStatic } from './http/static.js';
import { locationRoutes } from './location/routes.js';
import { LocationService } from './location/service.js';
import type { HandshakeAuthenticator, SubscribeAuthorizer } from './realtime/auth.js';
import { attachRealtime } from './realtime/gateway.js';
import { signalRoutes } from './signals/routes.js';
import { telemetryRoutes } from './telemetry/routes.js';
import { TelemetryService } from './telemetry/service.js';
import { openApiRoutes } from './openapi/routes.js';
import { tenantRoutes } from './tenants/routes.js';
import { tripRoutes } from './trips/routes.js';
import { TripsService } from './trips/service.js';
import { vehicleHealthRoutes } from './vehicle-health/routes.js';
import { VehicleHealthService } from './vehicle-health/service.js';
import { TenantsService } from './tenants/service.js';
import { vehicleRoutes } from './vehicles/routes.js';
import { VehiclesService } from './vehicles/service.js';

export const API_PREFIX = '/api';

export interface ApiDeps {
  db: Database;
  bus: LiveEventBus;
  /** Health of the components the API does not own (broker, ingest, ...); the database is checked here. */
  health: HealthCheck;
  logger?: Logger;
  /** Folder of static web files to serve at `/`; omitted, only the API answers. */
  webRoot?: string;
  /** Socket.io handshake hook; dev mode (the default) lets everyone in. */
  authenticateHandshake?: HandshakeAuthenticator;
  authorizeSubscribe?: SubscribeAuthorizer;
  /** Bearer token that makes a caller an administrator (compare: partners use `ck_...` API keys). */
  adminToken?: string;
  /**
   * False (the default, so `npm start` stays open): a request without a token is a dev admin.
   * True: it gets 401, and Socket.io handshakes need `auth.token` too.
   */
  requireAuth?: boolean;
  /** Downlink to devices (the platform publishes over MQTT); absent, command routes answer 503. */
  commands?: CommandSender;
  /** Re-runs a dead letter through ingest (the platform wires it); absent, replay answers 503. */
  replayDeadLetter?: DeadLetterReplayer;
  /** Folder of the shared data sets (DTC descriptions); default `CLUTCH_DATASETS_DIR` or `../shared/datasets`. */
  datasetsDir?: string;
  /** Folder of the ML model registry (`registry.json` + artifacts); default `./data/models`. */
  modelsDir?: string;
  /**
   * Host names (Host header, port ignored) served besides localhost, 127.0.0.1 and [::1]; `*` turns
   * the DNS-rebinding check off. Applies to HTTP and Socket.io in every mode.
   */
  allowedHosts?: readonly string[];
  /** The address the server is bound to; allowed as a host name too unless it is a wildcard. */
  bindHost?: string;
  /** REST rate limits (defaults: 600/min per principal, 1200/min per address; `enabled: false` for benchmarks). */
  rateLimit?: RateLimitOptions;
  /** Trust `X-Forwarded-For`/`-Host`/`-Proto` from a reverse proxy (client addresses for the rate limits). */
  trustProxy?: boolean;
  /** Time allowed for a request body to arrive once the route starts reading it (default 10 s). */
  bodyTimeoutMs?: number;
}

export interface Api {
  app: Koa;
  /** Attaches the Socket.io gateway to the server that serves `app`. */
  attach(server: HttpServer): SocketIOServer;
  /** Every route with its access rule and schemas (the OpenAPI document is built from these). */
  routes: readonly RouteSpec[];
  /** The Koa router itself, for checks that the declarations and the real routes agree. */
  router: Router;
}

/** Builds the Koa app and the realtime gateway without listening, so tests can drive either. */
export function createApi(deps: ApiDeps): Api {
  const logger = deps.logger ?? pino({ name: 'clutch-api', level: process.env.LOG_LEVEL ?? 'info' });

  const authenticate = createAuthenticator({ db: deps.db, adminToken: deps.adminToken, requireAuth: deps.requireAuth ?? false });
  const vehicles = new VehiclesService();
  const telemetry = new TelemetryService();
  const health = new HealthService(deps.db, deps.health);
  const tenants = new TenantsService(deps.db);
  const devices = new DevicesService(deps.db, deps.bus, tenants);

  const limits = createRateLimits(deps.rateLimit);
  // Every door that takes a bearer token (REST, Socket.io handshakes) counts failures in one limiter.
  const guardedAuthenticate = limits.guard(authenticate);
  const hostAllowed = hostAllowList(deps.allowedHosts ?? [], deps.bindHost);
  const router = new ApiRouter(new Router({ prefix: API_PREFIX }), {
    db: deps.db,
    authenticate: guardedAuthenticate,
    limits,
    body: { ...DEFAULT_BODY_LIMITS, ...(deps.bodyTimeoutMs !== undefined ? { timeoutMs: deps.bodyTimeoutMs } : {}) },
    idempotency: withIdempotency({ db: deps.db, logger }),
  });
  healthRoutes(router, health);
  signalRoutes(router);
  vehicleRoutes(router, vehicles);
  telemetryRoutes(router, telemetry);
  tenantRoutes(router, tenants);
  deviceRoutes(router, devices);
  apiKeyRoutes(router, new ApiKeysService(deps.db, tenants, deps.bus));
  commandRoutes(router, new CommandsService(deps.commands, deps.bus, logger));
  const diagnostics = new DiagnosticsService(lazyDtcDescriptions(deps.datasetsDir));
  const alerts = new AlertsService();
  tripRoutes(router, new TripsService());
  diagnosticsRoutes(router, diagnostics);
  alertRoutes(router, alerts);
  dataQualityRoutes(router, new DataQualityService());
  vehicleHealthRoutes(router, new VehicleHealthService(diagnostics, alerts));
  locationRoutes(router, new LocationService(deps.bus));
  analyticsRoutes(router, new AnalyticsService());
  deadLetterRoutes(router, new DeadLettersService(deps.replayDeadLetter));
  const models = new AiModelsService(deps.modelsDir ?? DEFAULT_MODELS_DIR, deps.datasetsDir ?? defaultDatasetsDir());
  aiRoutes(router, models, new AiInsightsService(models));
  openApiRoutes(router, API_PREFIX);

  const app = new Koa();
  // Koa would print every error itself; the problem middleware already logged what matters.
  app.silent = true;
  app.proxy = deps.trustProxy ?? false;
  // Outside the problem middleware, so the logged status is the one the client received.
  app.use(requestLog(logger));
  app.use(problemMiddleware(logger));
  app.use(securityHeaders());
  // Cheapest refusals first: wrong Host (DNS rebinding), too many requests, a write a cross-site
  // form could have sent. Bodies are read later, by the route, after authentication.
  app.use(requireAllowedHost(hostAllowed));
  app.use(limits.perIp(API_PREFIX));
  app.use(requireJsonWrites(API_PREFIX));
  app.use(router.koa.routes());
  app.use(apiFallback(router.koa, API_PREFIX));
  if (deps.webRoot) app.use(serveStatic(deps.webRoot));

  return {
    app,
    attach: (server) => {
      const sockets = socketAuth(deps.db, guardedAuthenticate);
      const authenticateHandshake = deps.authenticateHandshake ?? sockets.authenticateHandshake;
      const authorizeSubscribe = deps.authorizeSubscribe ?? sockets.authorizeSubscribe;
      return attachRealtime(server, {
        bus: deps.bus,
        vehicleExists: (id) => vehicles.exists(Scope.system(deps.db), id),
        logger,
        allowRequest: (req) => socketRequestAllowed(hostAllowed, req),
        authenticateHandshake,
        authorizeSubscribe,
      });
    },
    routes: router.specs,
    router: router.koa,
  };
}
