import type { Duplex } from 'node:stream';
import { signalByObdbId, type TelemetryBatch } from '@clutch/contracts';
import { sae1979Signalset } from '@clutch/firmware-profiles';
import { pino, type Logger } from 'pino';
import { Elm327Driver } from '../elm327/driver.js';
import { decodeMode01Multi } from '../obd/decoder.js';
import { parseFrames } from '../obd/frames.js';
import { openSerialPort } from '../simulator/start.js';
import { MqttPublisher } from '../uplink/mqtt-publisher.js';
import type { TelemetryPublisher } from '../uplink/publisher.js';
import { TelemetryBatcher } from './batcher.js';
import { buildPollPlan, markRead, nextRequest } from './poll-plan.js';
import { initialiseAdapter, parseVoltage, type AdapterInfo } from './session.js';

export const AGENT_VERSION = '0.1.0';

export type AgentTransport = { stream: Duplex } | { path: string; baudRate: number };

export interface AgentOptions {
  readonly transport: AgentTransport;
  readonly mqttUrl: string;
  readonly tenant: string;
  readonly device: string;
  readonly username?: string;
  readonly password?: string;
  readonly batchIntervalMs?: number;
  /** First `seq` to use (e.g. persisted from the previous run); default 0. */
  readonly startSeq?: number;
  readonly logger?: Logger;
  /** Replaces the MQTT uplink (e.g. another transport); the agent still owns closing it. */
  readonly publisher?: TelemetryPublisher;
}

export interface AgentStats {
  batchesSent: number;
  samplesSent: number;
  /** Mode 01 PID values (and ATRV readings) decoded per second since polling began. */
  readsPerSecond: number;
}

export interface RunningAgent {
  stop(): Promise<void>;
  stats(): AgentStats;
  readonly vin?: string;
  readonly adapter: AdapterInfo;
}

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const log = options.logger ?? pino({ level: 'warn' });
  const stream = 'stream' in options.transport
    ? options.transport.stream
    : await openSerialPort(options.transport.path, options.transport.baudRate);
  const driver = new Elm327Driver(stream);
  const set = sae1979Signalset();

  let adapter: AdapterInfo;
  let publisher: TelemetryPublisher;
  try {
    adapter = await initialiseAdapter(driver);
    log.info({ adapter: { ...adapter, supportedPids: [...adapter.supportedPids] } }, 'adapter initialised');
    publisher = options.publisher ?? await MqttPublisher.connect({
      url: options.mqttUrl, tenant: options.tenant, device: options.device,
      username: options.username, password: options.password, logger: log,
    });
  } catch (err) {
    driver.close();
    if (!('stream' in options.transport)) stream.destroy();
    throw err;
  }
  await publisher.publishStatus({
    v: 1, state: 'online', t: Date.now(), agentVersion: AGENT_VERSION,
    ...(adapter.vin && /^[A-HJ-NPR-Z0-9]{17}$/.test(adapter.vin) ? { vin: adapter.vin } : {}),
    ...(adapter.banner ? { adapter: adapter.banner.slice(0, 64) } : {}),
    ...(adapter.protocol ? { protocol: adapter.protocol } : {}),
  });

  const inFlight = new Set<Promise<void>>();
  const batcher = new TelemetryBatcher((batch: TelemetryBatch) => {
    const p = publisher.publishBatch(batch).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, options.startSeq ?? 0);
  const flushTimer = setInterval(() => batcher.flush(), options.batchIntervalMs ?? 1000);

  const plan = buildPollPlan(set, adapter.supportedPids, Date.now());
  const pollStart = Date.now();
  let reads = 0;
  let running = true;
  let wake: (() => void) | undefined;

  const emit = (obdbId: string, value: unknown, at: number) => {
    const key = signalByObdbId(obdbId)?.key;
    if (key !== undefined && typeof value === 'number') batcher.add(key, value, at);
  };

  const poll = async () => {
    while (running) {
      const now = Date.now();
      const request = nextRequest(plan, set, now, adapter.isCan);
      if (!request) {
        const next = Math.min(...plan.map((p) => p.nextDueMs));
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1, Math.min(1000, next - now)));
          wake = () => { clearTimeout(timer); resolve(); };
        });
        continue;
      }
      try {
        const reply = await driver.send(request.command, 2000);
        const at = Date.now();
        if (request.command === 'ATRV') {
          const volts = reply.ok ? parseVoltage(reply.lines) : undefined;
          if (volts !== undefined) {
            batcher.add('battery.voltage', volts, at);
            reads++;
          }
        } else if (reply.ok) {
          const pids = request.items.map((i) => i.pid);
          for (const message of parseFrames(reply.lines)) {
            // Every answering ECU is decoded; on most cars only the engine ECU (7E8) answers these PIDs.
            for (const { values } of decodeMode01Multi(set, message, pids)) {
              for (const [id, value] of Object.entries(values)) emit(id, value, at);
              reads++;
            }
          }
        } else {
          log.debug({ command: request.command, error: reply.error }, 'adapter error');
        }
      } catch (err) {
        if (!running) break;
        log.warn({ err, command: request.command }, 'adapter command failed');
        if ((err as { code?: string }).code === 'ELM_CLOSED') break;
      }
      for (const item of request.items) markRead(item, Date.now());
    }
  };
  const polling = poll();

  return {
    vin: adapter.vin,
    adapter,
    stats: () => ({
      batchesSent: batcher.batchesSent,
      samplesSent: batcher.samplesSent,
      readsPerSecond: reads / Math.max(0.001, (Date.now() - pollStart) / 1000),
    }),
    async stop() {
      running = false;
      wake?.();
      await polling;
      clearInterval(flushTimer);
      batcher.flush();
      // close() waits for the PUBACK of every batch handed over, bounded by its timeout.
      await publisher.close();
      driver.close();
      if (!('stream' in options.transport)) {
        const port = stream as import('serialport').SerialPort;
        if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
      }
    },
  };
}
