import type { ChatService } from './chat/service.js';
import type { LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import type { PolicyStore } from '@clutch/identity';
import type { Logger } from 'pino';
import type { JobEnqueuer } from './ai/retrain-jobs.js';
import type { AlertsService } from './alerts/service.js';
import type { ChatKeyRing } from './chat/crypto.js';
import type { CommandSender } from './commands/service.js';
import type { DeadLetterReplayer } from './dead-letters/service.js';
import type { DiagnosticsService } from './diagnostics/service.js';
import type { HealthCheck } from './health/service.js';
import type { ApiRouter } from './http/route.js';
import type { MfaOptions } from './mfa/config.js';
import type { NotificationChannels } from './notifications/channels/channel.js';
import type { PaymentProviders } from './payments/providers/provider.js';
import type { ObjectStorage } from './storage/object-storage.js';
import type { IdentityServices } from './sessions/identity.js';
import type { TelemetryService } from './telemetry/service.js';
import type { TenantsService } from './tenants/service.js';
import type { VehiclesService } from './vehicles/service.js';

/**
 * What a domain may use to build its services. There is no database here on purpose: services reach
 * it only through the `Scope` each request hands them (`RouteRequest.scope`), so a domain cannot
 * run SQL outside a tenant's row-level security or an audited system scope.
 */
export interface DomainDeps {
  bus: LiveEventBus;
  logger: Logger;
  /** The API prefix (`/api`), for links and the OpenAPI document. */
  prefix: string;
  /** Answers whether the database is up; nothing else (the health endpoint). */
  databaseProbe: Pick<Database, 'kind' | 'ping'>;
  /** Health of the components the API does not own (broker, ingest, ...). */
  health: HealthCheck;
  /** Downlink to devices; absent, command routes answer 503. */
  commands?: CommandSender | undefined;
  /** Re-runs a dead letter through ingest; absent, replay answers 503. */
  replayDeadLetter?: DeadLetterReplayer | undefined;
  /** Shared data sets folder (DTC descriptions, carOBD drives); undefined: the default. */
  datasetsDir?: string | undefined;
  /** ML model registry folder; undefined: the default. */
  modelsDir?: string | undefined;
  /** The platform's job queue; absent, AI retrains run in the API's process and are kept in memory. */
  jobs?: JobEnqueuer | undefined;
  /** Services several domains use, built once (domains.ts) so every domain shares one instance. */
  shared: SharedServices;
  /** Accounts, sessions and the mailer, shared by the identity domains (accounts, sessions, MFA). */
  identity: IdentityServices;
  /** The policy function's store (roles, grants): the roles domain invalidates it after a change. */
  policy: PolicyStore;
  /**
   * Payment providers (Stripe, PayPal, cash), one adapter each (api/src/payments/providers); absent,
   * routes that need a provider answer 503 (cash and wallet payments still work).
   */
  payments?: PaymentProviders | undefined;
  /** MFA settings (key, WebAuthn relying party, SMS sender); absent, the defaults of api/src/mfa/config.ts. */
  mfa?: MfaOptions | undefined;
  /** Notification channel senders (Web Push, FCM, APNs, e-mail, SMS); absent, the Web Push key answers 404. */
  notificationChannels?: NotificationChannels | undefined;
  /**
   * Open development mode (`requireAuth` false, the `npm start` demo): a caller without credentials
   * is an administrator. `GET /api/me` says so, and every page shows a banner.
   */
  openMode?: boolean | undefined;
  /** Where uploaded bytes live (chat attachments; api/src/storage); absent, a temporary directory (logged once). */
  storage?: ObjectStorage | undefined;
  /** Chat (docs/chat.md): the key ring message bodies are sealed with; absent, the development key (logged once). */
  chat?: { keyRing: ChatKeyRing } | undefined;
}

export interface SharedServices {
  vehicles: VehiclesService;
  telemetry: TelemetryService;
  tenants: TenantsService;
  diagnostics: DiagnosticsService;
  alerts: AlertsService;
  /** Chat, with the key ring and the attachments' claim: the REST routes and the Socket.io gateway share it. */
  chat: ChatService;
}

/** A domain folder's entry point (`<domain>/register.ts`): builds its services and declares its routes. */
export type RegisterDomain = (router: ApiRouter, deps: DomainDeps) => void;

export interface Domain {
  /** The folder name, for error messages and the architecture test. */
  name: string;
  register: RegisterDomain;
}
