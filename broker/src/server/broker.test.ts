import mqtt from 'mqtt';
import { WebSocket } from 'ws';
import { connectFrame } from '../testing/raw-mqtt.js';
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
      const received = new Promise<string>((resolve) =>
        subscriber.on('message', (_topic, payload) => resolve(payload.toString())),
      );
      await publisher.publishAsync('clutch/v1/acme/car-1/telemetry', '{"hello":1}', { qos: 1 });
      expect(await received).toBe('{"hello":1}');
    } finally {
      await Promise.all([subscriber.endAsync(), publisher.endAsync()]);
    }
  });

  it('accepts an MQTT 5 CONNECT and answers with an MQTT 5 CONNACK', async () => {
    const client = await mqtt.connectAsync(broker.mqttUrl, {
      clientId: 'v5-client',
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    try {
      expect(client.options.protocolVersion).toBe(5);
      await client.subscribeAsync('v5/echo', { qos: 1 });
      const received = new Promise<string>((resolve) =>
        client.on('message', (_t, payload) => resolve(payload.toString())),
      );
      await client.publishAsync('v5/echo', 'hi', { qos: 1 });
      expect(await received).toBe('hi');
    } finally {
      await client.endAsync();
    }
  });

  it('disconnects a client that publishes into the broker-reserved $SYS tree and keeps serving the others', async () => {
    const spoofer = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'sys-spoofer', reconnectPeriod: 0 });
    const other = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'well-behaved' });
    const seen: string[] = [];
    const record = (packet: { topic: string }, cb: () => void): void => {
      seen.push(packet.topic);
      cb();
    };
    await new Promise<void>((resolve) => broker.aedes.subscribe('$SYS/fake', record, resolve));
    await new Promise<void>((resolve) => broker.aedes.subscribe('ok/topic', record, resolve));
    try {
      const closed = new Promise<void>((resolve) => spoofer.once('close', () => resolve()));
      spoofer.publish('$SYS/fake', 'x', { qos: 1 });
      await closed; // [MQTT-3.3.5-2] a 3.1.1 server may only close the connection on a refused PUBLISH
      await other.publishAsync('ok/topic', 'y', { qos: 1 });
      await expect.poll(() => seen).toEqual(['ok/topic']);
    } finally {
      await Promise.all([spoofer.endAsync(true), other.endAsync()]);
    }
  });

  it('ends a connection whose packet announces more than the size limit, before buffering it', async () => {
    const small = await startBroker({ mqttPort: 0, maxPacketBytes: 1024 });
    const client = await mqtt.connectAsync(small.mqttUrl, { clientId: 'big-sender', reconnectPeriod: 0 });
    const other = await mqtt.connectAsync(small.mqttUrl, { clientId: 'fine' });
    try {
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.publish('some/topic', Buffer.alloc(4096), { qos: 0 });
      await closed;
      await other.publishAsync('some/topic', Buffer.alloc(512), { qos: 1 });
    } finally {
      await Promise.all([client.endAsync(true), other.endAsync()]);
      await small.close();
    }
  });

  it('applies the TCP byte-level checks to MQTT over WebSocket: an unsupported protocol level gets CONNACK 0x01', async () => {
    const ws = new WebSocket(broker.wsUrl!, 'mqtt');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const answered = new Promise<Buffer>((resolve) => ws.once('message', (data: Buffer) => resolve(Buffer.from(data))));
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.send(connectFrame({ clientId: 'future-client', level: 6 }));
    expect([...(await answered)]).toEqual([0x20, 0x02, 0x00, 0x01]);
    await closed;
  });
});
