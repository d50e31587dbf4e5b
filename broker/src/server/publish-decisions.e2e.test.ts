import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { ensureTenant, provisionDevice, revokeDeviceCredential, type DeviceLogin } from '@clutch/identity';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantPolicy } from '../policy/policy.js';
import { startBroker, type RunningBroker } from './broker.js';

// The policy keeps each connection's publish decisions (publish-decisions.ts): what it refused it
// still refuses, and a revoked device's kept allow ends with its connection.
describe('publish decisions kept per connection, with the tenant policy', () => {
  let db: Database;
  let broker: RunningBroker;
  let car: DeviceLogin;

  const connect = (): Promise<mqtt.MqttClient> =>
    mqtt.connectAsync(broker.mqttUrl, { clientId: 'acme/pi-1', ...car, reconnectPeriod: 0 });
  const closed = (client: mqtt.MqttClient): Promise<void> =>
    new Promise((resolve) => client.once('close', () => resolve()));

  beforeAll(async () => {
    db = await openTestDatabase('pglite', { signals: false });
    await ensureTenant(db, 'acme', 'Acme');
    await provisionDevice(db, { tenantId: 'acme', deviceId: 'pi-2', vehicle: { name: 'A2' } });
    car = (await provisionDevice(db, { tenantId: 'acme', deviceId: 'pi-1', vehicle: { name: 'A1' } })).login;
    broker = await startBroker({ mqttPort: 0, policy: tenantPolicy({ db, adminPassword: 'admin-secret' }) });
  });
  afterAll(async () => {
    await broker?.close();
    await db?.close();
  });

  it("refuses another device's topic on every connection, after allowed publishes were kept", async () => {
    const admin = await mqtt.connectAsync(broker.mqttUrl, {
      clientId: 'ops',
      username: 'admin',
      password: 'admin-secret',
      reconnectPeriod: 0,
    });
    const seen: string[] = [];
    admin.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    await admin.subscribeAsync('clutch/v1/acme/#', { qos: 1 });
    try {
      for (const attempt of [1, 2]) {
        const device = await connect();
        for (let i = 0; i < 3; i++)
          await device.publishAsync('clutch/v1/acme/pi-1/telemetry', `${attempt}.${i}`, { qos: 1 });
        const ended = closed(device);
        // [MQTT-3.3.5-2] 3.1.1 has no negative PUBACK: the refused PUBLISH closes the connection.
        device.publish('clutch/v1/acme/pi-2/telemetry', 'forged', { qos: 1 });
        await ended;
        await device.endAsync(true);
      }
      await admin.publishAsync('clutch/v1/acme/pi-1/status', 'marker', { qos: 1 });
      await expect.poll(() => seen.at(-1)).toBe('clutch/v1/acme/pi-1/status marker');
      expect(seen.filter((s) => s.includes('forged'))).toEqual([]);
      expect(seen.filter((s) => s.includes('/pi-1/telemetry'))).toHaveLength(6);
    } finally {
      await admin.endAsync();
    }
  });

  it('ends a revoked device with its kept decisions: its next login is refused', async () => {
    const device = await connect();
    await device.publishAsync('clutch/v1/acme/pi-1/telemetry', 'before', { qos: 1 });
    const ended = closed(device);
    expect(await revokeDeviceCredential(db, 'acme', 'pi-1')).toBe(true);
    expect(broker.disconnectDevice('acme', 'pi-1')).toBe(1);
    await ended;
    await device.endAsync(true);
    await expect(connect()).rejects.toThrow(/Bad username or password/);
  });
});
