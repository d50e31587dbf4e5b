import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import {
  createApiKey,
  ensureTenant,
  provisionDevice,
  revokeDeviceCredential,
  type DeviceLogin,
} from '@clutch/identity';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantPolicy } from '../policy/policy.js';
import { startBroker, type RunningBroker } from './broker.js';

// Real MQTT.js clients against the broker with the production policy and a real (embedded) database.
describe('broker with the tenant policy', () => {
  let db: Database;
  let broker: RunningBroker;
  let acme1: DeviceLogin;
  let acme2: DeviceLogin;
  let globex1: DeviceLogin;
  let fleetToken: string;

  const connect = (
    login: { username?: string; password?: string },
    clientId: string,
    extra: mqtt.IClientOptions = {},
  ): Promise<mqtt.MqttClient> =>
    mqtt.connectAsync(broker.mqttUrl, { clientId, ...login, reconnectPeriod: 0, ...extra });

  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    await ensureTenant(db, 'acme', 'Acme');
    await ensureTenant(db, 'globex', 'Globex');
    acme1 = (await provisionDevice(db, { tenantId: 'acme', deviceId: 'pi-1', vehicle: { name: 'A1' } })).login;
    acme2 = (await provisionDevice(db, { tenantId: 'acme', deviceId: 'pi-2', vehicle: { name: 'A2' } })).login;
    globex1 = (await provisionDevice(db, { tenantId: 'globex', deviceId: 'pi-1', vehicle: { name: 'G1' } })).login;
    fleetToken = (await createApiKey(db, { tenantId: 'acme', name: 'fleet', scopes: ['telemetry:read'] })).token;
    broker = await startBroker({ mqttPort: 0, wsPort: 0, policy: tenantPolicy({ db, adminPassword: 'admin-secret' }) });
  });
  afterAll(async () => {
    await broker?.close();
    await db?.close();
  });

  it('lets a device publish its own telemetry and a partner of the same tenant receive it', async () => {
    const keyId = fleetToken.split('_')[1];
    await expect(connect({ username: 'apikey', password: fleetToken }, 'acme/pi-1')).rejects.toThrow(
      /Identifier rejected/,
    );
    const fleet = await connect({ username: 'apikey', password: fleetToken }, `acme/key-${keyId}`);
    const car = await connect(acme1, 'acme/pi-1');
    try {
      const got = new Promise<string>((resolve) => fleet.on('message', (topic) => resolve(topic)));
      const granted = await fleet.subscribeAsync('clutch/v1/acme/+/telemetry', { qos: 1 });
      expect(granted.map((g) => g.qos)).toEqual([1]);
      await car.publishAsync('clutch/v1/acme/pi-1/telemetry', '{}', { qos: 1 });
      expect(await got).toBe('clutch/v1/acme/pi-1/telemetry');
    } finally {
      await Promise.all([car.endAsync(), fleet.endAsync()]);
    }
  });

  it("refuses bad credentials, missing credentials and another tenant's password with the CONNACK reason", async () => {
    await expect(connect({ username: 'acme/pi-1', password: 'wrong' }, 'acme/pi-1')).rejects.toThrow(
      /Bad username or password/,
    );
    await expect(connect({}, 'anyone')).rejects.toThrow(/Not authorized/);
    await expect(connect({ username: 'acme/pi-1', password: globex1.password }, 'acme/pi-1')).rejects.toThrow(
      /Bad username or password/,
    );
    await expect(connect({ username: 'apikey', password: 'ck_nope' }, 'x')).rejects.toThrow(/Bad username or password/);
  });

  it("refuses a device that connects with another device's client id (session takeover)", async () => {
    await expect(connect(acme1, 'acme/pi-2')).rejects.toThrow(/Identifier rejected/);
  });

  it('disconnects a device that publishes into another tenant or another device', async () => {
    for (const topic of [
      'clutch/v1/globex/pi-1/telemetry',
      'clutch/v1/acme/pi-2/telemetry',
      'clutch/v1/acme/pi-1/cmd/1',
    ]) {
      const car = await connect(acme1, 'acme/pi-1');
      const closed = new Promise<void>((resolve) => car.once('close', () => resolve()));
      car.publish(topic, '{}', { qos: 1 });
      await closed;
      await car.endAsync(true);
    }
  });

  it('answers SUBACK failure (0x80) for filters that cross tenants or devices', async () => {
    const car = await connect(acme2, 'acme/pi-2');
    const keyId = fleetToken.split('_')[1];
    const fleet = await connect({ username: 'apikey', password: fleetToken }, `acme/key-${keyId}`);
    const grantOf = (client: mqtt.MqttClient, filter: string): Promise<number> =>
      client.subscribeAsync(filter, { qos: 1 }).then(
        (granted) => granted[0]!.qos,
        (err: { packet?: { granted?: number[] } }) => err.packet?.granted?.[0] ?? -1,
      );
    try {
      expect(await grantOf(car, 'clutch/v1/acme/pi-2/cmd/+')).toBe(1);
      for (const filter of ['clutch/v1/acme/pi-1/cmd/+', '#', 'clutch/v1/acme/+/telemetry'])
        expect(await grantOf(car, filter)).toBe(128);
      expect(await grantOf(fleet, 'clutch/v1/acme/pi-2/telemetry')).toBe(1);
      for (const filter of [
        'clutch/v1/+/+/telemetry',
        'clutch/v1/globex/+/telemetry',
        'clutch/v1/acme/#',
        '$SYS/#',
        '#',
      ]) {
        expect(await grantOf(fleet, filter)).toBe(128);
      }
    } finally {
      await Promise.all([car.endAsync(), fleet.endAsync()]);
    }
  });

  it('ends a live session at once when the device credential is revoked, and refuses it afterwards', async () => {
    const { login } = await provisionDevice(db, { tenantId: 'acme', deviceId: 'pi-3', vehicle: { name: 'A3' } });
    const car = await connect(login, 'acme/pi-3');
    const closed = new Promise<void>((resolve) => car.once('close', () => resolve()));
    expect(await revokeDeviceCredential(db, 'acme', 'pi-3')).toBe(true);
    expect(broker.disconnectDevice('acme', 'pi-3')).toBe(1);
    await closed;
    await car.endAsync(true);
    await expect(connect(login, 'acme/pi-3')).rejects.toThrow(/Bad username or password/);
  });

  it('applies the same authentication to MQTT over WebSocket', async () => {
    await expect(
      mqtt.connectAsync(broker.wsUrl!, {
        clientId: 'acme/pi-1',
        username: 'acme/pi-1',
        password: 'wrong',
        reconnectPeriod: 0,
      }),
    ).rejects.toThrow(/Bad username or password/);
    const car = await mqtt.connectAsync(broker.wsUrl!, { clientId: 'acme/pi-1', ...acme1, reconnectPeriod: 0 });
    await car.publishAsync('clutch/v1/acme/pi-1/status', '{"v":1,"state":"online"}', { qos: 1, retain: true });
    await car.endAsync();
  });

  it('lets the admin watch $SYS and every tenant', async () => {
    const admin = await connect({ username: 'admin', password: 'admin-secret' }, 'admin-console');
    try {
      const grants = await admin.subscribeAsync(['$SYS/#', 'clutch/v1/+/+/telemetry'], { qos: 0 });
      expect(grants.map((g) => g.qos)).toEqual([0, 0]);
    } finally {
      await admin.endAsync();
    }
  });
});
