import type { Server as HttpServer } from 'node:http';
import Router from '@koa/router';
import type { LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import Koa from 'koa';
import { pino, type Logger } from 'pino';
import type { Server as SocketIOServer } from 'socket.io';
import { healthRoutes } from './health/routes.js';
import { HealthService, type HealthCheck } from './health/service.js';
import { apiFallback } from './http/fallback.js';
import { problemMiddleware } from './http/problem.js';
import { requestLog } from './http/request-log.js';
import { securityHeaders } from './http/security.js';
import { serveStatic } from './http/static.js';
import type { HandshakeAuthenticator, SubscribeAuthorizer } from './realtime/auth.js';
import { attachRealtime } from './realtime/gateway.js';
import { signalRoutes } from './signals/routes.js';
import { TelemetryRepository } from './telemetry/repository.js';
import { telemetryRoutes } from './telemetry/routes.js';
import { TelemetryService } from './telemetry/service.js';
import { VehiclesRepository } from './vehicles/repository.js';
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
}

export interface Api {
  app: Koa;
  /** Attaches the Socket.io gateway to the server that serves `app`. */
  attach(server: HttpServer): SocketIOServer;
}

/** Builds the Koa app and the realtime gateway without listening, so tests can drive either. */
export function createApi(deps: ApiDeps): Api {
  const logger = deps.logger ?? pino({ name: 'clutch-api', level: process.env.LOG_LEVEL ?? 'info' });

  const vehicles = new VehiclesService(new VehiclesRepository(deps.db));
  const telemetry = new TelemetryService(new TelemetryRepository(deps.db), vehicles);
  const health = new HealthService(deps.db, deps.health);

  const router = new Router({ prefix: API_PREFIX });
  healthRoutes(router, health);
  vehicleRoutes(router, vehicles);
  telemetryRoutes(router, telemetry);
  signalRoutes(router);

  const app = new Koa();
  // Koa would print every error itself; the problem middleware already logged what matters.
  app.silent = true;
  // Outside the problem middleware, so the logged status is the one the client received.
  app.use(requestLog(logger));
  app.use(problemMiddleware(logger));
  app.use(securityHeaders());
  app.use(router.routes());
  app.use(apiFallback(router, API_PREFIX));
  if (deps.webRoot) app.use(serveStatic(deps.webRoot));

  return {
    app,
    attach: (server) =>
      attachRealtime(server, {
        bus: deps.bus,
        vehicleExists: (id) => vehicles.exists(id),
        logger,
        ...(deps.authenticateHandshake ? { authenticateHandshake: deps.authenticateHandshake } : {}),
        ...(deps.authorizeSubscribe ? { authorizeSubscribe: deps.authorizeSubscribe } : {}),
      }),
  };
}
