// The gateway agent: adapter session -> poller -> outbox (disk) -> drainer -> MQTT (DESIGN §2, §5).
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentState, DeviceStatus } from '@clutch/contracts';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { QueueDrainer } from '../uplink/drainer.js';
import { MqttPublisher } from '../uplink/mqtt-publisher.js';
import type { TelemetryPublisher } from '../uplink/publisher.js';
import { Outbox } from '../store/outbox.js';
import { AdapterLink, type AgentTransport } from './adapter-link.js';
import { waitForAdapter, type AdapterInfo } from './session.js';
import { startPoller, type Poller } from './poller.js';
import { dtcReport, readDtcs } from '../diagnostics/diagnostics.js';
import { handleCommand, type CommandLink, type CommandPoller } from '../downlink/handler.js';
import { agentError } from '../errors.js';
import { openSerialPort } from '../transport/serial-port.js';
import type { BackoffOptions } from '../transport/backoff.js';
import { serialGps, startGpsReader, type GpsReader } from '../gps/gps-reader.js';

export const AGENT_VERSION = '0.3.0';

export type { AgentTransport } from './adapter-link.js';
export type { AgentState } from '@clutch/contracts';

export interface AgentOptions {
  readonly transport: AgentTransport;
  readonly mqttUrl: string;
  readonly tenant: string;
  readonly device: string;
  readonly username?: string;
  readonly password?: string;
  /** MQTT protocol version of the uplink: 4 (3.1.1) or 5 (commands answered by response topic). */
  readonly mqttVersion?: 4 | 5;
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
  /**
   * Keep trying until the adapter answers (the port may not exist yet, the adapter may not answer ATZ)
   * instead of failing at the first attempt: exponential backoff with jitter, at most `maxMs` apart
   * (default 30 s). Meanwhile the uplink is up: status says `waiting-for-adapter`, the disk queue left
   * by a previous run drains, and commands are answered (those needing the adapter: ADAPTER_UNAVAILABLE).
   * Only for a reopenable transport (a path or `open`); an in-process stream is tried once.
   */
  readonly waitForAdapter?: boolean | BackoffOptions;
  /** Ends the wait for the adapter (SIGINT/SIGTERM at start-up): startAgent rejects with the reason. */
  readonly signal?: AbortSignal;
  /** Sees every state change (the CLI logs them; tests follow them). */
  readonly onState?: (state: AgentState, detail: string | undefined) => void;
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
  /** What the agent is doing (also on the retained status topic). */
  state: AgentState;
  /** Why, e.g. the last adapter error while waiting for it. */
  stateDetail?: string;
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

/**
 * The adapter link, telling the agent when it is lost and back (the poller reopens it; A1's
 * adapter-link.ts knows nothing of agent states).
 */
class ReportingLink extends AdapterLink {
  constructor(
    transport: AgentTransport,
    log: Logger,
    private readonly report: (state: AgentState, detail?: string) => void,
  ) {
    super(transport, log);
  }

  override async reopen(reason: string): Promise<boolean> {
    this.report('adapter-lost', reason);
    const reopened = await super.reopen(reason);
    if (reopened) this.report('polling');
    return reopened;
  }

  override async reinitialise(): Promise<void> {
    this.report('initialising', 'adapter reset detected');
    await super.reinitialise();
    this.report('polling');
  }
}

/**
 * A reopenable transport that says when the adapter first answers on a freshly opened port (it is
 * then being initialised; an open port where nothing answers is still `waiting-for-adapter`).
 */
function observedTransport(transport: AgentTransport, onAnswered: () => void): AgentTransport {
  if ('stream' in transport) return transport;
  const open = 'open' in transport ? transport.open : () => openSerialPort(transport.path, transport.baudRate);
  return {
    open: async () => {
      const stream = await open();
      stream.once('data', onAnswered);
      return stream;
    },
  };
}

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const log = options.logger ?? pino({ level: 'warn' });
  let state: AgentState = 'initialising';
  let stateDetail: string | undefined;
  // Filled in once the uplink exists (the adapter may change state before that).
  const ref: { publisher?: TelemetryPublisher; poller?: Poller } = {};
  const setState = (next: AgentState, detail?: string) => {
    if (next === state && detail === stateDetail) return;
    state = next;
    stateDetail = detail?.slice(0, 200);
    log[next === 'polling' || next === 'initialising' ? 'info' : 'warn']({ state, detail: stateDetail }, 'agent state');
    options.onState?.(state, stateDetail);
    if (ref.publisher?.connected) publishState();
  };
  const observed = observedTransport(options.transport, () => setState('initialising'));
  const link = new ReportingLink(observed, log, setState);
  const wait = options.waitForAdapter !== undefined && options.waitForAdapter !== false && link.canReopen;

  // Without a wait the adapter is opened first, as before: a failed start leaves nothing behind.
  let adapter: AdapterInfo | undefined;
  if (!wait) adapter = await link.open();
  else state = 'waiting-for-adapter';

