import { createApiKey, ensureTenant, provisionDevice } from '@clutch/identity';
import { createTestDatabase, startRedisServer, type RedisServer } from '@clutch/test-support';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { io as connectSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { startRole, type RunningRole } from './roles.js';

// DESIGN.md §10 on one machine: two brokers, two ingest workers and two API processes' worth of
// roles sharing one PostgreSQL and one Redis. A car on broker A, a fleet partner on broker B, a
// dashboard on API B; every sample stored exactly once.
describe('scaled out on Redis and PostgreSQL', () => {
  let redis: RedisServer;
  const roles: RunningRole[] = [];
  let brokerA: RunningRole;
  let brokerB: RunningRole;
  let apiB: RunningRole;

  beforeAll(async () => {
    redis = await startRedisServer();
    const env = {
      DATABASE_URL: await createTestDatabase(inject('pgAdminUrl'), 'scale'),
      REDIS_URL: redis.url,
      CLUTCH_BROKER_ADMIN_PASSWORD: 'ops',
    };
    const config = loadConfig(['--port', '0', '--mqtt-port', '0', '--mqtt-ws-port', '0'], env, process.cwd());
    const logger = pino({ level: 'silent' });
    brokerA = await startRole('broker', config, logger);
    brokerB = await startRole('broker', config, logger);
    roles.push(brokerA, brokerB);
    for (let i = 0; i < 2; i++) roles.push(await startRole('ingest', config, logger));
    const apiConfig = { ...config, brokerUrl: brokerB.url };
    roles.push(await startRole('api', apiConfig, logger));
    apiB = await startRole('api', apiConfig, logger);
    roles.push(apiB);
  }, 90_000);

  afterAll(async () => {
    for (const role of roles.reverse()) await role.stop().catch(() => {});
    await redis?.stop();
  });

  it('carries a car on one broker to a partner on the other, stores once, and pushes to a dashboard on any API', async () => {
    const db = brokerA.db;
    await ensureTenant(db, 'acme', 'Acme');
    const { login, vehicleId } = await provisionDevice(db, {
      tenantId: 'acme',
      deviceId: 'van-7',
      vehicle: { name: 'Van 7' },
    });
    const key = await createApiKey(db, { tenantId: 'acme', name: 'fleet', scopes: ['telemetry:read'] });

    const partner = await mqtt.connectAsync(brokerB.url, {
      clientId: `acme/key-${key.keyId}`,
      username: 'apikey',
      password: key.token,
    });
    await partner.subscribeAsync('clutch/v1/acme/+/telemetry', { qos: 1 });
    const partnerGot = new Promise<string>((resolve) => partner.on('message', (topic) => resolve(topic)));

    const dashboard = connectSocket(apiB.url, { transports: ['websocket'] });
    expect(await dashboard.timeout(5000).emitWithAck('subscribe', { vehicleId })).toEqual({ ok: true });
    const live = new Promise<{ readings: unknown[] }>((resolve) => dashboard.once('readings', resolve));

    const car = await mqtt.connectAsync(brokerA.url, { clientId: login.username, ...login });
    const t0 = Date.now() - 30_000;
    for (let seq = 0; seq < 10; seq++) {
      const samples = Array.from({ length: 20 }, (_, i) => [i * 50, 'engine.rpm', 900 + seq]);
      await car.publishAsync(
        'clutch/v1/acme/van-7/telemetry',
        JSON.stringify({ v: 1, seq, t0: t0 + seq * 1000, samples }),
        { qos: 1 },
      );
    }
    expect(await partnerGot).toBe('clutch/v1/acme/van-7/telemetry');
    expect((await live).readings.length).toBeGreaterThan(0);
    await expect
      .poll(
        async () =>
          Number(
            (await db.query<{ n: string }>('SELECT count(*) AS n FROM samples WHERE vehicle_id = $1', [vehicleId]))
              .rows[0]!.n,
          ),
        { timeout: 20_000 },
      )
      .toBe(200);

    // A revocation made through API B ends the car's session on broker A.
    const closed = new Promise<void>((resolve) => car.once('close', () => resolve()));
    const res = await fetch(`${apiB.url}/api/devices/acme/van-7/credentials`, {
      method: 'DELETE',
      headers: { 'x-requested-with': 'test' },
    });
    expect(res.status).toBeLessThan(300);
    await closed;
    await Promise.all([car.endAsync(true), partner.endAsync()]);
    dashboard.close();
  });

  it('regression 12.3: revoking an API key through one API ends its MQTT session on another broker and its socket on another API', async () => {
    const db = brokerA.db;
    await ensureTenant(db, 'acme', 'Acme');
    const key = await createApiKey(db, { tenantId: 'acme', name: 'leaked', scopes: ['telemetry:read'] });
    const partner = await mqtt.connectAsync(brokerA.url, {
      clientId: `acme/key-${key.keyId}`,
      username: 'apikey',
      password: key.token,
      reconnectPeriod: 0,
    });
    const apiA = roles.find((r) => r.role === 'api' && r !== apiB)!;
    const socket = connectSocket(apiA.url, { transports: ['websocket'], auth: { token: key.token } });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const mqttClosed = new Promise<void>((resolve) => partner.once('close', () => resolve()));
    const socketClosed = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));

    const started = Date.now();
    const res = await fetch(`${apiB.url}/api/api-keys/acme/${key.keyId}`, {
      method: 'DELETE',
      headers: { 'x-requested-with': 'test' },
    });
    expect(res.status).toBe(204);
    await Promise.all([mqttClosed, socketClosed]);
    expect(Date.now() - started).toBeLessThan(1000);
    await partner.endAsync(true);
    socket.close();
  });
});
