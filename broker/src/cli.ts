#!/usr/bin/env node
// clutch-broker: the MQTT broker on its own, plus device and API-key administration.
import { signalCatalogue } from '@clutch/contracts';
import { migrate, openDatabase, syncSignals, type Database } from '@clutch/db';
import {
  createApiKey,
  ensureTenant,
  issueDeviceCredential,
  provisionDevice,
  revokeDeviceCredential,
} from '@clutch/identity';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { parseArgs } from './cli/args.js';
import { DEFAULT_LIMITS, developmentPolicy, tenantPolicy, type PolicyLimits } from './policy/policy.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_MAX_PACKET_BYTES, startBroker } from './server/broker.js';
import type { TlsListenerOptions } from './server/tls-listener.js';
import { createDevCa } from './tls/dev-ca.js';

const USAGE = `clutch-broker [serve] [--port 1883] [--ws-port 8083] [--host 127.0.0.1]
              [--database-url URL | --data-dir DIR] [--redis-url URL]
              [--admin-password PW] [--allow-anonymous] [--max-packet-bytes N]
              [--publish-rate N] [--publish-burst N]   (per-client PUBLISH packets/s, default 50 and 500)
              [--connect-timeout-ms N]                 (no CONNECT within N ms closes the connection, default 10000)
              [--tls-port 8883 --tls-key FILE --tls-cert FILE [--tls-ca FILE]]
                  MQTT over TLS; with --tls-ca a device may log in with a client certificate whose
                  subject CN is tenant/device instead of a password
clutch-broker dev-ca --out DIR [--device T/D ...]      (development CA, localhost server cert, device certs; uses openssl)
clutch-broker provision-device --tenant T --device D [--vehicle-id UUID | --vehicle-name NAME [--vin VIN]]
clutch-broker rotate-device --tenant T --device D
clutch-broker revoke-device --tenant T --device D
clutch-broker create-api-key --tenant T --name NAME --scopes telemetry:read,status:read

Without --allow-anonymous every client must log in: devices as tenant/device with their credential,
partners as "apikey" with a ck_... token, operators as "admin" (--admin-password or
CLUTCH_BROKER_ADMIN_PASSWORD). --allow-anonymous is for local tools and conformance suites only.
The database defaults to DATABASE_URL, else the PGlite directory ./data/pglite.`;

const SWITCHES = ['allow-anonymous', 'help'];

function tlsOptions(flags: Map<string, string>): TlsListenerOptions | undefined {
  if (!flags.has('tls-port')) {
    for (const name of ['tls-key', 'tls-cert', 'tls-ca'])
      if (flags.has(name)) throw new Error(`--${name} needs --tls-port`);
    return undefined;
  }
  const ca = flags.get('tls-ca');
  return {
    port: port(flags, 'tls-port', 8883),
    key: readFileSync(required(flags, 'tls-key')),
    cert: readFileSync(required(flags, 'tls-cert')),
    ...(ca ? { ca: readFileSync(ca) } : {}),
  };
}

function required(flags: Map<string, string>, name: string): string {
  const value = flags.get(name);
  if (!value) throw new Error(`--${name} is required\n\n${USAGE}`);
  return value;
}

function port(flags: Map<string, string>, name: string, fallback: number): number {
  const raw = flags.get(name);
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name} must be a port number, got ${raw}`);
  return n;
}

function positive(flags: Map<string, string>, name: string, fallback: number): number {
  const raw = flags.get(name);
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${raw}`);
  return n;
}

async function openDb(flags: Map<string, string>): Promise<Database> {
  const url = flags.get('database-url') ?? process.env.DATABASE_URL;
  const db = await openDatabase({ url, dataDir: url ? undefined : (flags.get('data-dir') ?? 'data/pglite') });
  await migrate(db);
  await syncSignals(db, signalCatalogue);
  return db;
}