  const kick = { drain: () => {} };
  const outbox = new Outbox({
    dir: options.queueDir ?? defaultQueueDir(options.tenant, options.device),
    maxBytes: options.queueMaxBytes,
    fsync: options.fsync,
    logger: log,
    onQueued: () => kick.drain(),
  });
  const uplink =
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
      ...(options.mqttVersion ? { protocolVersion: options.mqttVersion } : {}),
      logger: log,
    });
  ref.publisher = uplink;
  const drainer = new QueueDrainer(outbox.queue, (payload) => uplink.publishTelemetry(payload), {
    window: options.inflightWindow,
    logger: log,
  });
  const status = (): DeviceStatus => {
    const info = link.info;
    return {
      v: 1,
      state: 'online',
      t: Date.now(),
      agentVersion: AGENT_VERSION,
      ...(info?.vin && /^[A-HJ-NPR-Z0-9]{17}$/.test(info.vin) ? { vin: info.vin } : {}),
      ...(info?.banner ? { adapter: info.banner.slice(0, 64) } : {}),
      ...(info?.protocol ? { protocol: info.protocol } : {}),
      agentState: state,
      ...(stateDetail ? { stateDetail } : {}),
    };
  };
  function publishState(): void {
    uplink
      .publishStatus(status())
      .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'status publish failed'));
  }
  const onConnect = () => {
    publishState();
    drainer.kick();
  };
  kick.drain = () => drainer.kick();
  uplink.onConnect(onConnect);
  if (uplink.connected) onConnect();
  drainer.kick(); // batches left from a previous run

  // Commands are answered from the start; until polling begins there is no poller to change.
  const commandPoller: CommandPoller = {
    setPeriods: (periodsMs) => {
      if (!ref.poller) throw agentError('ADAPTER_UNAVAILABLE', `agent is ${state}`);
      ref.poller.setPeriods(periodsMs);
    },
    plan: () => ref.poller?.plan() ?? [],
  };
  // DTC commands run between poll requests on the bus default setup (poller.exclusive).
  const commandLink: CommandLink = {
    get driver() {
      return link.driver;
    },
    get info() {
      return link.info;
    },
    exclusive: (fn) =>
      ref.poller ? ref.poller.exclusive(fn) : Promise.reject(agentError('ADAPTER_UNAVAILABLE', `agent is ${state}`)),
  };
  let lastSpeed: number | undefined;
  let gps: GpsReader | undefined;
  // QoS 1 may deliver a command twice ([MQTT-4.3.2]); a command id runs once.
  const seenCommands: string[] = [];
  uplink.onCommand((id, payload, delivery) => {
    if (seenCommands.includes(id)) return;
    seenCommands.push(id);
    if (seenCommands.length > 256) seenCommands.shift();
    void handleCommand(id, payload, {
      link: commandLink,
      poller: commandPoller,
      publisher: uplink,
      logger: log,
      stats: () => stats(),
      lastSpeed: () => lastSpeed,
      ...(delivery ? { delivery } : {}),
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
      readsPerSecond: ref.poller?.readsPerSecond() ?? 0,
      reconnects: link.reconnects,
      gpsFixes: gps?.fixes ?? 0,
      profile: link.info?.profile.name ?? 'SAEJ1979',
      batchesSent: outbox.batchesQueued,
      samplesSent: outbox.samplesQueued,
      state,
      ...(stateDetail ? { stateDetail } : {}),
    };
  };

  if (!adapter) {
    // Closing the link ends the wait at once: an attempt in progress (ATZ, a protocol search) fails now.
    const abort = () => void link.close();
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      adapter = await waitForAdapter(link, {
        ...(typeof options.waitForAdapter === 'object' ? { backoff: options.waitForAdapter } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        onRetry: ({ attempt, delayMs, reason }) => {
          log.warn({ attempt, delayMs, reason }, 'adapter not answering; trying again');
          setState('waiting-for-adapter', reason);
        },
      });
    } catch (err) {
      // Stopped while waiting: leave as a graceful stop does (offline status, queue kept on disk).
      outbox.close();
      drainer.stop();
      await uplink.close();
      await link.close();
      throw err;
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
  }
  log.info({ adapter: { ...adapter, supportedPids: [...adapter.supportedPids] } }, 'adapter initialised');
  setState('polling');

  const flushTimer = setInterval(() => outbox.flush(), options.batchIntervalMs ?? 1000);
  const running = startPoller({
    link,
    logger: log,
    pollScale: options.pollScale,
    emit: (key, value, at) => {
      if (key === 'vehicle.speed') lastSpeed = value;
      outbox.add(key, value, at);
      options.onSample?.(key, value, at);
    },
  });
  ref.poller = running;

  const reportDtcs = async () => {
    if (!link.driver) return;
    try {
      const codes = await running.exclusive((driver) => readDtcs(driver, link.info?.isCan ?? true));
      if (codes.length > 0) log.warn({ codes }, 'trouble codes present');
      await uplink.publishMessage('dtc', JSON.stringify(dtcReport(codes)));
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'DTC report failed');
    }
  };
  void reportDtcs();
  const dtcTimer =
    (options.dtcIntervalMs ?? 300_000) > 0
      ? setInterval(() => void reportDtcs(), options.dtcIntervalMs ?? 300_000)
      : undefined;

  if (options.gps) {
    const g = options.gps;
    gps = startGpsReader({
      open: 'open' in g ? g.open : serialGps(g.path, g.baudRate),
      logger: log,
      onFix: (fix) =>
        void uplink
          .publishMessage('location', JSON.stringify(fix))
          .catch((err: unknown) => log.debug({ err: (err as Error).message }, 'location publish failed')),
    });
  }

  const info = adapter;
  return {
    get vin() {
      return link.info?.vin;
    },
    adapter: info,
    outbox,
    poller: running,
    stats,
    async stop() {
      // The link closes alongside the poller: while the adapter is lost the poller sits in reopen()
      // (a backoff sleep or an attempt in progress), which ends only when the link closes.
      const linkClosed = link.close();
      await running.stop();
      await gps?.stop();
      clearInterval(flushTimer);
      if (dtcTimer) clearInterval(dtcTimer);
      outbox.close();
      // What is not acknowledged within the grace period stays on disk for the next start.
      if (uplink.connected) await drainer.waitIdle(5000);
      drainer.stop();
      await uplink.close();
      await linkClosed;
    },
  };
}
