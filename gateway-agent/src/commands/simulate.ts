import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startAgent } from '../agent/agent.js';
import { loadObdbReplay } from '../simulator/obdb-replay.js';
import { startSimulator } from '../simulator/start.js';
import { createLinkedStreams } from '../simulator/streams.js';
import { onShutdown, pickDrive } from './shared.js';
import { agentError } from '../errors.js';
import { configFromEnv, readPasswordFile } from '../config.js';

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
      personality: { type: 'string', default: 'default' },
    },
  });
  if (!values.port) throw agentError('USAGE', '--port is required');
  if (values.personality !== 'default' && values.personality !== 'strict')
    throw agentError('USAGE', '--personality must be default or strict');
  const rate = Number(values.quirks ?? 0);
  const sim = await startSimulator({
    path: values.port,
    baudRate: Number(values.baud),
    drive: pickDrive(values.csv, values.seed),
    rowIntervalMs: Number(values['row-ms']),
    ecuLatencyMs: Number(values['latency-ms']),
    personality: values.personality,
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

/** The demo's keys that may also come from the environment, as for `run` (CLUTCH_AGENT_<KEY>). */
const DEMO_ENV_KEYS = [
  'mqttUrl',
  'mqttVersion',
  'tenant',
  'device',
  'username',
  'password',
  'passwordFile',
  'caFile',
  'queueDir',
] as const;

export async function demoCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<'running'> {
  const { values } = parseArgs({
    args,
    options: {
      'mqtt-url': { type: 'string' },
      'mqtt-version': { type: 'string' },
      tenant: { type: 'string' },
      device: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      'password-file': { type: 'string' },
      'ca-file': { type: 'string' },
      'queue-dir': { type: 'string' },
      csv: { type: 'string' },
      seed: { type: 'string' },
      'row-ms': { type: 'string', default: '500' },
    },
  });
  const fromEnv = configFromEnv(env, DEMO_ENV_KEYS);
  const pick = (flag: string | undefined, key: (typeof DEMO_ENV_KEYS)[number]) => flag ?? fromEnv[key];
  const mqttUrl = pick(values['mqtt-url'], 'mqttUrl');
  const tenant = pick(values.tenant, 'tenant');
  const device = pick(values.device, 'device');
  if (!mqttUrl || !tenant || !device)
    throw agentError('USAGE', '--mqtt-url, --tenant and --device are required (or CLUTCH_AGENT_MQTT_URL, ...)');
  const version = pick(values['mqtt-version'], 'mqttVersion') ?? '5';
  if (version !== '4' && version !== '5') throw agentError('USAGE', `--mqtt-version must be 4 or 5, got ${version}`);
  // Flags win over the environment; at each level a password over a password file.
  const username = pick(values.username, 'username');
  const passwordFile = values['password-file'] ?? (values.password ? undefined : fromEnv['passwordFile']);
  const password =
    values.password ??
    (values['password-file'] ? undefined : fromEnv['password']) ??
    (passwordFile ? readPasswordFile(passwordFile) : undefined);
  if (password && !username) throw agentError('USAGE', 'a password needs --username (or CLUTCH_AGENT_USERNAME)');
  const caFile = pick(values['ca-file'], 'caFile');
  const log = pino({ name: 'clutch-agent' });
  const [host, adapter] = createLinkedStreams();
  const sim = await startSimulator({
    stream: adapter,
    drive: pickDrive(values.csv, values.seed),
    rowIntervalMs: Number(values['row-ms']),
  });
  const agent = await startAgent({
    transport: { stream: host },
    mqttUrl,
    mqttVersion: version === '5' ? 5 : 4,
    tenant,
    device,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(caFile ? { caFile } : {}),
    queueDir: pick(values['queue-dir'], 'queueDir'),
    logger: log,
  });
  const timer = setInterval(() => log.info(agent.stats(), 'stats'), 10_000);
  onShutdown([async () => clearInterval(timer), () => agent.stop(), () => sim.close()]);
  return 'running';
}