async function serve(flags: Map<string, string>): Promise<void> {
  const logger = pino({ name: 'clutch-broker', level: process.env.LOG_LEVEL ?? 'info' });
  const anonymous = flags.get('allow-anonymous') === 'true';
  const hasDb = Boolean(flags.get('database-url') ?? process.env.DATABASE_URL ?? flags.get('data-dir')) || !anonymous;
  const db = hasDb ? await openDb(flags) : undefined;
  const limits: PolicyLimits = {
    ...DEFAULT_LIMITS,
    publishRatePerSecond: positive(flags, 'publish-rate', DEFAULT_LIMITS.publishRatePerSecond),
    publishBurst: positive(flags, 'publish-burst', DEFAULT_LIMITS.publishBurst),
  };
  const policy = db
    ? tenantPolicy({
        db,
        limits,
        allowAnonymous: anonymous,
        adminPassword: flags.get('admin-password') ?? process.env.CLUTCH_BROKER_ADMIN_PASSWORD,
      })
    : developmentPolicy(limits);
  if (anonymous) logger.warn('anonymous clients are allowed: local development and conformance testing only');
  const maxPacketBytes = flags.has('max-packet-bytes')
    ? Number(flags.get('max-packet-bytes'))
    : DEFAULT_MAX_PACKET_BYTES;
  const redisUrl = flags.get('redis-url') ?? process.env.REDIS_URL;
  const tls = tlsOptions(flags);
  const broker = await startBroker({
    policy,
    logger,
    maxPacketBytes,
    connectTimeoutMs: positive(flags, 'connect-timeout-ms', DEFAULT_CONNECT_TIMEOUT_MS),
    ...(tls ? { tls } : {}),
    host: flags.get('host') ?? '127.0.0.1',
    mqttPort: port(flags, 'port', 1883),
    wsPort: port(flags, 'ws-port', 8083),
    ...(redisUrl ? { redisUrl } : {}),
  });
  const urls = [broker.mqttUrl, broker.wsUrl, broker.mqttsUrl].filter((u) => u !== undefined);
  console.log(`clutch-broker listening: ${urls.join(' and ')}${redisUrl ? ` (cluster on ${redisUrl})` : ''}`);
  const stop = (): void => {
    void broker
      .close()
      .then(() => db?.close())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function devCa(flags: Map<string, string>, lists: Map<string, string[]>): void {
  const files = createDevCa({
    outDir: required(flags, 'out'),
    devices: lists.get('device') ?? [],
    openssl: process.env.OPENSSL ?? 'openssl',
  });
  console.log(JSON.stringify(files, null, 2));
}

async function admin(command: string, flags: Map<string, string>): Promise<void> {
  const db = await openDb(flags);
  try {
    const tenantId = required(flags, 'tenant');
    switch (command) {
      case 'provision-device': {
        await ensureTenant(db, tenantId, tenantId);
        const result = await provisionDevice(db, {
          tenantId,
          deviceId: required(flags, 'device'),
          vehicleId: flags.get('vehicle-id'),
          vehicle: { name: flags.get('vehicle-name') ?? required(flags, 'device'), vin: flags.get('vin') },
        });
        console.log(
          JSON.stringify(
            { tenantId, deviceId: result.deviceId, vehicleId: result.vehicleId, mqtt: result.login },
            null,
            2,
          ),
        );
        break;
      }
      case 'rotate-device':
        console.log(JSON.stringify(await issueDeviceCredential(db, tenantId, required(flags, 'device')), null, 2));
        break;
      case 'revoke-device': {
        const revoked = await revokeDeviceCredential(db, tenantId, required(flags, 'device'));
        console.log(
          revoked
            ? 'revoked (live sessions on a running broker end when the API revokes; restart or use the API)'
            : 'no live credential',
        );
        break;
      }
      case 'create-api-key': {
        const key = await createApiKey(db, {
          tenantId,
          name: required(flags, 'name'),
          scopes: required(flags, 'scopes').split(','),
        });
        console.log(JSON.stringify(key, null, 2));
        break;
      }
      default:
        throw new Error(`unknown command ${command}\n\n${USAGE}`);
    }
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  const { positional, flags, lists } = parseArgs(process.argv.slice(2), SWITCHES);
  if (flags.has('help')) {
    console.log(USAGE);
    return;
  }
  const command = positional[0] ?? 'serve';
  if (command === 'serve') return serve(flags);
  if (command === 'dev-ca') return devCa(flags, lists);
  return admin(command, flags);
}

main().catch((err: Error & { code?: string }) => {
  console.error(err.code ? `${err.code}: ${err.message}` : err.message);
  process.exit(err.code === 'EADDRINUSE' ? 1 : 2);
});
