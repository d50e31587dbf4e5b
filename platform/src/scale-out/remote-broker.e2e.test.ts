import { ensureTenant, provisionDevice } from '@clutch/identity';
import {
  createTestDatabase,
  startMosquittoServer,
  startRedisServer,
  type MosquittoServer,
  type RedisServer,
} from '@clutch/test-support';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { remoteBrokerSettings } from './remote-broker.js';
import { startRole, type RunningRole } from './roles.js';

describe('remote broker settings', () => {
  it('are off without CLUTCH_INGEST_MQTT_URL and share one group across ingest processes by default', () => {
    expect(remoteBrokerSettings({})).toBeUndefined();
    const settings = remoteBrokerSettings({ CLUTCH_INGEST_MQTT_URL: 'mqtts://fleet.example:8883' })!;
    expect(settings).toMatchObject({
      url: 'mqtts://fleet.example:8883',
      protocolVersion: 5,
      shareGroup: 'clutch-ingest',
    });
    expect(settings.clientId).toMatch(/^clutch-ingest-/);
    // MQTT 3.1.1 has no shared subscriptions.
    expect(
      remoteBrokerSettings({ CLUTCH_INGEST_MQTT_URL: 'mqtt://b', CLUTCH_INGEST_MQTT_PROTOCOL: '4' })!.shareGroup,
    ).toBeUndefined();
  });

  it('refuse what cannot work, naming the setting', () => {
    expect(() => remoteBrokerSettings({ CLUTCH_INGEST_MQTT_URL: 'not a url' })).toThrow(/CLUTCH_INGEST_MQTT_URL/);
    expect(() => remoteBrokerSettings({ CLUTCH_INGEST_MQTT_URL: 'http://b' })).toThrow(/mqtt:\/\//);
    expect(() =>
      remoteBrokerSettings({ CLUTCH_INGEST_MQTT_URL: 'mqtt://b', CLUTCH_INGEST_MQTT_PROTOCOL: '3' }),
    ).toThrow(/CLUTCH_INGEST_MQTT_PROTOCOL/);
  });
});

// Two ingest processes subscribed, as one shared group, to a Mosquitto we do not run: a car
// publishing there is stored once, through the shared Redis stream.
describe('ingest from a broker we do not run', () => {
  let redis: RedisServer;
  let mosquitto: MosquittoServer;
  const roles: RunningRole[] = [];
  const saved = { ...process.env };

  beforeAll(async () => {
    [redis, mosquitto] = await Promise.all([startRedisServer(), startMosquittoServer()]);
    const env = { DATABASE_URL: await createTestDatabase(inject('pgAdminUrl'), 'remote_broker'), REDIS_URL: redis.url };
    const config = loadConfig(['--port', '0', '--mqtt-port', '0', '--mqtt-ws-port', '0'], env, process.cwd());
    process.env['CLUTCH_INGEST_MQTT_URL'] = mosquitto.url;
    for (const name of ['a', 'b']) {
      process.env['CLUTCH_INGEST_MQTT_CLIENT_ID'] = `clutch-ingest-test-${name}`;
      roles.push(await startRole('ingest', config, pino({ level: 'silent' })));
    }
  }, 90_000);

  afterAll(async () => {
    for (const role of roles.reverse()) await role.stop().catch(() => {});
    process.env = saved;
    await Promise.all([redis?.stop(), mosquitto?.stop()]);
  });

  it('stores what a car publishes there, each sample once', async () => {
    const db = roles[0]!.db;
    await ensureTenant(db, 'fleet', 'Fleet');
    const { vehicleId } = await provisionDevice(db, {
      tenantId: 'fleet',
      deviceId: 'truck-3',
      vehicle: { name: 'Truck 3' },
    });
    const car = await mqtt.connectAsync(mosquitto.url, { protocolVersion: 5 });
    const t0 = Date.now() - 30_000;
    for (let seq = 0; seq < 10; seq++) {
      const samples = Array.from({ length: 20 }, (_, i) => [i * 50, 'engine.rpm', 900 + seq]);
      await car.publishAsync(
        'clutch/v1/fleet/truck-3/telemetry',
        JSON.stringify({ v: 1, seq, t0: t0 + seq * 1000, samples }),
        { qos: 1 },
      );
    }
    const stored = async () =>
      Number(
        (await db.query<{ n: string }>('SELECT count(*) AS n FROM samples WHERE vehicle_id = $1', [vehicleId])).rows[0]!
          .n,
      );
    await expect.poll(stored, { timeout: 20_000 }).toBe(200);
    await car.endAsync();
  });
});
