import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type ApiServer } from '@clutch/api';
import { createInProcessBus } from '@clutch/contracts';
import { createApiKey, ensureTenant, provisionDevice } from '@clutch/identity';
import { appendEvent } from '@clutch/jobs';
import { createTestDatabase, startRedisServer, type RedisServer } from '@clutch/test-support';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig, type PlatformConfig } from '../config/config.js';
import { startPlatform, type RunningPlatform } from '../platform.js';
import { startRole, type RunningRole } from '../scale-out/roles.js';

const ADMIN = 'latest-values-admin-token';

interface Reading {
  signal: string;
  value: number;
  time: string;
}
interface HealthSignal {
  signal: string;
  value: number | null;
  status: string;
}

/** One device of tenant acme, an API key of acme, and helpers to publish and read as they would. */
async function provision(platform: { db: RunningPlatform['db']; mqttUrl: string; apiUrl: string }) {
  await ensureTenant(platform.db, 'acme', 'Acme');
  const { login, vehicleId } = await provisionDevice(platform.db, {
    tenantId: 'acme',
    deviceId: 'van-1',
    vehicle: { name: 'Van 1' },
  });
  const key = await createApiKey(platform.db, { tenantId: 'acme', name: 'garage', scopes: ['telemetry:read'] });
  const car = await mqtt.connectAsync(platform.mqttUrl, { clientId: login.username, ...login, reconnectPeriod: 0 });
  let seq = 0;
  const get = async <T>(path: string, token = key.token): Promise<T> => {
    const res = await fetch(`${platform.apiUrl}/api/vehicles/${vehicleId}/${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };
  return {
    vehicleId,
    car,
    token: key.token,
    /** One telemetry batch; resolves on the PUBACK (embedded: after the batch committed). */
    publish: (t0: number, samples: [number, string, number][]) =>
      car.publishAsync('clutch/v1/acme/van-1/telemetry', JSON.stringify({ v: 1, seq: seq++, t0, samples }), { qos: 1 }),
    latest: async (token?: string): Promise<Record<string, Reading>> =>
      Object.fromEntries(
        (await get<{ readings: Reading[] }>('latest', token)).readings.map((r) => [r.signal, r] as const),
      ),
    health: async (token?: string): Promise<{ status: string; signals: Record<string, HealthSignal> }> => {
      const body = await get<{ status: string; signals: HealthSignal[] }>('health', token);
      return { status: body.status, signals: Object.fromEntries(body.signals.map((s) => [s.signal, s] as const)) };
    },
  };
}

const databases: [string, () => Promise<{ env: Record<string, string>; cleanup: () => void }>][] = [
  [
    'PGlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'clutch-latest-'));
      return { env: { CLUTCH_DATA_DIR: dir }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
    },
  ],
  [
    'PostgreSQL',
    async () => ({
      env: { DATABASE_URL: await createTestDatabase(inject('pgAdminUrl'), 'latest_values') },
      cleanup: () => {},
    }),
  ],
];

describe.each(databases)('latest values kept by ingest, served by the API, on %s', (_name, prepare) => {
  let platform: RunningPlatform;
  let cleanup: () => void;
  let fleet: Awaited<ReturnType<typeof provision>>;
  const t0 = Date.now() - 60_000;

  beforeAll(async () => {
    const prepared = await prepare();
    cleanup = prepared.cleanup;
    const config = loadConfig(
      ['--vehicles', '0', '--port', '0', '--mqtt-port', '0', '--mqtt-ws-port', '0', '--require-auth'],
      { ...prepared.env, CLUTCH_ADMIN_TOKEN: ADMIN },
      process.cwd(),
    );
    platform = await startPlatform(config, pino({ level: 'silent' }));
    fleet = await provision({ db: platform.db, mqttUrl: platform.broker.mqttUrl, apiUrl: platform.api.url });
  }, 60_000);

  afterAll(async () => {
    await fleet?.car.endAsync(true);
    await platform?.stop();
    cleanup?.();
  });

  it('answers with the values of a batch as soon as the device has its PUBACK, in /latest and /health', async () => {
    await fleet.publish(t0, [
      [0, 'engine.rpm', 800],
      [0, 'engine.coolant_temp', 90],
    ]);
    // The first read of the vehicle fills the cache from the database.
    expect((await fleet.latest())['engine.rpm']).toMatchObject({ value: 800, time: new Date(t0).toISOString() });
    expect((await fleet.health()).signals['engine.coolant_temp']).toMatchObject({ value: 90, status: 'ok' });

    // Later batches reach the answers through the cache ingest keeps: no wait, no poll.
    await fleet.publish(t0 + 1000, [
      [0, 'engine.rpm', 950],
      [500, 'engine.rpm', 990],
      [0, 'engine.coolant_temp', 118],
    ]);
    const latest = await fleet.latest();
    expect(latest['engine.rpm']).toEqual({
      signal: 'engine.rpm',
      name: 'Engine RPM',
      unit: 'rpm',
      value: 990,
      time: new Date(t0 + 1500).toISOString(),
    });
    expect(latest['engine.coolant_temp']).toMatchObject({ value: 118 });
    const health = await fleet.health();
    expect(health.status).toBe('critical');
    expect(health.signals['engine.coolant_temp']).toMatchObject({ value: 118, status: 'high' });
    // Administrators read every tenant's samples: their view is kept apart and says the same here.
    expect((await fleet.latest(ADMIN))['engine.rpm']).toMatchObject({ value: 990 });

    // A late upload of an older reading is stored, and changes nothing: it is not the latest.
    await fleet.publish(t0 - 30_000, [[0, 'engine.rpm', 111]]);
    expect((await fleet.latest())['engine.rpm']).toMatchObject({ value: 990 });
  });

  it('answers exactly as an API without the cache, reading the samples, does', async () => {
    const plain: ApiServer = await startApiServer({
      db: platform.db,
      bus: createInProcessBus(),
      port: 0,
      requireAuth: true,
      adminToken: ADMIN,
      rateLimit: { enabled: false },
      logger: pino({ level: 'silent' }),
      health: async () => ({}),
    });
    try {
      const body = async (url: string, path: string, token: string): Promise<unknown> => {
        const res = await fetch(`${url}/api/vehicles/${fleet.vehicleId}/${path}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return { status: res.status, body: await res.json() };
      };
      for (const token of [fleet.token, ADMIN])
        for (const path of ['latest', 'health'])
          expect(
            await body(platform.api.url, path, token),
            `${path} as ${token === ADMIN ? 'admin' : 'partner'}`,
          ).toEqual(await body(plain.url, path, token));
    } finally {
      await plain.close();
    }
  });

  it('keeps the tenant check of the route: another tenant gets 404 for the cached vehicle', async () => {
    await ensureTenant(platform.db, 'globex', 'Globex');
    const other = await createApiKey(platform.db, { tenantId: 'globex', name: 'x', scopes: ['telemetry:read'] });
    for (const path of ['latest', 'health']) {
      const res = await fetch(`${platform.api.url}/api/vehicles/${fleet.vehicleId}/${path}`, {
        headers: { authorization: `Bearer ${other.token}` },
      });
      expect(res.status).toBe(404);
    }
  });

  it('sees a change made outside ingest once it is announced through the outbox', async () => {
    // Written straight into the database (an import, a correction): ingest never saw it, so the
    // cache still answers with what ingest stored...
    const imported = new Date(t0 + 5000);
    await platform.db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
       SELECT $1, 'acme', $2, id, 4321 FROM signals WHERE key = 'engine.rpm'`,
      [imported, fleet.vehicleId],
    );
    expect((await fleet.latest())['engine.rpm']).toMatchObject({ value: 990 });
    // ...until the change is announced, in the transaction that makes it, as its producers do.
    await platform.db.transaction((tx) =>
      appendEvent(tx, { tenantId: 'acme', topic: 'samples.changed', payload: { vehicleId: fleet.vehicleId } }),
    );
    await expect
      .poll(async () => (await fleet.latest())['engine.rpm']?.value, { timeout: 10_000, interval: 50 })
      .toBe(4321);
    expect((await fleet.latest())['engine.rpm']?.time).toBe(imported.toISOString());
  });
});

describe('latest values in Redis, scaled out', () => {
  let redis: RedisServer;
  const roles: RunningRole[] = [];
  let fleet: Awaited<ReturnType<typeof provision>>;
  const t0 = Date.now() - 60_000;

  beforeAll(async () => {
    redis = await startRedisServer();
    const config: PlatformConfig = loadConfig(
      ['--port', '0', '--mqtt-port', '0', '--mqtt-ws-port', '0', '--require-auth'],
      {
        DATABASE_URL: await createTestDatabase(inject('pgAdminUrl'), 'latest_scaled'),
        REDIS_URL: redis.url,
        CLUTCH_ADMIN_TOKEN: ADMIN,
      },
      process.cwd(),
    );
    const logger = pino({ level: 'silent' });
    const broker = await startRole('broker', config, logger);
    roles.push(broker, await startRole('ingest', config, logger));
    const api = await startRole('api', config, logger);
    roles.push(api);
    fleet = await provision({ db: broker.db, mqttUrl: broker.url, apiUrl: api.url });
  }, 90_000);

  afterAll(async () => {
    await fleet?.car.endAsync(true);
    for (const role of roles.reverse()) await role.stop().catch(() => {});
    await redis?.stop();
  });

  it('serves what an ingest worker committed from Redis on an API process, and forgets it on an outbox event', async () => {
    await fleet.publish(t0, [[0, 'engine.rpm', 800]]);
    // Here the PUBACK follows the stream's XADD, not the commit: wait for the value to be stored.
    await expect.poll(async () => (await fleet.latest())['engine.rpm']?.value, { timeout: 20_000 }).toBe(800);
    await fleet.publish(t0 + 1000, [[0, 'engine.rpm', 990]]);
    await expect.poll(async () => (await fleet.latest())['engine.rpm']?.value, { timeout: 20_000 }).toBe(990);
    const db = roles[0]!.db;
    await db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
       SELECT $1, 'acme', $2, id, 4321 FROM signals WHERE key = 'engine.rpm'`,
      [new Date(t0 + 5000), fleet.vehicleId],
    );
    expect((await fleet.latest())['engine.rpm']?.value).toBe(990);
    await db.transaction((tx) =>
      appendEvent(tx, { tenantId: 'acme', topic: 'vehicle.moved', payload: { vehicleId: fleet.vehicleId } }),
    );
    await expect.poll(async () => (await fleet.latest())['engine.rpm']?.value, { timeout: 10_000 }).toBe(4321);
  });
});
