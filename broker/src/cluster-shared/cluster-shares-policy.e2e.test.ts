// The tenant policy over shared subscriptions on brokers clustered on Redis: the same answers as on one
// broker (0x87 in MQTT 5, 0x80 in 3.1.1 for a filter it denies), with a real (embedded) database.
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { createApiKey, ensureTenant, provisionDevice, type DeviceLogin } from '@clutch/identity';
import { startRedisServer, type RedisServer } from '@clutch/test-support';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantPolicy } from '../policy/policy.js';
import { startBroker, type RunningBroker } from '../server/broker.js';

describe('the tenant policy over shared subscriptions across clustered brokers', () => {
  let db: Database;
  let redis: RedisServer;
  let a: RunningBroker;
  let b: RunningBroker;
  let acme1: DeviceLogin;
  let globex1: DeviceLogin;
  let fleet: { username: string; password: string; clientId: string };
  const clients: mqtt.MqttClient[] = [];

  /** SUBACK reason codes, whether MQTT.js resolves (all granted) or rejects (some refused). */
  const granted = (client: mqtt.MqttClient, filters: string[]): Promise<number[]> =>
    client.subscribeAsync(filters, { qos: 1 }).then(
      (grants) => grants.map((g) => g.qos),
      (err: { packet?: { granted?: number[] } }) => err.packet?.granted ?? [],
    );
  const connect = async (
    broker: RunningBroker,
    login: { username: string; password: string },
    clientId: string,
    protocolVersion: 4 | 5 = 5,
  ): Promise<mqtt.MqttClient> => {
    const client = await mqtt.connectAsync(broker.mqttUrl, { ...login, clientId, protocolVersion, reconnectPeriod: 0 });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    redis = await startRedisServer();
    await ensureTenant(db, 'acme', 'Acme');
    await ensureTenant(db, 'globex', 'Globex');
    acme1 = (await provisionDevice(db, { tenantId: 'acme', deviceId: 'pi-1', vehicle: { name: 'A1' } })).login;
    globex1 = (await provisionDevice(db, { tenantId: 'globex', deviceId: 'pi-1', vehicle: { name: 'G1' } })).login;
    const key = await createApiKey(db, { tenantId: 'acme', name: 'ingest', scopes: ['telemetry:read'] });
    fleet = { username: 'apikey', password: key.token, clientId: `acme/key-${key.token.split('_')[1]}` };
    const policy = tenantPolicy({ db, adminPassword: 'admin-secret' });
    a = await startBroker({ mqttPort: 0, redisUrl: redis.url, policy });
    b = await startBroker({ mqttPort: 0, redisUrl: redis.url, policy });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync()));
    await a?.close();
    await b?.close();
    await redis?.stop();
    await db?.close();
  });

  it("refuses another tenant's filter and shares its own tenant's stream across both brokers", async () => {
    const onA = await connect(a, fleet, `${fleet.clientId}/worker-a`);
    const onB = await connect(b, fleet, `${fleet.clientId}/worker-b`);
    const legacy = await connect(b, fleet, `${fleet.clientId}/worker-legacy`, 4);
    expect(
      await granted(onA, ['$share/ingest/clutch/v1/globex/+/telemetry', '$share/ingest/clutch/v1/acme/+/telemetry']),
    ).toEqual([0x87, 1]);
    expect(await granted(onB, ['$share/ingest/clutch/v1/acme/+/telemetry'])).toEqual([1]);
    expect(await granted(legacy, ['$share/ingest/clutch/v1/+/+/telemetry'])).toEqual([0x80]);

    const got: string[][] = [[], []];
    onA.on('message', (_t, p) => got[0]!.push(p.toString()));
    onB.on('message', (_t, p) => got[1]!.push(p.toString()));
    const acmeCar = await connect(a, acme1, 'acme/pi-1');
    const globexCar = await connect(b, globex1, 'globex/pi-1');
    const sent: string[] = [];
    for (let i = 0; i < 10; i++) {
      sent.push(`acme-${i}`);
      await acmeCar.publishAsync('clutch/v1/acme/pi-1/telemetry', `acme-${i}`, { qos: 1 });
      await globexCar.publishAsync('clutch/v1/globex/pi-1/telemetry', `globex-${i}`, { qos: 1 });
    }
    await expect.poll(() => [...got[0]!, ...got[1]!].sort(), { timeout: 10_000 }).toEqual(sent.sort());
    expect(got.map((g) => g.length)).toEqual([5, 5]);
  });
});
