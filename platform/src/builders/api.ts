import {
  loadMfaOptions,
  startApiServer,
  type ApiServer,
  type ApiServerOptions,
  type CommandSender,
  type DeadLetterReplayer,
  type HealthCheck,
  type WiredPayments,
  type ChatKeyRing,
  type NotificationChannels,
  type ObjectStorage,
} from '@clutch/api';
import type { LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import type { Mailer } from '@clutch/identity';
import type { JobQueue } from '@clutch/jobs';
import { webRoot } from '@clutch/web';
import type { Redis } from 'ioredis';
import type { LatestValuesCache } from '@clutch/ingest';
import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/config.js';
import { openApiDatabase } from './database.js';
import { identityDir, platformIdentity, type PlatformIdentity } from '../identity/index.js';

export interface ApiParts {
  health: HealthCheck;
  /** Downlink to devices; absent, command routes answer 503. */
  commands?: CommandSender | undefined;
  /** Dead-letter replay through ingest in this process; absent, replay answers 503. */
  replayDeadLetter?: DeadLetterReplayer | undefined;
  /** The job queue AI retrains are enqueued on (durable, run by a job worker). */
  jobs?: JobQueue | undefined;
  /** Shared store of the REST rate limits when several API processes serve one deployment. */
  rateLimitRedis?: Redis | undefined;
  /** Latest values kept by ingest (builders/latest-values.ts); absent, `/latest` and `/health` read the samples. */
  latestValues?: LatestValuesCache | undefined;
  /** Payment providers (builders/payments.ts); absent, only wallet payments work. */
  payments?: WiredPayments | undefined;
  /** Account mail when the environment configures none (the dev mailbox); absent, identity's default (the log). */
  mailer?: Mailer | undefined;
  /** Notification channels, upload storage and the chat key ring (builders/communication.ts). */
  communication?: { channels?: NotificationChannels; storage?: ObjectStorage; chatKeys?: ChatKeyRing } | undefined;
}

/**
 * The HTTP API, dashboard files and Socket.io gateway with the settings of `config`. On PostgreSQL
 * it queries through a pool of its own (`apiDatabasePoolSize`), closed with the server.
 */
export async function startPlatformApi(
  db: Database,
  bus: LiveEventBus,
  config: PlatformConfig,
  logger: Logger,
  parts: ApiParts,
): Promise<ApiServer> {
  const own = await openApiDatabase(db, config);
  try {
    const server = await startApiServer(apiOptions(own.db, bus, config, logger, parts));
    return {
      ...server,
      async close() {
        try {
          await server.close();
        } finally {
          await own.close();
        }
      },
    };
  } catch (err) {
    await own.close();
    throw err;
  }
}

function apiOptions(
  db: Database,
  bus: LiveEventBus,
  config: PlatformConfig,
  logger: Logger,
  parts: ApiParts,
): ApiServerOptions {
  // `jobs` goes in through the options object (not a literal) so this compiles whether or not the
  // API's deps declare it yet; an API that ignores it runs retrains in its own process.
  const options: ApiServerOptions & { jobs?: JobQueue } = {
    db,
    bus,
    webRoot,
    port: config.httpPort,
    host: config.host,
    logger,
    requireAuth: config.requireAuth,
    modelsDir: config.modelsDir,
    allowedHosts: config.allowedHosts,
    rateLimit: parts.rateLimitRedis ? { ...config.rateLimit, redis: parts.rateLimitRedis } : config.rateLimit,
    trustProxy: config.trustProxy,
    connections: { maxConnections: config.maxConnections },
    ...(config.adminToken ? { adminToken: config.adminToken } : {}),
    ...(config.datasetsDir ? { datasetsDir: config.datasetsDir } : {}),
    ...(parts.commands ? { commands: parts.commands } : {}),
    ...(parts.replayDeadLetter ? { replayDeadLetter: parts.replayDeadLetter } : {}),
    ...(parts.jobs ? { jobs: parts.jobs } : {}),
    ...(parts.latestValues ? { latestValues: parts.latestValues } : {}),
    ...(parts.payments ? { payments: parts.payments } : {}),
    ...(parts.communication?.channels ? { notificationChannels: parts.communication.channels } : {}),
    ...(parts.communication?.storage ? { storage: parts.communication.storage } : {}),
    ...(parts.communication?.chatKeys ? { chat: { keyRing: parts.communication.chatKeys } } : {}),
    health: parts.health,
    identity: withFallbackMailer(
      platformIdentity(process.env, config.dataDir, logger, config.databaseUrl !== undefined),
      parts.mailer,
    ),
    // The MFA key must outlive the process: TOTP secrets enrolled before a restart are sealed with it.
    mfa: loadMfaOptions(process.env, identityDir(config.dataDir)),
  };
  return options;
}

/** The identity settings, with `mailer` where the environment configured none. */
function withFallbackMailer(identity: PlatformIdentity, mailer: Mailer | undefined): PlatformIdentity {
  return identity.mailer || !mailer ? identity : { ...identity, mailer };
}
