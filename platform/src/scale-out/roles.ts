// The production shape (DESIGN.md §10): each box its own process, scaled out on Redis and PostgreSQL.
//   broker: N behind a TCP load balancer; sessions and fan-out in Redis; telemetry into a Redis stream
//   ingest: N workers in one Redis Streams consumer group; live events onto Redis pub/sub; the
//           background kind of process, so it also scores (model hot-swap), works the job queue
//           (AI retrains, crons) and relays the outbox
//   api:    N stateless processes; Socket.io rooms across them with the Redis adapter; enqueues jobs
// Built from the same builders as the one-process platform (../platform.ts); docs/scale-out.md.
import {
  loadMfaOptions,
  notificationsSink,
  receiptEmailSink,
  repairOrderPaymentsSink,
  type ApiServer,
} from '@clutch/api';
import type { RunningBroker } from '@clutch/broker';
import type { Database } from '@clutch/db';
import { createRedisStreamsQueue, handoffSource, startIngest, type MessageSource } from '@clutch/ingest';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { startPlatformApi } from '../builders/api.js';
import { endRevokedSessions, startPlatformBroker } from '../builders/broker.js';
import { connectCommandSender } from '../builders/commands.js';
import { communicationConfig, startCommunication, type RunningCommunication } from '../builders/communication.js';
import { openMigratedDatabase } from '../builders/database.js';
import { startJobs, type RunningJobs } from '../builders/jobs.js';
import { identityDir } from '../identity/index.js';
import { platformMailer } from '../identity/identity-config.js';
import { paymentsConfig, startPayments } from '../builders/payments.js';
import { liveBusSink, startOutbox } from '../builders/outbox.js';
import { startScoring, type RunningScoring } from '../builders/scoring.js';
import { latestValuesSinks, startLatestValues } from '../builders/latest-values.js';
import { createStack, type Stack } from '../builders/stack.js';
import type { PlatformConfig } from '../config/config.js';
import { createRedisBus } from './redis-bus.js';
import { remoteBrokerSettings, remoteBrokerSource } from './remote-broker.js';

export type Role = 'broker' | 'ingest' | 'api';

export interface RunningRole {
  role: Role;
  /** Where clients reach it (MQTT or HTTP URL). */
  url: string;
  broker?: RunningBroker;
  api?: ApiServer;
  /** ingest: the scorer, with the model version it scores with now. */
  scoring?: RunningScoring;
  /** ingest: the job queue this process works; api: the one it enqueues on. */
  jobs?: RunningJobs;
  db: Database;
  stop(): Promise<void>;
}

/** Starts one role of the scaled-out platform. Needs config.redisUrl and config.databaseUrl. */
export async function startRole(role: Role, config: PlatformConfig, logger: Logger): Promise<RunningRole> {
  const redisUrl = config.redisUrl;
  if (!redisUrl) throw new Error(`--role ${role} needs --redis-url`);
  if (!config.databaseUrl) throw new Error('scaled-out roles need DATABASE_URL (a PostgreSQL shared by every process)');
  const log = logger.child({ role });
  const db = await openMigratedDatabase(config);
  const stack = createStack(log);
  stack.push(() => db.close());
  try {
    const bus = await createRedisBus(redisUrl);
    stack.push(() => bus.close());
    const parts = { db, stack, config, log, redisUrl, bus };
    if (role === 'broker') return await brokerRole(parts);
    if (role === 'ingest') return await ingestRole(parts);
    return await apiRole(parts);
  } catch (err) {
    await stack.unwind();
    throw err;
  }
}

/**
 * Channels, uploads and chat keys from the environment, without in-process emulators. Every process
 * must share CLUTCH_CHAT_KEYS and CLUTCH_VAPID_* (a key made in one process's data directory is
 * unknown to the others) and, across machines, an S3 CLUTCH_STORAGE: said once at start.
 */
async function scaledOutCommunication(config: PlatformConfig, log: Logger): Promise<RunningCommunication> {
  const env = process.env;
  const missing = ['CLUTCH_CHAT_KEYS', 'CLUTCH_VAPID_PUBLIC_KEY'].filter((name) => !env[name]?.trim());
  if (missing.length > 0)
    log.warn(
      { missing },
      'scaled out without shared chat/VAPID keys: each process uses the keys in its own data directory',
    );
  return startCommunication(communicationConfig(env, config.dataDir), log, {
    emulate: false,
    sms: loadMfaOptions(env, identityDir(config.dataDir)).sms,
  });
}

interface RoleParts {
  db: Database;
  stack: Stack;
  config: PlatformConfig;
  log: Logger;
  redisUrl: string;
  bus: Awaited<ReturnType<typeof createRedisBus>>;
}

