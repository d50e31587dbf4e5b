import type { Server as HttpServer } from 'node:http';
import Router from '@koa/router';
import type { LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import Koa from 'koa';
import { pino, type Logger } from 'pino';
import type { Server as SocketIOServer } from 'socket.io';
import { recordAudit } from './audit/repository.js';
import { createAuthenticator } from './auth/authenticate.js';
import { Scope } from './auth/scope.js';
import { socketAuth } from './auth/socket.js';
import type { CommandSender } from './commands/service.js';
import type { DeadLetterReplayer } from './dead-letters/service.js';
import type { JobEnqueuer } from './ai/retrain-jobs.js';
import type { DomainDeps } from './domain.js';
import { DOMAINS, sharedServices } from './domains.js';
import type { HealthCheck } from './health/service.js';
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
import type { HandshakeAuthenticator, SubscribeAuthorizer } from './realtime/auth.js';
import { attachRealtime } from './realtime/gateway.js';

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
  /** The platform's job queue (@clutch/jobs): AI retrains are enqueued on it. Absent, they run in this process, kept in memory. */
  jobs?: JobEnqueuer;
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

  const authenticate = createAuthenticator({
    db: deps.db,
    adminToken: deps.adminToken,
    requireAuth: deps.requireAuth ?? false,
  });
  const shared = sharedServices({ datasetsDir: deps.datasetsDir });

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
    audit: recordAudit,
  });
  const domainDeps: DomainDeps = {
    bus: deps.bus,
    logger,
    prefix: API_PREFIX,
    databaseProbe: deps.db,
    health: deps.health,
    commands: deps.commands,
    replayDeadLetter: deps.replayDeadLetter,
    datasetsDir: deps.datasetsDir,
    modelsDir: deps.modelsDir,
    jobs: deps.jobs,
    shared,
  };
  for (const domain of DOMAINS) domain.register(router, domainDeps);

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
      const sockets = socketAuth(deps.db, guardedAuthenticate, recordAudit);
      // One system scope for every room check of this server: audited once, on first use, not per check.
      const roomChecks = Scope.system(
        deps.db,
        {
          actor: 'realtime',
          action: 'realtime.room-check',
          detail: { why: 'does the vehicle of a subscription exist' },
        },
        recordAudit,
      );
      const authenticateHandshake = deps.authenticateHandshake ?? sockets.authenticateHandshake;
      const authorizeSubscribe = deps.authorizeSubscribe ?? sockets.authorizeSubscribe;
      return attachRealtime(server, {
        bus: deps.bus,
        vehicleExists: (id) => shared.vehicles.exists(roomChecks, id),
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
