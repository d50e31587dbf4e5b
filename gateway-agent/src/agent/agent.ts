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
import { dtcReport, readDtcs } from '../diagnostics/diagnostics.js';
import { handleCommand } from '../downlink/handler.js';
import { serialGps, startGpsReader, type GpsReader } from '../gps/gps-reader.js';

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
  /** PEM client certificate and key for certificate login (CN = tenant/device). */
  readonly certFile?: string;
  readonly keyFile?: string;
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
  /** Serial NMEA 0183 GPS receiver; fixes go to /location (QoS 1, at most one per second). */
  readonly gps?:
    | { readonly path: string; readonly baudRate: number }
    | { readonly open: () => Promise<import('node:stream').Duplex> };
  /** How often DTCs (Modes 03/07/0A) are read and reported on /dtc; default 5 minutes, 0 = only at start. */
  readonly dtcIntervalMs?: number;
  /** Carries out the downlink `reboot` command; without it the command is refused (NOT_SUPPORTED). */
  readonly onReboot?: () => void;
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
  gpsFixes: number;
  /** Firmware profile in use (by VIN and supported PIDs). */
  profile: string;
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
  const publisher =
    options.publisher ??
    MqttPublisher.create({
      url: options.mqttUrl,
      tenant: options.tenant,
      device: options.device,
      username: options.username,
      password: options.password,
      caFile: options.caFile,
      certFile: options.certFile,
      keyFile: options.keyFile,
      logger: log,
    });
  const drainer = new QueueDrainer(outbox.queue, (payload) => publisher.publishTelemetry(payload), {
    window: options.inflightWindow,
    logger: log,
  });
  const onConnect = () => {
    const info = link.info;
    publisher
      .publishStatus({
        v: 1,
        state: 'online',
        t: Date.now(),
        agentVersion: AGENT_VERSION,
        ...(info?.vin && /^[A-HJ-NPR-Z0-9]{17}$/.test(info.vin) ? { vin: info.vin } : {}),
        ...(info?.banner ? { adapter: info.banner.slice(0, 64) } : {}),
        ...(info?.protocol ? { protocol: info.protocol } : {}),
      })
      .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'status publish failed'));
    drainer.kick();
  };
  kick.drain = () => drainer.kick();
  publisher.onConnect(onConnect);
  if (publisher.connected) onConnect();
  drainer.kick(); // batches left from a previous run

  const flushTimer = setInterval(() => outbox.flush(), options.batchIntervalMs ?? 1000);
  let lastSpeed: number | undefined;
  const poller = startPoller({
    link,
    logger: log,
    pollScale: options.pollScale,
    emit: (key, value, at) => {
      if (key === 'vehicle.speed') lastSpeed = value;
      outbox.add(key, value, at);
      options.onSample?.(key, value, at);
    },
  });

  const reportDtcs = async () => {
    const driver = link.driver;
    if (!driver) return;
    try {
      const codes = await readDtcs(driver, link.info?.isCan ?? true);
      if (codes.length > 0) log.warn({ codes }, 'trouble codes present');
      await publisher.publishMessage('dtc', JSON.stringify(dtcReport(codes)));
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'DTC report failed');
    }
  };
  void reportDtcs();
  const dtcTimer =
    (options.dtcIntervalMs ?? 300_000) > 0
      ? setInterval(() => void reportDtcs(), options.dtcIntervalMs ?? 300_000)
      : undefined;

  let gps: GpsReader | undefined;
  if (options.gps) {
    const g = options.gps;
    gps = startGpsReader({
      open: 'open' in g ? g.open : serialGps(g.path, g.baudRate),
      logger: log,
      onFix: (fix) =>
        void publisher
          .publishMessage('location', JSON.stringify(fix))
          .catch((err: unknown) => log.debug({ err: (err as Error).message }, 'location publish failed')),
    });
  }

  // QoS 1 may deliver a command twice ([MQTT-4.3.2]); a command id runs once.
  const seenCommands: string[] = [];
  publisher.onCommand((id, payload) => {
    if (seenCommands.includes(id)) return;
    seenCommands.push(id);
    if (seenCommands.length > 256) seenCommands.shift();
    void handleCommand(id, payload, {
      link,
      poller,
      publisher,
      logger: log,
      stats: () => stats(),
      lastSpeed: () => lastSpeed,
      ...(options.onReboot ? { reboot: options.onReboot } : {}),
    });
  });

  const stats = (): AgentStats => {
    const q = outbox.queue.stats();
    return {
      batchesQueued: outbox.batchesQueued,
      samplesQueued: outbox.samplesQueued,
      batchesAcked: drainer.acked,
      queueBatches: q.batches,
      queueBytes: q.bytes,
      queueDropped: q.dropped,
      inFlight: drainer.inFlightCount,
      readsPerSecond: poller.readsPerSecond(),
      reconnects: link.reconnects,
      gpsFixes: gps?.fixes ?? 0,
      profile: link.info?.profile.name ?? 'SAEJ1979',
      batchesSent: outbox.batchesQueued,
      samplesSent: outbox.samplesQueued,
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
      await gps?.stop();
      clearInterval(flushTimer);
      if (dtcTimer) clearInterval(dtcTimer);
      outbox.close();
      // What is not acknowledged within the grace period stays on disk for the next start.
      if (publisher.connected) await drainer.waitIdle(5000);
      drainer.stop();
      await publisher.close();
      await link.close();
    },
  };
}
