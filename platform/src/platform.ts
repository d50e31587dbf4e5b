import { startApiServer, type ApiServer } from '@clutch/api';
import { startBroker, tenantPolicy, type RunningBroker } from '@clutch/broker';
import { buildTopic, createInProcessBus, signalCatalogue, type LiveEventBus } from '@clutch/contracts';
import { migrate, openDatabase, syncSignals, type Database } from '@clutch/db';
import { startAgent } from '@clutch/gateway-agent';
import { handoffSource, startIngest, type RunningIngest } from '@clutch/ingest';
import { createOnlineScorer, getLiveModel } from '@clutch/ml';
import { webRoot } from '@clutch/web';
import type { Logger } from 'pino';
import { brokerTls, type PlatformConfig } from './config/config.js';
import { ensureDevice } from './fleet/provision.js';
import { DEMO_TENANT, startSimulatedFleet, type RunningFleet } from './fleet/simulated-fleet.js';

export interface RunningPlatform {
  db: Database;
  /** Live events after each commit (what Socket.io relays); benchmarks time publish-to-stored with it. */
  bus: LiveEventBus;
  broker: RunningBroker;
  ingest: RunningIngest;
  api: ApiServer;
  fleet: RunningFleet;
  /** The owner's live dashboard of the first vehicle (or the vehicle list when there is none). */
  dashboardUrl: string;
  /** Flushes agents, drains ingest, then closes every server and the database. */
  stop(): Promise<void>;
}

/** Ingest's share of a stop: what is not stored by then was not acknowledged, and is resent. */
const INGEST_STOP_MS = 5000;

