import {
  loadMfaOptions,
  notificationsSink,
  receiptEmailSink,
  repairOrderPaymentsSink,
  type ApiServer,
} from '@clutch/api';
import type { RunningBroker } from '@clutch/broker';
import { createInProcessBus, type LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { startAgent } from '@clutch/gateway-agent';
import { handoffSource, startIngest, type RunningIngest } from '@clutch/ingest';
import type { Logger } from 'pino';
import { startPlatformApi } from './builders/api.js';
import { endRevokedSessions, startPlatformBroker } from './builders/broker.js';
import { inProcessCommandSender } from './builders/commands.js';
import { communicationConfig, startCommunication, type RunningCommunication } from './builders/communication.js';
import { openMigratedDatabase } from './builders/database.js';
import { startJobs, type RunningJobs } from './builders/jobs.js';
import { identityDir } from './identity/index.js';
import { platformMailer } from './identity/identity-config.js';
import { paymentsConfig, startPayments, type RunningPayments } from './builders/payments.js';
import { liveBusSink, startOutbox } from './builders/outbox.js';
import { startScoring, type RunningScoring } from './builders/scoring.js';
import { latestValuesSinks, startLatestValues } from './builders/latest-values.js';
import { createStack } from './builders/stack.js';
import type { PlatformConfig } from './config/config.js';
import { ensureDevice } from './fleet/provision.js';
import { DEMO_TENANT, startSimulatedFleet, type RunningFleet } from './fleet/simulated-fleet.js';

export interface RunningPlatform {
  db: Database;
  /** Live events after each commit (what Socket.io relays); benchmarks time publish-to-stored with it. */
  bus: LiveEventBus;
  broker: RunningBroker;
  ingest: RunningIngest;
  /** The scorer ingest uses, with the model version it scores with now. */
  scoring: RunningScoring;
  /** The durable job queue (AI retrains, crons), worked by this process. */
  jobs: RunningJobs;
  /** Payment providers (builders/payments.ts): `emulator` is set when the Stripe emulator runs in this process. */
  payments: RunningPayments;
  /** Notification channels, uploads, chat keys; with the dev mailbox and local push service when not configured. */
  communication: RunningCommunication;
  api: ApiServer;
  fleet: RunningFleet;
  /** The owner's live dashboard of the first vehicle (or the vehicle list when there is none). */
  dashboardUrl: string;
  /** Flushes agents, drains ingest, then closes every server and the database. */
  stop(): Promise<void>;
}

/** Ingest's share of a stop: what is not stored by then was not acknowledged, and is resent. */
const INGEST_STOP_MS = 5000;
/** The job workers' share: a job still running then is retried after it expires. */
const JOBS_STOP_MS = 3000;

/**
 * Starts every box of DESIGN.md §2 in this process on embedded defaults, from the same builders as
 * the scaled-out roles (scale-out/roles.ts): here ingest takes messages straight from the broker, the
 * live-event bus is in memory, and this one process works the job queue and relays the outbox.
 */
export async function startPlatform(config: PlatformConfig, logger: Logger): Promise<RunningPlatform> {
  const db = await openMigratedDatabase(config);
  const stack = createStack(logger);
  stack.push(() => db.close());
  try {
    const bus = createInProcessBus();
    // Ingest takes device messages inside the broker's authorizePublish: the PUBACK follows the commit.
    const source = handoffSource();
    const broker = await startPlatformBroker(db, config, logger.child({ component: 'broker' }), { handoff: source });
    stack.push(() => broker.close());

    // The deployed model when there is one (npm run ml -- evaluate --register, then deploy), else the
    // health checks alone; a model deployed later takes over within config.modelWatchMs.
    const scoring = await startScoring({ db, modelsDir: config.modelsDir, watchMs: config.modelWatchMs }, logger);
    stack.push(() => scoring.stop());
    // Latest values ingest keeps after each commit and the API serves /latest and /health from (in memory here).
    const latestValues = await startLatestValues(config);
    if (latestValues) stack.push(() => latestValues.close());
    const ingest = await startIngest({
      db,
      bus,
      source,
      logger: logger.child({ component: 'ingest' }),
      scoring: scoring.consumer,
      ...(latestValues ? { latest: latestValues } : {}),
    });
    stack.push(async () => void (await ingest.stop(INGEST_STOP_MS)));

    const unsubscribeRevocations = endRevokedSessions(bus, broker);
    stack.push(() => unsubscribeRevocations());

    // Payment providers from the environment, or the Stripe emulator in this process (builders/payments.ts).
    const payments = await startPayments(paymentsConfig(process.env), logger, { db });
    stack.push(() => payments.close());
    // Chat and notifications (builders/communication.ts): channels from the environment, else, in the
    // open dev mode only, the dev mailbox and a local Web Push service in this process; uploads on
    // disk under ./data by default.
    const communication = await startCommunication(communicationConfig(process.env, config.dataDir), logger, {
      emulate: !config.requireAuth,
      sms: loadMfaOptions(process.env, identityDir(config.dataDir)).sms,
    });
    stack.push(() => communication.close());
    const jobs = await startJobs(db, config, logger, {
      workers: true,
      payments: payments.payments,
      installments: { payments: payments.payments },
      commissions: {
        payouts: payments.payments.payouts,
        mailer: communication.devMailer ?? platformMailer(process.env, logger),
      },
      communication,
    });
    stack.push(() => jobs.stop(JOBS_STOP_MS));
    const outbox = await startOutbox(
      db,
      config,
      [
        liveBusSink(bus, logger),
        ...latestValuesSinks(latestValues),
        repairOrderPaymentsSink(jobs.queue),
        receiptEmailSink(jobs.queue),
        notificationsSink(jobs.queue),
      ],
      logger,
    );
    stack.push(() => outbox.stop());

    // The health check is built before the fleet starts; it reads the fleet once there is one.
    const started: { fleet?: RunningFleet } = {};
    const api = await startPlatformApi(db, bus, config, logger.child({ component: 'api' }), {
      // Downlink: QoS 1 to the device's command topic; the agent answers on .../result (ingest).
      commands: inProcessCommandSender(broker),
      replayDeadLetter: (letter) => ingest.replay(letter),
      jobs: jobs.queue,
      latestValues,
      payments: payments.payments,
      communication,
      // Account mail (verification, resets) into the dev mailbox too, when no SMTP is configured.
      mailer: communication.devMailer,
      health: async () => {
        const s = ingest.stats();
        return {
          broker: {
            status: broker.aedes.closed ? 'down' : 'up',
            detail: `${broker.aedes.connectedClients} clients connected`,
          },
          ingest: s.lastError
            ? { status: 'degraded', detail: `retrying: ${s.lastError}; ${s.queueDepth} messages waiting` }
            : {
                status: 'up',
                detail: `${s.samplesStored} samples stored, ${s.deadLetters} dead letters, ${s.queueDepth} queued`,
              },
          fleet: {
            status: 'up',
            detail: started.fleet
              ? `${started.fleet.stats().agents} simulated vehicles from ${started.fleet.source}`
              : 'starting',
          },
        };
      },
    });
    stack.push(() => api.close());
    payments.pointWebhooksAt(api.url);
    communication.pointLinksAt(api.url);

    const fleet = await startSimulatedFleet({
      db,
      mqttUrl: broker.mqttUrl,
      vehicles: config.vehicles,
      datasetsDir: config.datasetsDir,
      rowIntervalMs: config.rowIntervalMs,
      logger: logger.child({ component: 'fleet' }),
    });
    started.fleet = fleet;
    stack.push(() => fleet.stop());

    if (config.elm327Port) {
      const { login, ...device } = await ensureDevice(db, {
        tenantId: DEMO_TENANT,
        tenantName: 'Demo fleet',
        deviceId: 'elm327-1',
        vehicle: { name: `ELM327 on ${config.elm327Port}` },
      });
      const agent = await startAgent({
        transport: { path: config.elm327Port, baudRate: config.elm327Baud },
        mqttUrl: broker.mqttUrl,
        tenant: device.tenantId,
        device: device.deviceId,
        username: login.username,
        password: login.password,
        logger: logger.child({ component: 'agent', device: device.deviceId }),
      });
      stack.push(() => agent.stop());
      fleet.devices.push(device);
    }

    const first = fleet.devices[0];
    const base = api.url.replace('127.0.0.1', 'localhost');
    return {
      db,
      bus,
      broker,
      ingest,
      scoring,
      jobs,
      payments,
      communication,
      api,
      fleet,
      dashboardUrl: first ? `${base}/dashboard.html?vehicle=${first.vehicleId}` : `${base}/`,
      stop: () => stack.unwind(),
    };
  } catch (err) {
    await stack.unwind();
    throw err;
  }
}
