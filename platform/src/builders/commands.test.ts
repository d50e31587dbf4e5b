// The scaled-out downlink: an API process without a broker of its own publishes commands as the MQTT
// admin over MQTT 5, to the real broker with the tenant policy; MQTT 5 and 3.1.1 devices both get them.
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { startBroker, tenantPolicy, type RunningBroker } from '@clutch/broker';
import { ensureTenant, provisionDevice } from '@clutch/identity';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCommandSender } from './commands.js';

describe('command sender through the broker as the MQTT admin', () => {
  let db: Database;
  let broker: RunningBroker;
  let sender: Awaited<ReturnType<typeof connectCommandSender>>;

  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    await ensureTenant(db, 'acme', 'Acme');
    broker = await startBroker({ mqttPort: 0, policy: tenantPolicy({ db, adminPassword: 'admin-secret' }) });
    sender = await connectCommandSender({ brokerUrl: broker.mqttUrl, adminPassword: 'admin-secret' });
  });

  afterAll(async () => {
    await sender?.close();
    await broker?.close();
    await db?.close();
  });

  it.each([5, 4] as const)(
    'delivers a command to an MQTT %s device, with the v5 properties only over 5',
    async (version) => {
      const deviceId = `pi-v${version}`;
      const { login } = await provisionDevice(db, { tenantId: 'acme', deviceId, vehicle: { name: deviceId } });
      const device = await mqtt.connectAsync(broker.mqttUrl, {
        clientId: login.username,
        ...login,
        protocolVersion: version,
        reconnectPeriod: 0,
      });
      try {
        const got = new Promise<{ topic: string; properties: mqtt.IPublishPacket['properties'] }>((resolve) =>
          device.on('message', (topic, _payload, packet) => resolve({ topic, properties: packet.properties })),
        );
        await device.subscribeAsync(`clutch/v1/acme/${deviceId}/cmd/+`, { qos: 1 });
        const expiresAt = Date.now() + 30_000;
        await sender!.sender.send(
          { tenantId: 'acme', deviceId },
          { v: 1, id: `cmd-${version}`, type: 'read_dtcs', params: {}, expiresAt },
        );
        const { topic, properties } = await got;
        expect(topic).toBe(`clutch/v1/acme/${deviceId}/cmd/cmd-${version}`);
        if (version === 4) {
          expect(properties).toBeUndefined();
          return;
        }
        expect(properties).toMatchObject({
          responseTopic: `clutch/v1/acme/${deviceId}/cmd/cmd-5/result`,
          correlationData: Buffer.from('cmd-5'),
          contentType: 'application/json',
          payloadFormatIndicator: true,
        });
        expect(properties!.messageExpiryInterval).toBeGreaterThanOrEqual(29);
        expect(properties!.messageExpiryInterval).toBeLessThanOrEqual(30);
      } finally {
        await device.endAsync();
      }
    },
  );
});