/** Starts every box of DESIGN.md §2 in this process on embedded defaults. */
export async function startPlatform(config: PlatformConfig, logger: Logger): Promise<RunningPlatform> {
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : config.dataDir });
  const stack: (() => Promise<void>)[] = [() => db.close()];
  const unwind = async (): Promise<void> => {
    for (const close of stack.reverse()) await close().catch((err: Error) => logger.error({ err: err.message }, 'shutdown step failed'));
  };
  try {
    await migrate(db);
    await syncSignals(db, signalCatalogue);
    await db.query(`SELECT clutch_ensure_sample_partitions(now() - interval '1 month', now() + interval '3 months')`);

    const bus = createInProcessBus();
    // Ingest takes device messages inside the broker's authorizePublish: the PUBACK follows the commit.
    const source = handoffSource();
    const broker = await startBroker({
      durableHandoff: source,
      host: config.host, mqttPort: config.mqttPort, wsPort: config.mqttWsPort, ...(config.tls ? { tls: brokerTls(config.tls)! } : {}), logger: logger.child({ component: 'broker' }),
      policy: tenantPolicy({ db, allowAnonymous: config.allowAnonymous, adminPassword: config.adminPassword }),
    });
    stack.push(() => broker.close());

    // The deployed model when there is one (npm run ml -- evaluate --register, then deploy), else the health checks alone.
    const live = await getLiveModel(config.modelsDir).catch((err: Error) => {
      logger.warn({ err: err.message }, 'model registry unreadable; scoring with the health checks only');
      return null;
    });
    const scorer = { scorer: createOnlineScorer(live ? { model: live.model } : {}), modelVersion: live?.entry.version ?? 'health-checks' };
    // A model deployed through the API (or the ml CLI) takes over scoring within a minute.
    const modelWatch = setInterval(() => {
      void getLiveModel(config.modelsDir).then(
        (next) => {
          const version = next?.entry.version ?? 'health-checks';
          if (version === scorer.modelVersion) return;
          scorer.scorer = createOnlineScorer(next ? { model: next.model } : {});
          scorer.modelVersion = version;
          logger.info({ version }, 'scoring with a newly deployed model');
        },
        () => {},
      );
    }, 60_000);
    modelWatch.unref();
    stack.push(async () => clearInterval(modelWatch));
    const ingest = await startIngest({ db, bus, source, logger: logger.child({ component: 'ingest' }), scorer });
    stack.push(async () => void (await ingest.stop(INGEST_STOP_MS)));

    // A revoked or rotated credential (device or API key) ends the live MQTT sessions that used it at once.
    const unsubscribeRevocations = bus.subscribe((event) => {
      if (event.type === 'device-revoked') broker.disconnectDevice(event.tenantId, event.deviceId);
      if (event.type === 'api-key-revoked') broker.disconnectApiKey(event.tenantId, event.keyId);
    });
    stack.push(async () => unsubscribeRevocations());

    // The health check is built before the fleet starts; it reads the fleet once there is one.
    const started: { fleet?: RunningFleet } = {};
    const api = await startApiServer({
      db, bus, webRoot, port: config.httpPort, host: config.host, logger: logger.child({ component: 'api' }),
      requireAuth: config.requireAuth,
      modelsDir: config.modelsDir,
      allowedHosts: config.allowedHosts, rateLimit: config.rateLimit, trustProxy: config.trustProxy, connections: { maxConnections: config.maxConnections },
      ...(config.adminToken ? { adminToken: config.adminToken } : {}),
      ...(config.datasetsDir ? { datasetsDir: config.datasetsDir } : {}),
      // Downlink: QoS 1 to the device's command topic; the agent answers on .../result (ingest).
      commands: {
        send: (target, request) =>
          new Promise<void>((resolve, reject) =>
            broker.aedes.publish(
              { cmd: 'publish', topic: buildTopic({ tenant: target.tenantId, device: target.deviceId, kind: 'cmd', commandId: request.id }), payload: Buffer.from(JSON.stringify(request)), qos: 1, retain: false, dup: false },
              (err) => (err ? reject(err) : resolve()),
            ),
          ),
      },
      replayDeadLetter: (letter) => ingest.replay(letter),
      health: async () => {
        const s = ingest.stats();
        return {
          broker: { status: broker.aedes.closed ? 'down' : 'up', detail: `${broker.aedes.connectedClients} clients connected` },
          ingest: s.lastError
            ? { status: 'degraded', detail: `retrying: ${s.lastError}; ${s.queueDepth} messages waiting` }
            : { status: 'up', detail: `${s.samplesStored} samples stored, ${s.deadLetters} dead letters, ${s.queueDepth} queued` },
          fleet: { status: 'up', detail: started.fleet ? `${started.fleet.stats().agents} simulated vehicles from ${started.fleet.source}` : 'starting' },
        };
      },
    });
    stack.push(() => api.close());

    const fleet = await startSimulatedFleet({
      db, mqttUrl: broker.mqttUrl, vehicles: config.vehicles, datasetsDir: config.datasetsDir,
      rowIntervalMs: config.rowIntervalMs, logger: logger.child({ component: 'fleet' }),
    });
    started.fleet = fleet;
    stack.push(() => fleet.stop());

    if (config.elm327Port) {
      const { login, ...device } = await ensureDevice(db, { tenantId: DEMO_TENANT, tenantName: 'Demo fleet', deviceId: 'elm327-1', vehicle: { name: `ELM327 on ${config.elm327Port}` } });
      const agent = await startAgent({
        transport: { path: config.elm327Port, baudRate: config.elm327Baud },
        mqttUrl: broker.mqttUrl, tenant: device.tenantId, device: device.deviceId, username: login.username, password: login.password,
        logger: logger.child({ component: 'agent', device: device.deviceId }),
      });
      stack.push(() => agent.stop());
      fleet.devices.push(device);
    }

    const first = fleet.devices[0];
    const base = api.url.replace('127.0.0.1', 'localhost');
    return {
      db, bus, broker, ingest, api, fleet,
      dashboardUrl: first ? `${base}/dashboard.html?vehicle=${first.vehicleId}` : `${base}/`,
      stop: unwind,
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
