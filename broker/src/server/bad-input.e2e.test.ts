import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { developmentPolicy } from '../policy/policy.js';
import { connackFrame, connectFrame, openRaw, publishFrame } from '../testing/raw-mqtt.js';
import { DEFAULT_MAX_CLIENT_ID_LENGTH, startBroker, type RunningBroker } from './broker.js';

// Raw sockets send what no MQTT library would; after each case a well-behaved MQTT.js client on the
// same broker must still publish and receive. CONNACK bytes are those of MQTT 3.1.1 §3.2.2.3.
describe('bad input never crashes the broker', () => {
  const CONNECT_TIMEOUT_MS = 300;
  let broker: RunningBroker;
  let watcher: mqtt.MqttClient;
  const seen: string[] = [];
  let round = 0;

  beforeAll(async () => {
    broker = await startBroker({ mqttPort: 0, policy: developmentPolicy(), connectTimeoutMs: CONNECT_TIMEOUT_MS });
    watcher = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'watcher' });
    await watcher.subscribeAsync('probe/#', { qos: 1 });
    watcher.on('message', (topic) => seen.push(topic));
  });
  afterAll(async () => {
    await watcher?.endAsync();
    await broker?.close();
  });

  afterEach(async () => {
    const topic = `probe/after-${++round}`;
    const client = await mqtt.connectAsync(broker.mqttUrl, { clientId: `well-behaved-${round}`, reconnectPeriod: 0 });
    try {
      await client.publishAsync(topic, 'still here', { qos: 1 });
      await expect.poll(() => seen).toContain(topic);
    } finally {
      await client.endAsync();
    }
  });

  it.each([
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: broker\r\n\r\n')],
    [
      'a TLS ClientHello on the plaintext port',
      Buffer.from('160301' + '00a5' + '01' + '0000a1' + '0303' + '00'.repeat(32), 'hex'),
    ],
    ['a reserved packet type (0)', Buffer.from([0x00, 0x00])],
    ['random bytes', Buffer.from('deadbeefcafebabe0badf00d'.repeat(4), 'hex')],
  ])('closes a connection that sends %s instead of CONNECT, answering nothing', async (_name, garbage) => {
    const raw = await openRaw(broker.mqttPort);
    raw.send(garbage);
    expect((await raw.closed).length).toBe(0);
  });

  it.each([2, 6, 7, 0x86])(
    'answers a CONNECT with protocol level %i with CONNACK 0x01 and closes [MQTT-3.1.2-2]',
    async (level) => {
      const raw = await openRaw(broker.mqttPort);
      raw.send(connectFrame({ clientId: `level-${level}`, level }));
      expect(await raw.closed).toEqual(connackFrame(0x01));
    },
  );

  it('accepts MQTT 3.1 (protocol name MQIsdp, level 3)', async () => {
    const raw = await openRaw(broker.mqttPort);
    raw.send(connectFrame({ clientId: 'old-timer', protocolName: 'MQIsdp', level: 3 }));
    expect(await raw.receivedAtLeast(4)).toEqual(connackFrame(0x00));
    raw.destroy();
  });

  it('disconnects a client that sends a second CONNECT on the same connection [MQTT-3.1.0-2]', async () => {
    const raw = await openRaw(broker.mqttPort);
    raw.send(connectFrame({ clientId: 'twice' }));
    expect(await raw.receivedAtLeast(4)).toEqual(connackFrame(0x00));
    raw.send(connectFrame({ clientId: 'twice' }));
    expect(await raw.closed).toEqual(connackFrame(0x00)); // no second CONNACK
  });

  it('closes a connection whose first packet is a PUBLISH, and delivers nothing of it [MQTT-3.1.0-1]', async () => {
    const raw = await openRaw(broker.mqttPort);
    raw.send(publishFrame('probe/sneaky', 'before connect', 1));
    expect((await raw.closed).length).toBe(0);
    expect(seen).not.toContain('probe/sneaky');
  });

  it.each([
    ['before CONNECT', false],
    ['in a session', true],
  ])(
    'closes a connection that sends a remaining length of more than 4 bytes %s [MQTT-2.2.3]',
    async (_when, connected) => {
      const raw = await openRaw(broker.mqttPort);
      if (connected) {
        raw.send(connectFrame({ clientId: 'long-length' }));
        await raw.receivedAtLeast(4);
      }
      raw.send(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
      expect(await raw.closed).toEqual(connected ? connackFrame(0x00) : Buffer.alloc(0));
    },
  );

  it('closes a connection that never sends CONNECT after the connect timeout', async () => {
    const started = performance.now();
    const raw = await openRaw(broker.mqttPort);
    expect((await raw.closed).length).toBe(0);
    expect(performance.now() - started).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 50);
  });

  it('closes a connection that stops in the middle of its CONNECT after the connect timeout', async () => {
    const raw = await openRaw(broker.mqttPort);
    raw.send(connectFrame({ clientId: 'half' }).subarray(0, 5));
    expect((await raw.closed).length).toBe(0);
  });

  it('answers a client id longer than the limit with CONNACK 0x02 and closes [MQTT-3.1.3-9]', async () => {
    const raw = await openRaw(broker.mqttPort);
    raw.send(connectFrame({ clientId: 'x'.repeat(DEFAULT_MAX_CLIENT_ID_LENGTH + 1) }));
    expect(await raw.closed).toEqual(connackFrame(0x02));

    const atLimit = await openRaw(broker.mqttPort);
    atLimit.send(connectFrame({ clientId: 'y'.repeat(DEFAULT_MAX_CLIENT_ID_LENGTH) }));
    expect(await atLimit.receivedAtLeast(4)).toEqual(connackFrame(0x00));
    atLimit.destroy();
  });
});
