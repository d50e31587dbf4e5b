import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TlsListenerOptions } from '@clutch/broker';

/** Every setting of `npm start`, from the environment and the command line (flags win). */
export interface PlatformConfig {
  /** API + dashboard HTTP port (PORT, --port). */
  httpPort: number;
  /** MQTT over TCP (MQTT_PORT, --mqtt-port). */
  mqttPort: number;
  /** MQTT over WebSocket (MQTT_WS_PORT, --mqtt-ws-port). */
  mqttWsPort: number;
  /** Bind address for every listener (HOST, --host). */
  host: string;
  /** PostgreSQL URL; unset = embedded PGlite (DATABASE_URL, --database-url). */
  databaseUrl: string | undefined;
  /** PGlite data directory (CLUTCH_DATA_DIR, --data-dir). */
  dataDir: string;
  /** PostgreSQL connections of ingest, jobs and everything but the API (--db-pool, DATABASE_POOL_SIZE, default 10). */
  databasePoolSize: number;
  /** PostgreSQL connections of the API's own pool, apart from ingest's (--api-db-pool, CLUTCH_API_DB_POOL, default 20). */
  apiDatabasePoolSize: number;
  /** How long ingest's cached latest values are trusted before a read refreshes them, ms; 0 turns the cache off (CLUTCH_LATEST_CACHE_MS). */
  latestCacheMs: number;
  /** Simulated cars (--vehicles N, CLUTCH_VEHICLES). */
  vehicles: number;
  /** A real ELM327 to read as one more vehicle (--elm327 /dev/ttyUSB0, CLUTCH_ELM327). */
  elm327Port: string | undefined;
  /** Its baud rate (--baud, CLUTCH_ELM327_BAUD). */
  elm327Baud: number;
  /** Where the carOBD drives live (CLUTCH_DATASETS_DIR); synthetic drives when absent. */
  datasetsDir: string | undefined;
  /** Simulator replay speed: ms per carOBD row (CLUTCH_ROW_MS). */
  rowIntervalMs: number;
  logLevel: string;
  /** Let MQTT clients in without credentials (--allow-anonymous, CLUTCH_ALLOW_ANONYMOUS=1): local tools only. */
  allowAnonymous: boolean;
  /** Password of the MQTT `admin` user (CLUTCH_BROKER_ADMIN_PASSWORD); unset = no admin login. */
  adminPassword: string | undefined;
  /** Bearer token of the API's admin (CLUTCH_ADMIN_TOKEN). */
  adminToken: string | undefined;
  /** Which part to run: all (one process, embedded defaults) or one scaled-out role (--role, CLUTCH_ROLE). */
  role: 'all' | 'broker' | 'ingest' | 'api';
  /** Redis for scale-out: broker sessions/fan-out, the ingest stream, live events, Socket.io (--redis-url, REDIS_URL). */
  redisUrl: string | undefined;
  /** A broker of the cluster, for API processes that send downlink commands (--broker-url, CLUTCH_BROKER_URL). */
  brokerUrl: string | undefined;
  /** MQTT over TLS (client certificates optional): port and PEM files (MQTT_TLS_PORT, CLUTCH_TLS_KEY/CERT/CA). */
  tls: { port: number; keyFile: string; certFile: string; caFile: string | undefined } | undefined;
  /** ML model registry directory (CLUTCH_MODELS_DIR, default ./data/models). */
  modelsDir: string;
  /** How often scoring looks for a newly deployed model, in ms (CLUTCH_MODEL_WATCH_MS, default 60 s; tests shorten it). */
  modelWatchMs: number;
  /** Refuse API calls without a valid token (--require-auth, CLUTCH_REQUIRE_AUTH=1); off = open dev mode. */
  requireAuth: boolean;
  /** Host names the HTTP API and Socket.io answer to besides localhost/127.0.0.1/[::1] and --host; `*` = any (--allowed-hosts a,b; CLUTCH_ALLOWED_HOSTS). */
  allowedHosts: string[];
  /** REST rate limits per minute (--rate-limit N per principal, --rate-limit-ip N per address; --no-rate-limit turns them off). */
  rateLimit: { enabled: boolean; perPrincipal: number; perIp: number };
  /** Open HTTP connections (Socket.io included) before new ones are dropped (--max-connections, CLUTCH_MAX_CONNECTIONS). */
  maxConnections: number;
  /** Behind a reverse proxy: take client addresses and hosts from X-Forwarded-* (--trust-proxy, CLUTCH_TRUST_PROXY=1). */
  trustProxy: boolean;
}

export class ConfigError extends Error {}

