import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startAgent, type RunningAgent } from '../agent/agent.js';
import { CONFIG_KEYS, configFromEnv, loadConfigFile, parseConfig } from '../config.js';
import { onShutdown } from './shared.js';

export async function runCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<'running'> {
  const flagOptions = Object.fromEntries(Object.keys(CONFIG_KEYS).map((k) => [k, { type: 'string' as const }]));
  const { values } = parseArgs({
    args,
    options: { ...flagOptions, config: { type: 'string' }, 'trace-samples': { type: 'boolean' } },
  });
  const { config: file, 'trace-samples': trace, ...flags } = values as Record<string, string | boolean | undefined>;
  const config = parseConfig(
    { ...(typeof file === 'string' ? loadConfigFile(file) : {}), ...configFromEnv(env), ...flags },
    typeof file === 'string' ? file : 'flags',
  );
  const log = pino({ name: 'clutch-agent', level: config.logLevel });
  // SIGINT/SIGTERM while the agent still waits for its adapter ends the wait; after that, stops the agent.
  const startUp = new AbortController();
  let agent: RunningAgent | undefined;
  const timers: { stats?: NodeJS.Timeout } = {};
  const starting = startAgent({
    transport: { path: config.port, baudRate: config.baud },
    mqttUrl: config.mqttUrl,
    mqttVersion: config.mqttVersion,
    caFile: config.caFile,
    certFile: config.certFile,
    keyFile: config.keyFile,
    username: config.username,
    password: config.password,
    tenant: config.tenant,
    device: config.device,
    queueDir: config.queueDir,
    queueMaxBytes: config.queueMaxBytes,
    fsync: config.fsync,
    inflightWindow: config.inflightWindow,
    batchIntervalMs: config.batchIntervalMs,
    pollScale: config.pollScale,
    ...(config.gpsPort ? { gps: { path: config.gpsPort, baudRate: config.gpsBaud } } : {}),
    ...(config.adapterWaitMaxMs > 0 ? { waitForAdapter: { maxMs: config.adapterWaitMaxMs } } : {}),
    signal: startUp.signal,
    logger: log,
    // Downlink `reboot`: SIGTERM ourselves, i.e. the graceful path below; systemd (Restart=always) starts us again.
    onReboot: () => process.kill(process.pid, 'SIGTERM'),
    // One synchronous line per sample (pipes are synchronous on Linux): an audit trail that survives kill -9.
    onSample: trace ? (key, value, at) => writeSync(1, `${JSON.stringify({ sample: [at, key, value] })}\n`) : undefined,
  });
  onShutdown([
    async () => {
      startUp.abort(new Error('stopped while waiting for the adapter'));
      await starting.catch(() => undefined);
    },
    async () => clearInterval(timers.stats),
    async () => agent?.stop(),
  ]);
  try {
    agent = await starting;
  } catch (err) {
    // Aborted by a signal: the shutdown handler above exits cleanly.
    if (startUp.signal.aborted) return 'running';
    throw err;
  }
  log.info({ vin: agent.vin, device: config.device }, 'agent polling');
  timers.stats = setInterval(() => log.info(agent!.stats(), 'stats'), 30_000);
  return 'running';
}
