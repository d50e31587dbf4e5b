import type { Server as HttpServer } from 'node:http';
import Router from '@koa/router';
import type { LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { createPolicyStore, effectivePermissions } from '@clutch/identity';
import Koa from 'koa';
import { pino, type Logger } from 'pino';
import type { Server as SocketIOServer } from 'socket.io';
import { recordAudit } from './audit/repository.js';
import { createApiKeyCache } from './auth/api-key-cache.js';
import { createAuthenticator } from './auth/authenticate.js';
import { subjectRefOf } from './auth/principal.js';
import { cookieCredentials } from './auth/user-tokens.js';
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
import { marketplaceRoomAuthorizer } from './realtime/marketplace-rooms.js';
import { chatRoomGateway } from './realtime/chat-rooms.js';
import type { ChatKeyRing } from './chat/crypto.js';
import type { MfaOptions } from './mfa/config.js';
import type { WiredPayments } from './payments/deps.js';
import type { ObjectStorage } from './storage/object-storage.js';
import { ATTACHMENT_UPLOAD_PATH } from './chat/attachments/routes.js';
import { TELEMETRY_IMPORT_UPLOAD_PATH } from './telemetry-imports/routes.js';
import type { NotificationChannels } from './notifications/channels/channel.js';
import { paymentJobDeps } from './payments/jobs.js';
import { paymentWebhookRoute } from './payments/webhooks.js';
import { createIdentity, type IdentityOptions } from './sessions/identity.js';
import type { LatestValuesCache } from './telemetry/latest-cache.js';

export const API_PREFIX = '/api';

/** Public routes that never act on a session: a stale cookie must not stand in the way of signing in again. */
const PUBLIC_SIGN_IN_PATHS = [
  '/auth/register',
  '/auth/login',
  '/auth/verify-email',
  '/auth/password/forgot',
  '/auth/password/reset',
  '/auth/invitations/accept',
];

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
  /** Latest values kept by ingest (telemetry/latest-cache.ts); absent, `/latest` and `/health` read the samples. */
  latestValues?: LatestValuesCache;
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
  /** Accounts and sessions: signing keys, mailer, public URL, session limits (api/src/sessions/identity.ts). */
  identity?: IdentityOptions;
  /** MFA: key, WebAuthn relying party, SMS sender (api/src/mfa/config.ts; `loadMfaOptions` reads the environment). */
  mfa?: MfaOptions;
  /** Payment provider adapters and the browser's view of them (platform/src/builders/payments.ts); absent: wallet only. */
  payments?: WiredPayments | undefined;
  /** Notification channel senders (api/src/notifications/channels); absent: in-app only, no Web Push key. */
  notificationChannels?: NotificationChannels | undefined;
  /** Chat: the key ring message bodies are sealed with (CLUTCH_CHAT_KEYS); absent, the development key (docs/chat.md). */
  chat?: { keyRing: ChatKeyRing } | undefined;
  /** Time allowed for a request body to arrive once the route starts reading it (default 10 s). */
  bodyTimeoutMs?: number;
  /** Object storage for uploads (chat attachments): local disk or S3 (api/src/storage); absent: a temporary directory. */
  storage?: ObjectStorage | undefined;
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

  // Verified API keys per process, dropped when any process revokes one (and at once when this one does).
  const apiKeys = createApiKeyCache();
  apiKeys.listen(deps.bus);
  // The policy function's roles and grants, cached per process; `roles-changed` on the bus drops them.
  const policy = createPolicyStore({ db: deps.db, bus: deps.bus });
  const identity = createIdentity({
    db: deps.db,
    bus: deps.bus,
    logger,
    redis: deps.rateLimit?.redis,
    options: {
      ...deps.identity,
      permissionsOf: deps.identity?.permissionsOf ?? ((user) => effectivePermissions(policy, subjectRefOf(user))),
    },
  });
  const authenticate = createAuthenticator({
    users: identity.verifyUserToken,
    apiKeys,
    db: deps.db,
    adminToken: deps.adminToken,
    requireAuth: deps.requireAuth ?? false,
  });
  const shared = sharedServices({
    datasetsDir: deps.datasetsDir,
    latestValues: deps.latestValues,
    chat: deps.chat,
    logger,
    prefix: API_PREFIX,
  });

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
    audit: apiKeys.holdRevokedKeys(recordAudit),
    policy,
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
    identity,
    policy,
    mfa: { ...deps.mfa, redis: deps.mfa?.redis ?? deps.rateLimit?.redis },
    payments: deps.payments,
    notificationChannels: deps.notificationChannels,
    openMode: !(deps.requireAuth ?? false),
    chat: deps.chat,
    storage: deps.storage,
  };
  for (const domain of DOMAINS) domain.register(router, domainDeps);
  // Public, with the raw body its signature is over; it stores events in an audited system scope.
  paymentWebhookRoute(router, paymentJobDeps(deps.db, { payments: deps.payments, jobs: deps.jobs, logger }));

  const app = new Koa();
  // Koa would print every error itself; the problem middleware already logged what matters.
  app.silent = true;
  app.proxy = deps.trustProxy ?? false;
  // Outside the problem middleware, so the logged status is the one the client received.
  app.use(requestLog(logger));
  app.use(problemMiddleware(logger));
  // The browser confirms cards at Stripe (or the emulator) itself: its origin may be fetched.
  const stripeBrowser = deps.payments?.browser?.stripe;
  app.use(securityHeaders({ connectSources: stripeBrowser ? [stripeBrowser.apiBase] : [] }));
  // Cheapest refusals first: wrong Host (DNS rebinding), too many requests, a write a cross-site
  // form could have sent. Bodies are read later, by the route, after authentication.
  app.use(requireAllowedHost(hostAllowed));
  app.use(limits.perIp(API_PREFIX));
  app.use(requireJsonWrites(API_PREFIX, [ATTACHMENT_UPLOAD_PATH, TELEMETRY_IMPORT_UPLOAD_PATH]));
  // Browser sessions: the access cookie stands in for a bearer token, behind the CSRF check.
  app.use(cookieCredentials(API_PREFIX, PUBLIC_SIGN_IN_PATHS));
  app.use(router.koa.routes());
  app.use(apiFallback(router.koa, API_PREFIX));
  if (deps.webRoot) app.use(serveStatic(deps.webRoot));

  return {
    app,
    attach: (server) => {
      const sockets = socketAuth(deps.db, guardedAuthenticate, recordAudit, policy);
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
        marketplaceRooms: marketplaceRoomAuthorizer(deps.db, recordAudit, policy),
        chatRooms: chatRoomGateway({
          db: deps.db,
          audit: recordAudit,
          policy,
          chat: shared.chat,
          logger,
        }),
      });
    },
    routes: router.specs,
    router: router.koa,
  };
}
