import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../index.js';

// aedes writes a delivery to a clean session as soon as it is routed, while a persistent session's
// QoS 1 deliveries still pass through the persistence first (scripts/patches, b2). Whatever path a
// message takes, each subscriber sees one publisher's messages of one topic and QoS in the order
// they were published ([MQTT-4.6.0-5], [MQTT-4.6.0-6]).
describe('delivery order', () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker({ mqttPort: 0 });
  });
  afterAll(async () => {
    await broker?.close();
  });

  function collect(client: MqttClient, expected: number): Promise<string[]> {
    const got: string[] = [];
    return new Promise((resolve) => {
      client.on('message', (topic, payload) => {
        got.push(`${topic}:${payload.toString()}`);
        if (got.length === expected) resolve(got);
      });
    });
  }

  /** The sequence numbers of one topic and QoS, in the order received; payloads are `topic:qos:i`. */
  const sequence = (messages: string[], topic: string, qos: number): number[] =>
    messages.filter((m) => m.startsWith(`${topic}:${qos}:`)).map((m) => Number(m.split(':')[2]));

  it('keeps each QoS in publish order for a clean and a persistent subscriber', async () => {
    const count = 400;
    const clean = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'order-clean', clean: true });
    const persistent = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'order-persistent', clean: false });
    const publisher = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'order-pub' });
    try {
      await clean.subscribeAsync('order/#', { qos: 1 });
      await persistent.subscribeAsync('order/#', { qos: 1 });
      const atClean = collect(clean, count);
      const atPersistent = collect(persistent, count);
      // QoS 0 and QoS 1 alternating on two topics, all in flight at once.
      const sent: Promise<unknown>[] = [];
      const expected = new Map<string, number[]>();
      for (let i = 0; i < count; i++) {
        const qos = (i % 2) as 0 | 1;
        const topic = `order/${i % 4 < 2 ? 'a' : 'b'}`;
        expected.set(`${topic}:${qos}`, [...(expected.get(`${topic}:${qos}`) ?? []), i]);
        sent.push(publisher.publishAsync(topic, `${qos}:${i}`, { qos }));
      }
      await Promise.all(sent);
      expect(expected.size).toBe(4);
      for (const messages of await Promise.all([atClean, atPersistent])) {
        for (const [group, numbers] of expected) {
          const [topic, qos] = group.split(':');
          expect(sequence(messages, topic!, Number(qos))).toEqual(numbers);
        }
      }
    } finally {
      await Promise.all([clean.endAsync(), persistent.endAsync(), publisher.endAsync()]);
    }
  });
});
