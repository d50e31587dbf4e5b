// The gateway agent: adapter session -> poller -> outbox (disk) -> drainer -> MQTT (DESIGN §2, §5).
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { QueueDrainer } from '../uplink/drainer.js';
import { MqttPublisher } from '../uplink/mqtt-publisher.js';
import type { TelemetryPublisher } from '../uplink/publisher.js';
import { Outbox } from '../store/outbox.js';
import { AdapterLink, type AgentTransport } from './adapter-link.js';
import type { AdapterInfo } from './session.js';
import { startPoller, type Poller } from './poller.js';

export const AGENT_VERSION = '0.2.0';

export type { AgentTransport } from './adapter-link.js';

export interface AgentOptions {
  readonly transport: AgentTransport;
  readonly mqttUrl: string;
  readonly tenant: string;
  readonly device: string;
  readonly username?: string;
  readonly password?: string;
  /** PEM CA file for mqtts:// brokers with a private CA. */
  readonly caFile?: string;
  /** Store-and-forward directory (disk queue, seq, journal); default a fresh temporary directory. */
  readonly queueDir?: string;
  readonly queueMaxBytes?: number;
  /** fsync queued batches (default true; see store/disk-queue.ts). */
  readonly fsync?: boolean;
  /** Unacknowledged batches allowed on the wire (default 16). */
  readonly inflightWindow?: number;
  readonly batchIntervalMs?: number;
  /** Multiplies every polling period: 0.01 polls 100x faster (fast replays in tests). */
  readonly pollScale?: number;
  readonly logger?: Logger;
  /** Replaces the MQTT uplink (e.g. another transport); the agent still owns closing it. */
  readonly publisher?: TelemetryPublisher;
  /** Sees every sample as it enters the durable journal (audit trails in tests, live displays). */
  readonly onSample?: (key: string, value: number, atMs: number) => void;
}

export interface AgentStats {
  batchesQueued: number;
  samplesQueued: number;
  batchesAcked: number;
  queueBatches: number;
  queueBytes: number;
  queueDropped: number;
  inFlight: number;
  /** Values decoded per second since polling began. */
  readsPerSecond: number;
  reconnects: number;
  /** Kept for the fleet's stats: batches/samples handed to the outbox. */
  batchesSent: number;
  samplesSent: number;
}

export interface RunningAgent {
  stop(): Promise<void>;
  stats(): AgentStats;
  readonly vin?: string;
  readonly adapter: AdapterInfo;
  readonly outbox: Outbox;
  readonly poller: Poller;
}

/**
 * Without a configured queueDir (library use, the simulated fleet) each agent gets a fresh temporary
 * directory, so two agents never share a queue; a real car configures a persistent queueDir.
 */
export function defaultQueueDir(tenant: string, device: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `clutch-agent-${tenant}-${device}-`));
}

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const log = options.logger ?? pino({ level: 'warn' });
  const link = new AdapterLink(options.transport, log);
  const adapter = await link.open();
  log.info({ adapter: { ...adapter, supportedPids: [...adapter.supportedPids] } }, 'adapter initialised');

  const kick = { drain: () => {} };
  const outbox = new Outbox({
    dir: options.queueDir ?? defaultQueueDir(options.tenant, options.device),
    maxBytes: options.queueMaxBytes,
    fsync: options.fsync,
    logger: log,
    onQueued: () => kick.drain(),
  });
  const publisher = options.publisher ?? MqttPublisher.create({
    url: options.mqttUrl, tenant: options.tenant, device: options.device, username: options.username,
    password: options.password, caFile: options.caFile, logger: log,
  });
  const drainer = new QueueDrainer(outbox.queue, (payload) => publisher.publishTelemetry(payload), { window: options.inflightWindow, logger: log });
  const onConnect = () => {
    const info = link.info;
    publisher.publishStatus({
      v: 1, state: 'online', t: Date.now(), agentVersion: AGENT_VERSION,
      ...(info?.vin && /^[A-HJ-NPR-Z0-9]{17}$/.test(info.vin) ? { vin: info.vin } : {}),
      ...(info?.banner ? { adapter: info.banner.slice(0, 64) } : {}),
      ...(info?.protocol ? { protocol: info.protocol } : {}),
    }).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'status publish failed'));
    drainer.kick();
  };
  kick.drain = () => drainer.kick();
  publisher.onConnect(onConnect);
  if (publisher.connected) onConnect();
  drainer.kick(); // batches left from a previous run

  const flushTimer = setInterval(() => outbox.flush(), options.batchIntervalMs ?? 1000);
  const poller = startPoller({
    link, logger: log, pollScale: options.pollScale,
    emit: (key, value, at) => {
      outbox.add(key, value, at);
      options.onSample?.(key, value, at);
    },
  });

  const stats = (): AgentStats => {
    const q = outbox.queue.stats();
    return {
      batchesQueued: outbox.batchesQueued, samplesQueued: outbox.samplesQueued, batchesAcked: drainer.acked,
      queueBatches: q.batches, queueBytes: q.bytes, queueDropped: q.dropped, inFlight: drainer.inFlightCount,
      readsPerSecond: poller.readsPerSecond(), reconnects: link.reconnects,
      batchesSent: outbox.batchesQueued, samplesSent: outbox.samplesQueued,
    };
  };

  return {
    get vin() {
      return link.info?.vin;
    },
    adapter,
    outbox,
    poller,
    stats,
    async stop() {
      await poller.stop();
      clearInterval(flushTimer);
      outbox.close();
      // What is not acknowledged within the grace period stays on disk for the next start.
      if (publisher.connected) await drainer.waitIdle(5000);
      drainer.stop();
      await publisher.close();
      await link.close();
    },
  };
}