function intValue(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConfigError(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(raw)}`);
  return n;
}

const FLAGS: Record<string, string> = {
  '--port': 'PORT',
  '--mqtt-port': 'MQTT_PORT',
  '--mqtt-ws-port': 'MQTT_WS_PORT',
  '--host': 'HOST',
  '--database-url': 'DATABASE_URL',
  '--data-dir': 'CLUTCH_DATA_DIR',
  '--db-pool': 'DATABASE_POOL_SIZE',
  '--api-db-pool': 'CLUTCH_API_DB_POOL',
  '--vehicles': 'CLUTCH_VEHICLES',
  '--elm327': 'CLUTCH_ELM327',
  '--baud': 'CLUTCH_ELM327_BAUD',
  '--datasets-dir': 'CLUTCH_DATASETS_DIR',
  '--row-ms': 'CLUTCH_ROW_MS',
  '--log-level': 'LOG_LEVEL',
  '--role': 'CLUTCH_ROLE',
  '--redis-url': 'REDIS_URL',
  '--broker-url': 'CLUTCH_BROKER_URL',
  '--models-dir': 'CLUTCH_MODELS_DIR',
  '--mqtt-tls-port': 'MQTT_TLS_PORT',
  '--tls-key': 'CLUTCH_TLS_KEY',
  '--tls-cert': 'CLUTCH_TLS_CERT',
  '--tls-ca': 'CLUTCH_TLS_CA',
  '--allowed-hosts': 'CLUTCH_ALLOWED_HOSTS',
  '--rate-limit': 'CLUTCH_RATE_LIMIT',
  '--rate-limit-ip': 'CLUTCH_RATE_LIMIT_IP',
  '--max-connections': 'CLUTCH_MAX_CONNECTIONS',
};
const ROLES = ['all', 'broker', 'ingest', 'api'] as const;
const SWITCHES: Record<string, string> = {
  '--allow-anonymous': 'CLUTCH_ALLOW_ANONYMOUS',
  '--require-auth': 'CLUTCH_REQUIRE_AUTH',
  '--no-rate-limit': 'CLUTCH_NO_RATE_LIMIT',
  '--trust-proxy': 'CLUTCH_TRUST_PROXY',
};

export const USAGE = `Usage: npm start -- [options]
  --vehicles N          simulated cars (default 3; 0 for none)
  --port N              HTTP port of the API and dashboard (default 3000)
  --mqtt-port N         MQTT/TCP port (default 1883)   --mqtt-ws-port N  MQTT/WebSocket (default 8083)
  --host ADDR           bind address (default 127.0.0.1)
  --database-url URL    use this PostgreSQL instead of the embedded PGlite in ./data
  --data-dir DIR        PGlite data directory (default ./data/pglite)
  --db-pool N           PostgreSQL connections of ingest and jobs (default 10)   --api-db-pool N  of the API (default 20)
  --elm327 PATH         also read a real ELM327 adapter, e.g. /dev/ttyUSB0 or /dev/rfcomm0
  --baud N              its baud rate (default 38400)
  --datasets-dir DIR    carOBD drives for the simulator (default ../shared/datasets)
  --row-ms N            simulator replay: milliseconds per recorded row (default 500)
  --allow-anonymous     let MQTT clients connect without credentials (local tools only)
  --require-auth        API calls need a bearer token (CLUTCH_ADMIN_TOKEN or a partner API key)
  --allowed-hosts a,b   host names the API answers to besides localhost and --host (DNS rebinding guard; * = any)
  --rate-limit N        REST requests per minute per credential (default 600)   --rate-limit-ip N  per address (default 1200)
  --no-rate-limit       no REST rate limits (benchmarks)   --trust-proxy  client address from X-Forwarded-For
  --max-connections N   open HTTP/Socket.io connections (default 10000)
  --models-dir DIR      ML model registry (default ./data/models)
  --mqtt-tls-port N --tls-key F --tls-cert F [--tls-ca F]
                        MQTT over TLS; with --tls-ca, devices may log in with a client certificate
Scaled out (each part its own process, sharing PostgreSQL and Redis; see docs/scale-out.md):
  --role broker|ingest|api   --redis-url URL   --database-url URL   --broker-url URL (api: for commands)
Every option has an environment variable too; see docs/configuration.md.`;

function tlsValue(merged: Record<string, string | undefined>, cwd: string): PlatformConfig['tls'] {
  if (!merged.MQTT_TLS_PORT) return undefined;
  const port = intValue('--mqtt-tls-port', merged.MQTT_TLS_PORT, 8883, 0, 65535);
  if (!merged.CLUTCH_TLS_KEY || !merged.CLUTCH_TLS_CERT)
    throw new ConfigError(
      '--mqtt-tls-port needs --tls-key and --tls-cert (clutch-broker dev-ca makes development ones)',
    );
  return {
    port,
    keyFile: resolve(cwd, merged.CLUTCH_TLS_KEY),
    certFile: resolve(cwd, merged.CLUTCH_TLS_CERT),
    caFile: merged.CLUTCH_TLS_CA ? resolve(cwd, merged.CLUTCH_TLS_CA) : undefined,
  };
}

function roleValue(raw: string | undefined): PlatformConfig['role'] {
  if (raw === undefined || raw === '') return 'all';
  if (!(ROLES as readonly string[]).includes(raw))
    throw new ConfigError(`--role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as PlatformConfig['role'];
}

