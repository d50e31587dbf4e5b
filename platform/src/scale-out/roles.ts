// The production shape (DESIGN.md §10): each box its own process, scaled out on Redis and PostgreSQL.
//   broker: N behind a TCP load balancer; sessions and fan-out in Redis; telemetry into a Redis stream
//   ingest: N workers in one Redis Streams consumer group; live events onto Redis pub/sub
//   api:    N stateless processes; Socket.io rooms across them with the Redis adapter
import { startApiServer, type ApiServer } from '@clutch/api';
import { startBroker, tenantPolicy, type RunningBroker } from '@clutch/broker';
import { buildTopic, signalCatalogue } from '@clutch/contracts';
import { migrate, openDatabase, syncSignals, type Database } from '@clutch/db';
import { createRedisStreamsQueue, handoffSource, startIngest, type MessageSource } from '@clutch/ingest';
import { createOnlineScorer, getLiveModel } from '@clutch/ml';
import { webRoot } from '@clutch/web';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import type { Logger } from 'pino';
import { brokerTls, type PlatformConfig } from '../config/config.js';
import { createRedisBus } from './redis-bus.js';

export type Role = 'broker' | 'ingest' | 'api';

export interface RunningRole {
  role: Role;
  /** Where clients reach it (MQTT or HTTP URL). */
  url: string;
  broker?: RunningBroker;
  api?: ApiServer;
  db: Database;
  stop(): Promise<void>;
}

async function openMigrated(config: PlatformConfig): Promise<Database> {
  if (!config.databaseUrl) throw new Error('scaled-out roles need DATABASE_URL (a PostgreSQL shared by every process)');
  const db = await openDatabase({ url: config.databaseUrl });
  await migrate(db);
  await syncSignals(db, signalCatalogue);
  return db;
}

/** Starts one role of the scaled-out platform. Needs config.redisUrl and config.databaseUrl. */
export async function startRole(role: Role, config: PlatformConfig, logger: Logger): Promise<RunningRole> {
  const redisUrl = config.redisUrl;
  if (!redisUrl) throw new Error(`--role ${role} needs --redis-url`);
  const db = await openMigrated(config);
  const bus = await createRedisBus(redisUrl);
  const log = logger.child({ role });

  if (role === 'broker') {
    // The broker XADDs a device's message to the shared stream before its PUBACK (durableHandoff).
    const source = handoffSource();
    const broker = await startBroker({
      durableHandoff: source,
      host: config.host, mqttPort: config.mqttPort, wsPort: config.mqttWsPort, ...(config.tls ? { tls: brokerTls(config.tls)! } : {}), redisUrl, logger: log,
      policy: tenantPolicy({ db, allowAnonymous: config.allowAnonymous, adminPassword: config.adminPassword }),
    });
    // This broker only produces into the shared stream; the ingest workers consume it.
    const stream = await createRedisStreamsQueue({ url: redisUrl });
    await source.start((message) => stream.handoff(message));
    const stopRevocations = bus.subscribe((e) => {
      if (e.type === 'device-revoked') broker.disconnectDevice(e.tenantId, e.deviceId);
      if (e.type === 'api-key-revoked') broker.disconnectApiKey(e.tenantId, e.keyId);
    });
    return {
      role, url: broker.mqttUrl, broker, db,
      async stop() {
        stopRevocations();
        await source.stop(); // from here on publishes are refused unacknowledged: devices resend them elsewhere
        await broker.close();
        await stream.close();
        await bus.close();
        await db.close();
      },
    };
  }

  if (role === 'ingest') {
    const queue = await createRedisStreamsQueue({
      url: redisUrl,
      onError: (err, attempt) => {
        if (attempt % 20 === 0) log.error({ err: (err as Error).message, attempt }, 'ingest batch failed; will retry');
      },
    });
    const noSource: MessageSource = { start: async () => {}, stop: async () => {} };
    const live = await getLiveModel(config.modelsDir).catch(() => null);
    const ingest = await startIngest({
      db, bus, queue, source: noSource, logger: log,
      scorer: { scorer: createOnlineScorer(live ? { model: live.model } : {}), modelVersion: live?.entry.version ?? 'health-checks' },
    });
    return {
      role, url: redisUrl, db,
      async stop() {
        await ingest.stop();
        await queue.close();
        await bus.close();
        await db.close();
      },
    };
  }

  // api: commands go out through a broker as the MQTT admin (any broker of the cluster will do).
  let commandClient: mqtt.MqttClient | undefined;
  if (config.brokerUrl && config.adminPassword) {
    commandClient = await mqtt.connectAsync(config.brokerUrl, { clientId: `admin-api-${process.pid}`, username: 'admin', password: config.adminPassword });
  }
  // Socket.io adapter publisher, and the store of the REST rate limits (shared by every API process).
  const pub = new Redis(redisUrl);
  pub.on('error', () => {});
  const api = await startApiServer({
    db, bus, webRoot, port: config.httpPort, host: config.host, logger: log,
    requireAuth: config.requireAuth, modelsDir: config.modelsDir,
    allowedHosts: config.allowedHosts, rateLimit: { ...config.rateLimit, redis: pub }, trustProxy: config.trustProxy, connections: { maxConnections: config.maxConnections },
    ...(config.adminToken ? { adminToken: config.adminToken } : {}),
    ...(config.datasetsDir ? { datasetsDir: config.datasetsDir } : {}),
    ...(commandClient
      ? {
          commands: {
            send: async (target, request) => {
              await commandClient!.publishAsync(buildTopic({ tenant: target.tenantId, device: target.deviceId, kind: 'cmd', commandId: request.id }), JSON.stringify(request), { qos: 1 });
            },
          },
        }
      : {}),
    health: async () => ({ redis: { status: 'up', detail: 'scaled-out API process' } }),
  });
  const sub = pub.duplicate();
  sub.on('error', () => {});
  api.io.adapter(createAdapter(pub, sub));
  return {
    role, url: api.url, api, db,
    async stop() {
      await api.close();
      await commandClient?.endAsync();
      pub.disconnect();
      sub.disconnect();
      await bus.close();
      await db.close();
    },
  };
}
