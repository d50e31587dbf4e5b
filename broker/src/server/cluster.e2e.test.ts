import { startRedisServer, type RedisServer } from '@clutch/test-support';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from './broker.js';

// Two broker processes' worth of aedes sharing one real redis-server (DESIGN.md §10).
describe('brokers clustered on Redis', () => {
  let redis: RedisServer;
  let brokerA: RunningBroker;
  let brokerB: RunningBroker;

  beforeAll(async () => {
    redis = await startRedisServer();
    brokerA = await startBroker({ mqttPort: 0, redisUrl: redis.url });
    brokerB = await startBroker({ mqttPort: 0, redisUrl: redis.url });
  });
  afterAll(async () => {
    await brokerA?.close();
    await brokerB?.close();
    await redis?.stop();
  });

  it('delivers to a subscriber on one broker what is published on the other', async () => {
    const sub = await mqtt.connectAsync(brokerB.mqttUrl, { clientId: 'fleet-on-b' });
    const pub = await mqtt.connectAsync(brokerA.mqttUrl, { clientId: 'car-on-a' });
    try {
      await sub.subscribeAsync('clutch/v1/acme/+/telemetry', { qos: 1 });
      const got = new Promise<string>((resolve) => sub.on('message', (_t, payload) => resolve(payload.toString())));
      await pub.publishAsync('clutch/v1/acme/car-1/telemetry', 'across', { qos: 1 });
      expect(await got).toBe('across');
    } finally {
      await Promise.all([sub.endAsync(), pub.endAsync()]);
    }
  });

  it('keeps QoS 1 messages for an offline persistent session across a broker restart', async () => {
    const clientId = 'fleet-persistent';
    const first = await mqtt.connectAsync(brokerB.mqttUrl, { clientId, clean: false });
    await first.subscribeAsync('clutch/v1/acme/+/status', { qos: 1 });
    await first.endAsync();

    const pub = await mqtt.connectAsync(brokerA.mqttUrl, { clientId: 'car-2' });
    await pub.publishAsync('clutch/v1/acme/car-2/status', 'while you were away', { qos: 1 });
    await pub.endAsync();

    // Restart the broker the subscriber used: its queue lives in Redis, not in the process.
    await brokerB.close();
    brokerB = await startBroker({ mqttPort: 0, redisUrl: redis.url });

    const received: string[] = [];
    // Listen before CONNACK: the queued message follows it immediately.
    const again = mqtt.connect(brokerB.mqttUrl, { clientId, clean: false });
    again.on('message', (_t, payload) => received.push(payload.toString()));
    try {
      await expect.poll(() => received, { timeout: 5000 }).toEqual(['while you were away']);
    } finally {
      await again.endAsync();
    }
  });
});