export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): PlatformConfig {
  const merged: Record<string, string | undefined> = { ...env };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    if (SWITCHES[arg]) {
      merged[SWITCHES[arg]] = '1';
      continue;
    }
    const name = FLAGS[flag];
    if (!name) throw new ConfigError(`unknown option ${arg}\n${USAGE}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`${flag} needs a value`);
    merged[name] = value;
  }
  return {
    httpPort: intValue('PORT', merged.PORT, 3000, 0, 65535),
    mqttPort: intValue('MQTT_PORT', merged.MQTT_PORT, 1883, 0, 65535),
    mqttWsPort: intValue('MQTT_WS_PORT', merged.MQTT_WS_PORT, 8083, 0, 65535),
    host: merged.HOST || '127.0.0.1',
    databaseUrl: merged.DATABASE_URL || undefined,
    dataDir: resolve(cwd, merged.CLUTCH_DATA_DIR || 'data/pglite'),
    databasePoolSize: intValue('--db-pool', merged.DATABASE_POOL_SIZE, 10, 1, 1000),
    apiDatabasePoolSize: intValue('--api-db-pool', merged.CLUTCH_API_DB_POOL, 20, 1, 1000),
    latestCacheMs: intValue('CLUTCH_LATEST_CACHE_MS', merged.CLUTCH_LATEST_CACHE_MS, 600_000, 0, 24 * 3600_000),
    vehicles: intValue('--vehicles', merged.CLUTCH_VEHICLES, 3, 0, 10_000),
    elm327Port: merged.CLUTCH_ELM327 || undefined,
    elm327Baud: intValue('--baud', merged.CLUTCH_ELM327_BAUD, 38400, 1200, 4_000_000),
    datasetsDir: merged.CLUTCH_DATASETS_DIR || undefined,
    rowIntervalMs: intValue('--row-ms', merged.CLUTCH_ROW_MS, 500, 10, 60_000),
    logLevel: merged.LOG_LEVEL || 'warn',
    allowAnonymous: merged.CLUTCH_ALLOW_ANONYMOUS === '1' || merged.CLUTCH_ALLOW_ANONYMOUS === 'true',
    adminPassword: merged.CLUTCH_BROKER_ADMIN_PASSWORD || undefined,
    adminToken: merged.CLUTCH_ADMIN_TOKEN || undefined,
    modelsDir: resolve(cwd, merged.CLUTCH_MODELS_DIR || 'data/models'),
    modelWatchMs: intValue('CLUTCH_MODEL_WATCH_MS', merged.CLUTCH_MODEL_WATCH_MS, 60_000, 50, 24 * 3600_000),
    role: roleValue(merged.CLUTCH_ROLE),
    tls: tlsValue(merged, cwd),
    redisUrl: merged.REDIS_URL || undefined,
    brokerUrl: merged.CLUTCH_BROKER_URL || undefined,
    requireAuth: merged.CLUTCH_REQUIRE_AUTH === '1' || merged.CLUTCH_REQUIRE_AUTH === 'true',
    allowedHosts: (merged.CLUTCH_ALLOWED_HOSTS ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== ''),
    rateLimit: {
      enabled: !(merged.CLUTCH_NO_RATE_LIMIT === '1' || merged.CLUTCH_NO_RATE_LIMIT === 'true'),
      perPrincipal: intValue('--rate-limit', merged.CLUTCH_RATE_LIMIT, 600, 1, 1_000_000),
      perIp: intValue('--rate-limit-ip', merged.CLUTCH_RATE_LIMIT_IP, 1200, 1, 1_000_000),
    },
    maxConnections: intValue('--max-connections', merged.CLUTCH_MAX_CONNECTIONS, 10_000, 1, 1_000_000),
    trustProxy: merged.CLUTCH_TRUST_PROXY === '1' || merged.CLUTCH_TRUST_PROXY === 'true',
  };
}

/** The broker's TLS listener options from the configured PEM files. */
export function brokerTls(tls: PlatformConfig['tls']): TlsListenerOptions | undefined {
  if (!tls) return undefined;
  return {
    port: tls.port,
    key: readFileSync(tls.keyFile),
    cert: readFileSync(tls.certFile),
    ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
  };
}
