import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { createApiKey, ensureTenant, provisionDevice, revokeApiKey, type DeviceLogin } from '@clutch/identity';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantPolicy, type BrokerPolicy } from '../policy/policy.js';
import { startBroker, type RunningBroker } from './broker.js';

// Issue 12, finding 3: revocation used to stop at the handshake. Real broker, real MQTT.js clients
// over TCP and WebSocket, keys in a real (embedded) database.
describe('API key revocation and expiry end live MQTT sessions', () => {
  let db: Database;
  let broker: RunningBroker;
  let car: DeviceLogin;

  const partner = (url: string, token: string, suffix: string): Promise<mqtt.MqttClient> =>
    mqtt.connectAsync(url, {
      clientId: `acme/key-${token.split('_')[1]}-${suffix}`,
      username: 'apikey',
      password: token,
      reconnectPeriod: 0,
    });
  const closedWithin = (client: mqtt.MqttClient, ms: number): Promise<number> => {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`still connected after ${ms} ms`)), ms);
      client.once('close', () => {
        clearTimeout(timer);
        resolve(performance.now() - started);
      });
    });
  };

  beforeAll(async () => {
    db = await openTestDatabase('pglite', { signals: false });
    await ensureTenant(db, 'acme', 'Acme');
    car = (await provisionDevice(db, { tenantId: 'acme', deviceId: 'pi-1', vehicle: { name: 'A1' } })).login;
    broker = await startBroker({ mqttPort: 0, wsPort: 0, policy: tenantPolicy({ db }) });
  });
  afterAll(async () => {
    await broker?.close();
    await db?.close();
  });

  it("regression 12.3: a revoked key ends the partner's TCP and WebSocket sessions within 1 s, and only those", async () => {
    const revoked = await createApiKey(db, { tenantId: 'acme', name: 'leaver', scopes: ['telemetry:read'] });
    const kept = await createApiKey(db, { tenantId: 'acme', name: 'stayer', scopes: ['telemetry:read'] });
    const tcp = await partner(broker.mqttUrl, revoked.token, 'tcp');
    const ws = await partner(broker.wsUrl!, revoked.token, 'ws');
    const other = await partner(broker.mqttUrl, kept.token, 'tcp');
    const device = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'acme/pi-1', ...car, reconnectPeriod: 0 });
    try {
      for (const c of [tcp, ws, other]) await c.subscribeAsync('clutch/v1/acme/+/telemetry', { qos: 1 });
      const received: string[] = [];
      tcp.on('message', () => received.push('tcp'));
      ws.on('message', () => received.push('ws'));
      const otherGot = (): Promise<void> => new Promise((resolve) => other.once('message', () => resolve()));

      let got = otherGot();
      await device.publishAsync('clutch/v1/acme/pi-1/telemetry', '{}', { qos: 1 });
      await got;

      const closes = [closedWithin(tcp, 1000), closedWithin(ws, 1000)];
      await revokeApiKey(db, 'acme', revoked.keyId);
      // What the platform does on the bus event `api-key-revoked` (platform.ts, scale-out/roles.ts).
      expect(broker.disconnectApiKey('acme', revoked.keyId)).toBe(2);
      for (const ms of await Promise.all(closes)) expect(ms).toBeLessThan(1000);

      const before = received.length;
      got = otherGot();
      await device.publishAsync('clutch/v1/acme/pi-1/telemetry', '{}', { qos: 1 });
      await got; // the other key's session is untouched and still receives
      expect(received.length).toBe(before);
      await expect(partner(broker.mqttUrl, revoked.token, 'again')).rejects.toThrow(/Bad username or password/);
      await expect(partner(broker.wsUrl!, revoked.token, 'again')).rejects.toThrow(/Bad username or password/);
      expect(broker.disconnectApiKey('acme', revoked.keyId)).toBe(0);
    } finally {
      await Promise.all([tcp.endAsync(true), ws.endAsync(true), other.endAsync(), device.endAsync()]);
    }
  });

  it('regression 12.3: an expired key is refused', async () => {
    const key = await createApiKey(db, {
      tenantId: 'acme',
      name: 'old',
      scopes: ['status:read'],
      expiresAt: new Date(Date.now() + 60_000),
    });
    await db.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [key.keyId]);
    await expect(partner(broker.mqttUrl, key.token, 'tcp')).rejects.toThrow(/Bad username or password/);
  });

  it('regression 12.3: a key expiring while connected is disconnected at its expiry (TCP and WebSocket)', async () => {
    const expiresAt = new Date(Date.now() + 1500);
    const key = await createApiKey(db, { tenantId: 'acme', name: 'short', scopes: ['status:read'], expiresAt });
    const tcp = await partner(broker.mqttUrl, key.token, 'tcp');
    const ws = await partner(broker.wsUrl!, key.token, 'ws');
    const lasting = await createApiKey(db, {
      tenantId: 'acme',
      name: 'long',
      scopes: ['status:read'],
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    const stays = await partner(broker.mqttUrl, lasting.token, 'tcp');
    try {
      const closedAt = await Promise.all([tcp, ws].map((c) => closedWithin(c, 3000).then(() => Date.now())));
      for (const at of closedAt) {
        expect(at).toBeGreaterThanOrEqual(expiresAt.getTime() - 5); // timer granularity
        expect(at - expiresAt.getTime()).toBeLessThan(1000);
      }
      expect(stays.connected).toBe(true);
      await expect(partner(broker.mqttUrl, key.token, 'later')).rejects.toThrow(/Bad username or password/);
    } finally {
      await Promise.all([tcp.endAsync(true), ws.endAsync(true), stays.endAsync()]);
    }
  });

  it('regression 12.3: a login whose key check passed just before the revocation is ended once it registers', async () => {
    const key = await createApiKey(db, { tenantId: 'acme', name: 'racing', scopes: ['status:read'] });
    // The production policy, with its answer held back after the key was verified (a slow database).
    const inner = tenantPolicy({ db });
    let verified!: () => void;
    const checked = new Promise<void>((resolve) => (verified = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const policy: BrokerPolicy = {
      ...inner,
      async authenticate(...args) {
        const decision = await inner.authenticate(...args);
        verified();
        await held;
        return decision;
      },
    };
    const slow = await startBroker({ mqttPort: 0, policy });
    try {
      const client = mqtt.connect(slow.mqttUrl, {
        clientId: `acme/key-${key.keyId}-racing`,
        username: 'apikey',
        password: key.token,
        reconnectPeriod: 0,
      });
      const closed = closedWithin(client, 5000);
      await checked;
      await revokeApiKey(db, 'acme', key.keyId);
      expect(slow.disconnectApiKey('acme', key.keyId)).toBe(0); // not registered yet
      release();
      expect(await closed).toBeLessThan(5000); // ended as it registers (before or just after its CONNACK)
      client.end(true);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(slow.aedes.connectedClients).toBe(0);
    } finally {
      await slow.close();
    }
  });
});
