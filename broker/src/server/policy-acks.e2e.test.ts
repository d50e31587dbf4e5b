// What a client is told when the tenant policy refuses it, in MQTT 3.1.1 (regression tests named after
// the clause they guard) and in MQTT 5 (reason codes on every acknowledgement), with the production
// policy, a real (embedded) database, raw 3.1.1 frames and MQTT.js 5.
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { createApiKey, ensureTenant, provisionDevice, type DeviceLogin } from '@clutch/identity';
import mqtt from 'mqtt';
import type { IPubackPacket } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantPolicy } from '../policy/policy.js';
import { connackFrame, connectFrame, openRaw, publishFrame, subscribeFrame } from '../testing/raw-mqtt.js';
import { startBroker, type RunningBroker } from './broker.js';
import { openRawV5 } from './mqtt5/raw-v5.js';

describe('policy refusals on the wire', () => {
  let db: Database;
  let broker: RunningBroker;
  let acme1: DeviceLogin;
  let globex1: DeviceLogin;
  let fleet: { username: string; password: string; clientId: string };

  const v5 = (login: { username?: string; password?: string }, clientId: string, extra: mqtt.IClientOptions = {}) =>
    mqtt.connectAsync(broker.mqttUrl, { clientId, ...login, protocolVersion: 5, reconnectPeriod: 0, ...extra });
  /** SUBACK reason codes, whether MQTT.js resolves (all granted) or rejects (some refused). */
  const granted = (client: mqtt.MqttClient, filters: string[]): Promise<number[]> =>
    client.subscribeAsync(filters, { qos: 1 }).then(
      (grants) => grants.map((g) => g.qos),
      (err: { packet?: { granted?: number[] } }) => err.packet?.granted ?? [],
    );

  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    await ensureTenant(db, 'acme', 'Acme');
    await ensureTenant(db, 'globex', 'Globex');
    acme1 = (await provisionDevice(db, { tenantId: 'acme', deviceId: 'pi-1', vehicle: { name: 'A1' } })).login;
    globex1 = (await provisionDevice(db, { tenantId: 'globex', deviceId: 'pi-1', vehicle: { name: 'G1' } })).login;
    const key = await createApiKey(db, { tenantId: 'acme', name: 'fleet', scopes: ['telemetry:read'] });
    fleet = { username: 'apikey', password: key.token, clientId: `acme/key-${key.token.split('_')[1]}` };
    broker = await startBroker({ mqttPort: 0, policy: tenantPolicy({ db, adminPassword: 'admin-secret' }) });
  });
  afterAll(async () => {
    await broker?.close();
    await db?.close();
  });

  describe('MQTT 3.1.1', () => {
    it('MQTT-3.1.3-8: a zero-length client id with clean session 0 gets CONNACK 0x02 and is closed', async () => {
      const raw = await openRaw(broker.mqttPort);
      raw.send(connectFrame({ clientId: '', cleanSession: false, ...acme1 }));
      expect(await raw.closed).toEqual(connackFrame(0x02));
    });

    it.each([
      ["another tenant's topic", 'clutch/v1/globex/pi-1/telemetry'],
      ['a $-topic', '$SYS/fake'],
    ])(
      'MQTT-3.3.5-2: a QoS 1 PUBLISH to %s the policy refuses closes the connection without PUBACK',
      async (_name, topic) => {
        const raw = await openRaw(broker.mqttPort);
        raw.send(connectFrame({ clientId: 'acme/pi-1', ...acme1 }));
        await raw.receivedAtLeast(4);
        raw.send(publishFrame(topic, '{}', 7));
        // Only the CONNACK: no PUBACK would tell the device a refused reading was delivered.
        expect(await raw.closed).toEqual(connackFrame(0x00));
      },
    );

    it('MQTT-3.9.3-1 / MQTT-3.9.3-2: SUBACK 0x80 for each filter the policy denies, in the order asked', async () => {
      const raw = await openRaw(broker.mqttPort);
      raw.send(connectFrame({ clientId: 'acme/pi-1', ...acme1 }));
      await raw.receivedAtLeast(4);
      raw.send(subscribeFrame(9, ['clutch/v1/globex/pi-1/cmd/+', 'clutch/v1/acme/pi-1/cmd/+', '#']));
      const bytes = await raw.receivedAtLeast(4 + 7);
      expect([...bytes.subarray(4, 11)]).toEqual([0x90, 0x05, 0x00, 0x09, 0x80, 0x01, 0x80]);
      raw.destroy();
    });
  });

  describe('MQTT 5', () => {
    it('refuses a CONNECT with MQTT 5 reason codes', async () => {
      await expect(v5({ username: 'acme/pi-1', password: 'wrong' }, 'acme/pi-1')).rejects.toMatchObject({ code: 0x86 });
      await expect(v5({}, 'anyone')).rejects.toMatchObject({ code: 0x87 });
      // An assigned client id is still held to the principal's namespace.
      await expect(v5(acme1, '')).rejects.toMatchObject({ code: 0x85 });
    });

    it('answers SUBACK 0x87 (Not authorized) for each filter the policy denies', async () => {
      const car = await v5(acme1, 'acme/pi-1');
      try {
        expect(await granted(car, ['clutch/v1/globex/pi-1/cmd/+', 'clutch/v1/acme/pi-1/cmd/+', '#'])).toEqual([
          0x87, 1, 0x87,
        ]);
      } finally {
        await car.endAsync();
      }
    });

    it('answers PUBACK 0x87 for a QoS 1 PUBLISH the policy refuses, and keeps the connection', async () => {
      const watcher = await v5({ username: 'admin', password: 'admin-secret' }, 'admin-watch');
      const seen: string[] = [];
      watcher.on('message', (topic) => seen.push(topic));
      await watcher.subscribeAsync('clutch/v1/+/+/telemetry', { qos: 1 });
      const car = await v5(acme1, 'acme/pi-1');
      try {
        for (const topic of ['clutch/v1/globex/pi-1/telemetry', '$SYS/fake', 'clutch/v1/acme/pi-1/cmd/1'])
          await expect(car.publishAsync(topic, '{}', { qos: 1 })).rejects.toMatchObject({ code: 0x87 });
        await car.publishAsync('clutch/v1/acme/pi-1/telemetry', '{}', { qos: 1 });
        await expect.poll(() => seen).toEqual(['clutch/v1/acme/pi-1/telemetry']);
      } finally {
        await Promise.all([car.endAsync(), watcher.endAsync()]);
      }
    });

    it('judges a shared subscription by its filter: within the tenant it is granted, across tenants 0x87', async () => {
      const partner = await v5(fleet, fleet.clientId);
      const device = await v5(acme1, 'acme/pi-1');
      const other = await v5(globex1, 'globex/pi-1');
      const seen: string[] = [];
      partner.on('message', (topic) => seen.push(topic));
      try {
        expect(
          await granted(partner, [
            '$share/ingest/clutch/v1/acme/+/telemetry',
            '$share/ingest/clutch/v1/globex/+/telemetry',
            '$share/ingest/clutch/v1/+/+/telemetry',
            '$share/ingest/#',
          ]),
        ).toEqual([1, 0x87, 0x87, 0x87]);
        await device.publishAsync('clutch/v1/acme/pi-1/telemetry', 'acme', { qos: 1 });
        await other.publishAsync('clutch/v1/globex/pi-1/telemetry', 'globex', { qos: 1 });
        await device.publishAsync('clutch/v1/acme/pi-1/telemetry', 'marker', { qos: 1 });
        await expect.poll(() => seen.length).toBe(2);
        expect(seen).toEqual(['clutch/v1/acme/pi-1/telemetry', 'clutch/v1/acme/pi-1/telemetry']);
      } finally {
        await Promise.all([partner.endAsync(), device.endAsync(), other.endAsync()]);
      }
    });

    it('decides a PUBLISH by the topic an alias stands for: an alias smuggles nothing past the policy', async () => {
      const watcher = await v5({ username: 'admin', password: 'admin-secret' }, 'admin-alias-watch');
      const seen: string[] = [];
      watcher.on('message', (topic, payload) => seen.push(`${topic}=${payload.toString()}`));
      await watcher.subscribeAsync('clutch/v1/+/+/telemetry', { qos: 1 });
      const raw = await openRawV5(broker.mqttPort);
      try {
        await raw.connect({ clientId: 'acme/pi-1', username: acme1.username, password: acme1.password });
        const publish = (messageId: number, topic: string, alias: number, payload: string) =>
          raw.send({
            cmd: 'publish',
            topic,
            payload: Buffer.from(payload),
            qos: 1,
            messageId,
            retain: false,
            dup: false,
            properties: { topicAlias: alias },
          });
        publish(1, 'clutch/v1/globex/pi-1/telemetry', 1, 'set');
        publish(2, '', 1, 'reuse');
        publish(3, 'clutch/v1/acme/pi-1/telemetry', 2, 'own');
        publish(4, '', 2, 'own-again');
        await raw.until((p) => p.filter((x) => x.cmd === 'puback').length === 4);
        const acks = raw.packets.filter((x) => x.cmd === 'puback') as IPubackPacket[];
        expect(acks.map((a) => [a.messageId, a.reasonCode ?? 0])).toEqual([
          [1, 0x87],
          [2, 0x87],
          [3, 0],
          [4, 0],
        ]);
        await expect
          .poll(() => seen)
          .toEqual(['clutch/v1/acme/pi-1/telemetry=own', 'clutch/v1/acme/pi-1/telemetry=own-again']);
      } finally {
        raw.destroy();
        await watcher.endAsync();
      }
    });
  });
});