async function brokerRole({ db, stack, config, log, redisUrl, bus }: RoleParts): Promise<RunningRole> {
  // The broker XADDs a device's message to the shared stream before its PUBACK (durableHandoff).
  const source = handoffSource();
  const stream = await createRedisStreamsQueue({ url: redisUrl });
  stack.push(() => stream.close());
  const broker = await startPlatformBroker(db, config, log, { handoff: source, redisUrl });
  stack.push(() => broker.close());
  // This broker only produces into the shared stream; the ingest workers consume it. Stopping the
  // source first refuses later publishes unacknowledged: devices resend them to another broker.
  await source.start((message) => stream.handoff(message));
  stack.push(() => source.stop());
  const stopRevocations = endRevokedSessions(bus, broker);
  stack.push(() => stopRevocations());
  return { role: 'broker', url: broker.mqttUrl, broker, db, stop: () => stack.unwind() };
}

async function ingestRole({ db, stack, config, log, redisUrl, bus }: RoleParts): Promise<RunningRole> {
  const queue = await createRedisStreamsQueue({
    url: redisUrl,
    onError: (err, attempt) => {
      if (attempt % 20 === 0) log.error({ err: (err as Error).message, attempt }, 'ingest batch failed; will retry');
    },
  });
  stack.push(() => queue.close());
  const scoring = await startScoring({ db, modelsDir: config.modelsDir, watchMs: config.modelWatchMs }, log);
  stack.push(() => scoring.stop());
  // Latest values in Redis: every ingest worker records its commits, every API process reads them.
  const latest = await startLatestValues(config, { redisUrl });
  if (latest) stack.push(() => latest.close());
  // Devices reach ingest through our brokers' hand-off to the stream; a broker we do not run is
  // subscribed to as well when one is configured.
  const remote = remoteBrokerSettings(process.env);
  const noSource: MessageSource = { start: async () => {}, stop: async () => {} };
  const ingest = await startIngest({
    db,
    bus,
    queue,
    source: remote ? remoteBrokerSource(remote, log) : noSource,
    logger: log,
    scoring: scoring.consumer,
    ...(latest ? { latest } : {}),
  });
  stack.push(async () => void (await ingest.stop()));
  // The workers of the job queue and the crons run on ingest processes only (API processes only
  // enqueue), so a retrain's training never competes with request handling.
  // Payment providers from the environment only (no in-process emulator: processes could not share it).
  const payments = await startPayments(paymentsConfig(process.env), log, { emulate: false, db });
  stack.push(() => payments.close());
  const communication = await scaledOutCommunication(config, log);
  stack.push(() => communication.close());
  const jobs = await startJobs(db, config, log, {
    workers: true,
    payments: payments.payments,
    installments: { payments: payments.payments },
    commissions: { payouts: payments.payments.payouts, mailer: platformMailer(process.env, log) },
    communication,
  });
  stack.push(() => jobs.stop());
  // Each ingest process relays the outbox onto Redis pub/sub, which every API process's Socket.io
  // gateway hears; on PostgreSQL two relays never deliver the same event at once (SKIP LOCKED).
  // ... and drops the latest values a change outside ingest concerns (vehicle moved, device unbound).
  const outbox = await startOutbox(
    db,
    config,
    [
      liveBusSink(bus, log),
      ...latestValuesSinks(latest),
      repairOrderPaymentsSink(jobs.queue),
      receiptEmailSink(jobs.queue),
      notificationsSink(jobs.queue),
    ],
    log,
  );
  stack.push(() => outbox.stop());
  return { role: 'ingest', url: redisUrl, db, scoring, jobs, stop: () => stack.unwind() };
}

async function apiRole({ db, stack, config, log, redisUrl, bus }: RoleParts): Promise<RunningRole> {
  // Commands go out through a broker as the MQTT admin (any broker of the cluster will do).
  const commands = await connectCommandSender(config);
  if (commands) stack.push(() => commands.close());
  // Enqueue only: AI retrains go to the ingest processes' workers.
  const jobs = await startJobs(db, config, log, { workers: false });
  stack.push(() => jobs.stop());
  // Socket.io adapter publisher, and the store of the REST rate limits (shared by every API process).
  const pub = new Redis(redisUrl);
  pub.on('error', () => {});
  stack.push(() => void pub.disconnect());
  const sub = pub.duplicate();
  sub.on('error', () => {});
  stack.push(() => void sub.disconnect());
  const latestValues = await startLatestValues(config, { redisUrl });
  if (latestValues) stack.push(() => latestValues.close());
  const communication = await scaledOutCommunication(config, log);
  stack.push(() => communication.close());
  const api = await startPlatformApi(db, bus, config, log, {
    communication,
    latestValues,
    commands: commands?.sender,
    jobs: jobs.queue,
    payments: (await startPayments(paymentsConfig(process.env), log, { emulate: false, db })).payments,
    rateLimitRedis: pub,
    health: async () => ({ redis: { status: 'up', detail: 'scaled-out API process' } }),
  });
  stack.push(() => api.close());
  communication.pointLinksAt(api.url);
  api.io.adapter(createAdapter(pub, sub));
  return { role: 'api', url: api.url, api, db, jobs, stop: () => stack.unwind() };
}
