import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../index.js';

describe('broker transports', () => {
  let broker: RunningBroker;

  beforeAll(async () => {
    broker = await startBroker({ mqttPort: 0, wsPort: 0 });
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('delivers a QoS 1 publish from a TCP client to a WebSocket subscriber', async () => {
    const subscriber = await mqtt.connectAsync(broker.wsUrl!, { clientId: 'ws-sub' });
    const publisher = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'tcp-pub', protocolVersion: 4 });
    try {
      await subscriber.subscribeAsync('clutch/v1/acme/car-1/telemetry', { qos: 1 });
      const received = new Promise<string>((resolve) => subscriber.on('message', (_topic, payload) => resolve(payload.toString())));
      await publisher.publishAsync('clutch/v1/acme/car-1/telemetry', '{"hello":1}', { qos: 1 });
      expect(await received).toBe('{"hello":1}');
    } finally {
      await Promise.all([subscriber.endAsync(), publisher.endAsync()]);
    }
  });

  it('answers an MQTT 5 CONNECT with "unacceptable protocol version" (aedes speaks 3.1 and 3.1.1)', async () => {
    await expect(
      mqtt.connectAsync(broker.mqttUrl, { clientId: 'v5-client', protocolVersion: 5, reconnectPeriod: 0 }),
    ).rejects.toThrow(/Unacceptable protocol version/);
  });

  it('disconnects a client that publishes into the broker-reserved $SYS tree and keeps serving the others', async () => {
    const spoofer = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'sys-spoofer', reconnectPeriod: 0 });
    const watcher = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'sys-watcher' });
    const other = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'well-behaved' });
    try {
      const seen: string[] = [];
      watcher.on('message', (topic) => seen.push(topic));
      await watcher.subscribeAsync(['$SYS/fake', 'ok/topic'], { qos: 1 });
      const closed = new Promise<void>((resolve) => spoofer.once('close', () => resolve()));
      spoofer.publish('$SYS/fake', 'x', { qos: 1 });
      await closed; // [MQTT-3.3.5-2] a 3.1.1 server may only close the connection on a refused PUBLISH
      await other.publishAsync('ok/topic', 'y', { qos: 1 });
      await expect.poll(() => seen).toEqual(['ok/topic']);
    } finally {
      await Promise.all([spoofer.endAsync(true), watcher.endAsync(), other.endAsync()]);
    }
  });
});
