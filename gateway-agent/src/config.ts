// The agent's configuration: one typed registry, every key documented (docs/gateway-agent.md is
// written from this table). A JSON file supplies it; environment variables CLUTCH_AGENT_<KEY> (e.g.
// CLUTCH_AGENT_PASSWORD_FILE for passwordFile) override it, and command-line flags of the same name
// override both.
import { readFileSync } from 'node:fs';
import { agentError } from './errors.js';

interface KeySpec {
  readonly type: 'string' | 'number' | 'boolean';
  readonly doc: string;
  readonly required?: boolean;
  readonly default?: string | number | boolean;
}

export const CONFIG_KEYS = {
  port: {
    type: 'string',
    required: true,
    doc: 'Serial device of the ELM327 (USB: /dev/ttyUSB0; Bluetooth: /dev/rfcomm0).',
  },
  baud: {
    type: 'number',
    default: 38400,
    doc: 'Serial speed; ELM327 v1.x defaults to 38400, many clones to 9600 or 115200.',
  },
  mqttUrl: { type: 'string', required: true, doc: 'Broker URL: mqtt://host:1883 or mqtts://host:8883 (TLS).' },
  mqttVersion: {
    type: 'number',
    default: 5,
    doc: 'MQTT protocol version: 5 (commands answered on their response topic, correlation data echoed; falls back to 3.1.1 when the broker refuses 5) or 4 (3.1.1).',
  },
  caFile: { type: 'string', doc: 'PEM file of the CA that signed the broker certificate (private CA with mqtts://).' },
  certFile: {
    type: 'string',
    doc: 'PEM client certificate (CN tenant/device) for certificate login over mqtts://; no password needed.',
  },
  keyFile: { type: 'string', doc: 'PEM private key of certFile.' },
  username: { type: 'string', doc: 'MQTT username (device credential).' },
  password: { type: 'string', doc: 'MQTT password. Prefer passwordFile so the secret is not in the config.' },
  passwordFile: { type: 'string', doc: 'File whose first line is the MQTT password.' },
  tenant: { type: 'string', required: true, doc: 'Tenant id (topic segment).' },
  device: { type: 'string', required: true, doc: 'Device id (topic segment).' },
  queueDir: {
    type: 'string',
    default: '/var/lib/clutch-agent',
    doc: 'Store-and-forward directory (disk queue, seq, journal).',
  },
  queueMaxBytes: {
    type: 'number',
    default: 256 * 1024 * 1024,
    doc: 'Disk queue bound; beyond it the oldest batches are dropped (logged).',
  },
  fsync: { type: 'boolean', default: true, doc: 'fsync every queued batch (turn off only on tmpfs).' },
  inflightWindow: { type: 'number', default: 16, doc: 'Batches sent but not yet acknowledged, at most.' },
  batchIntervalMs: { type: 'number', default: 1000, doc: 'How often pending samples are cut into a batch.' },
  pollScale: { type: 'number', default: 1, doc: 'Multiplies every polling period (0.5 = twice as often).' },
  gpsPort: { type: 'string', doc: 'Serial device of an NMEA 0183 GPS receiver (optional).' },
  gpsBaud: {
    type: 'number',
    default: 9600,
    doc: 'GPS serial speed (NMEA 0183 default 4800; most USB receivers 9600).',
  },
  adapterWaitMaxMs: {
    type: 'number',
    default: 30_000,
    doc: 'At start-up, retry opening and initialising the adapter with exponential backoff and jitter, at most this far apart; 0 = exit if the first attempt fails.',
  },
  logLevel: { type: 'string', default: 'info', doc: 'pino level: fatal, error, warn, info, debug, trace.' },
} as const satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof CONFIG_KEYS;

export interface AgentConfig {
  port: string;
  baud: number;
  mqttUrl: string;
  mqttVersion: 4 | 5;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  username?: string;
  password?: string;
  passwordFile?: string;
  tenant: string;
  device: string;
  queueDir: string;
  queueMaxBytes: number;
  fsync: boolean;
  inflightWindow: number;
  batchIntervalMs: number;
  pollScale: number;
  gpsPort?: string;
  gpsBaud: number;
  adapterWaitMaxMs: number;
  logLevel: string;
}

/** Validates raw values (from JSON and flags): unknown keys, wrong types and missing keys are errors. */
export function parseConfig(raw: Record<string, unknown>, source = 'config'): AgentConfig {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const spec = (CONFIG_KEYS as Record<string, KeySpec>)[key];
    if (!spec) throw agentError('CONFIG_INVALID', `${source}: unknown key ${JSON.stringify(key)}`);
    let v = value;
    // Flags arrive as strings.
    if (spec.type === 'number' && typeof v === 'string' && v.trim() !== '') v = Number(v);
    if (spec.type === 'boolean' && typeof v === 'string') v = v === 'true' ? true : v === 'false' ? false : v;
    if (typeof v !== spec.type || (spec.type === 'number' && !Number.isFinite(v))) {
      throw agentError('CONFIG_INVALID', `${source}: ${key} must be a ${spec.type}, got ${JSON.stringify(value)}`);
    }
    out[key] = v;
  }
  for (const [key, spec] of Object.entries(CONFIG_KEYS) as [string, KeySpec][]) {
    if (out[key] === undefined && spec.default !== undefined) out[key] = spec.default;
    if (out[key] === undefined && spec.required) throw agentError('CONFIG_INVALID', `${source}: ${key} is required`);
  }
  if (!/^mqtts?:\/\//.test(out['mqttUrl'] as string))
    throw agentError('CONFIG_INVALID', `${source}: mqttUrl must start with mqtt:// or mqtts://`);
  if (out['mqttVersion'] !== 4 && out['mqttVersion'] !== 5)
    throw agentError('CONFIG_INVALID', `${source}: mqttVersion must be 4 or 5, got ${String(out['mqttVersion'])}`);
  if ((out['adapterWaitMaxMs'] as number) < 0)
    throw agentError('CONFIG_INVALID', `${source}: adapterWaitMaxMs must be 0 or more`);
  const config = out as unknown as AgentConfig;
  if (config.passwordFile && config.password === undefined) config.password = readPasswordFile(config.passwordFile);
  return config;
}

/** The first line of a password file (a secret kept out of argv, the config and the environment). */
export function readPasswordFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw agentError('CONFIG_INVALID', `passwordFile ${file}: ${(err as Error).message}`);
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password === '') throw agentError('CONFIG_INVALID', `passwordFile ${file}: the first line is empty`);
  return password;
}

/** The environment variable of a key: passwordFile -> CLUTCH_AGENT_PASSWORD_FILE. */
export function configEnvName(key: string): string {
  return `CLUTCH_AGENT_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** The keys set in the environment (CLUTCH_AGENT_<KEY>), as strings like flags; `only` limits the keys read. */
export function configFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  only: readonly string[] = Object.keys(CONFIG_KEYS),
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of only) {
    const value = env[configEnvName(key)];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

export function loadConfigFile(file: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw agentError('CONFIG_INVALID', `${file}: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw agentError('CONFIG_INVALID', `${file}: must be a JSON object`);
  return data as Record<string, unknown>;
}
