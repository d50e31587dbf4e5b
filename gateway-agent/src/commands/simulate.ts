import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startAgent } from '../agent/agent.js';
import { loadObdbReplay } from '../simulator/obdb-replay.js';
import { startSimulator } from '../simulator/start.js';
import { createLinkedStreams } from '../simulator/streams.js';
import { onShutdown, pickDrive } from './shared.js';
import { agentError } from '../errors.js';

export async function simulateCommand(args: string[]): Promise<'running'> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      baud: { type: 'string', default: '38400' },
      csv: { type: 'string' },
      seed: { type: 'string' },
      'row-ms': { type: 'string', default: '500' },
      'latency-ms': { type: 'string', default: '0' },
      vehicle: { type: 'string' },
      year: { type: 'string' },
      vin: { type: 'string' },
      dtc: { type: 'string' },
      quirks: { type: 'string' },
      pace: { type: 'boolean' },
    },
  });
  if (!values.port) throw agentError('USAGE', '--port is required');
  const rate = Number(values.quirks ?? 0);
  const sim = await startSimulator({
    path: values.port,
    baudRate: Number(values.baud),
    drive: pickDrive(values.csv, values.seed),
    rowIntervalMs: Number(values['row-ms']),
    ecuLatencyMs: Number(values['latency-ms']),
    // --pace: 10 bit times per byte at --baud even on a PTY (which has no line speed of its own).
    ...(values.pace ? { linkBaud: Number(values.baud) } : {}),
    ...(values.vehicle
      ? { replay: loadObdbReplay(values.vehicle, values.year ? Number(values.year) : undefined) }
      : {}),
    ...(values.vin ? { vin: values.vin } : {}),
    ...(values.dtc ? { dtcs: { stored: values.dtc.split(',').map((c) => c.trim().toUpperCase()) } } : {}),
    ...(rate > 0 ? { quirks: { noDataRate: rate, bufferFullRate: rate / 4, garbleRate: rate / 4 } } : {}),
  });
  console.error(`simulator listening on ${values.port}`);
  onShutdown([() => sim.close()]);
  return 'running';
}

export async function demoCommand(args: string[]): Promise<'running'> {
  const { values } = parseArgs({
    args,
    options: {
      'mqtt-url': { type: 'string' },
      tenant: { type: 'string' },
      device: { type: 'string' },
      'queue-dir': { type: 'string' },
      csv: { type: 'string' },
      seed: { type: 'string' },
      'row-ms': { type: 'string', default: '500' },
    },
  });
  if (!values['mqtt-url'] || !values.tenant || !values.device)
    throw agentError('USAGE', '--mqtt-url, --tenant and --device are required');
  const log = pino({ name: 'clutch-agent' });
  const [host, adapter] = createLinkedStreams();
  const sim = await startSimulator({
    stream: adapter,
    drive: pickDrive(values.csv, values.seed),
    rowIntervalMs: Number(values['row-ms']),
  });
  const agent = await startAgent({
    transport: { stream: host },
    mqttUrl: values['mqtt-url'],
    tenant: values.tenant,
    device: values.device,
    queueDir: values['queue-dir'],
    logger: log,
  });
  const timer = setInterval(() => log.info(agent.stats(), 'stats'), 10_000);
  onShutdown([async () => clearInterval(timer), () => agent.stop(), () => sim.close()]);
  return 'running';
}
