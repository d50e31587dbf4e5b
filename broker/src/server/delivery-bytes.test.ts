import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../index.js';
import { connackFrame, connectFrame, openRaw, publishFrame, subscribeFrame } from '../testing/raw-mqtt.js';

// aedes serialises a 3.1.1 PUBLISH and PUBACK in one buffer of its own (scripts/patches, b3) instead
// of through mqtt-packet. What a subscriber and a publisher receive must be the bytes §3.3 and §3.4
// define, byte for byte: frames built here by hand, for topics and payloads whose lengths take one to
// three bytes of Remaining Length ([MQTT-2.2.3]) and a topic that is not ASCII ([MQTT-1.5.3]).
describe('delivered bytes (MQTT 3.1.1)', () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker({ mqttPort: 0 });
  });
  afterAll(async () => {
    await broker?.close();
  });

  const messages = [
    { topic: 'bytes/a', payload: Buffer.alloc(0), qos: 0 },
    { topic: 'bytes/ünïcode/車', payload: Buffer.from('grüße'), qos: 0 },
    { topic: 'bytes/b', payload: Buffer.alloc(200, 7), qos: 1 },
    { topic: 'bytes/c', payload: Buffer.from(Array.from({ length: 20_000 }, (_, i) => i % 251)), qos: 1 },
    { topic: 'bytes/d', payload: Buffer.from([0, 255, 0x30, 0x40]), qos: 0 },
  ] as const;

  it('a QoS 1 and a QoS 0 subscriber get each PUBLISH as §3.3 frames it, the publisher its PUBACKs', async () => {
    const at1 = await openRaw(broker.mqttPort);
    const at0 = await openRaw(broker.mqttPort);
    const publisher = await openRaw(broker.mqttPort);
    try {
      const suback = (qos: number): Buffer => Buffer.from([0x90, 0x03, 0x00, 0x01, qos]);
      at1.send(Buffer.concat([connectFrame({ clientId: 'bytes-1' }), subscribeFrame(1, ['bytes/#'], 1)]));
      at0.send(Buffer.concat([connectFrame({ clientId: 'bytes-0' }), subscribeFrame(1, ['bytes/#'], 0)]));
      const subscribed = Buffer.concat([connackFrame(0), suback(1)]).length;
      expect(await at1.receivedAtLeast(subscribed)).toEqual(Buffer.concat([connackFrame(0), suback(1)]));
      expect(await at0.receivedAtLeast(subscribed)).toEqual(Buffer.concat([connackFrame(0), suback(0)]));

      publisher.send(connectFrame({ clientId: 'bytes-pub' }));
      await publisher.receivedAtLeast(4);
      // One message at a time: a QoS 1 PUBLISH is routed a turn after its PUBACK, so a QoS 0 one
      // sent right behind it may overtake it (another topic: no order is owed between them).
      let at1Bytes = subscribed;
      let at0Bytes = subscribed;
      let acks = Buffer.from(connackFrame(0));
      let publisherId = 100;
      for (const m of messages) {
        const id = m.qos === 1 ? publisherId++ : undefined;
        publisher.send(publishFrame(m.topic, m.payload, id));
        // The broker numbers its own deliveries to the QoS 1 subscriber: read its packet id.
        const qos0Frame = publishFrame(m.topic, m.payload);
        let qos1Frame = qos0Frame;
        if (m.qos === 1) {
          const head = await at1.receivedAtLeast(at1Bytes + qos0Frame.length + 2);
          const idAt = at1Bytes + qos0Frame.length - m.payload.length;
          qos1Frame = publishFrame(m.topic, m.payload, head.readUInt16BE(idAt));
          acks = Buffer.concat([acks, Buffer.from([0x40, 0x02, id! >> 8, id! & 0xff])]);
        }
        const got1 = await at1.receivedAtLeast(at1Bytes + qos1Frame.length);
        expect(got1.subarray(at1Bytes).toString('hex')).toBe(qos1Frame.toString('hex'));
        at1Bytes += qos1Frame.length;
        const got0 = await at0.receivedAtLeast(at0Bytes + qos0Frame.length);
        expect(got0.subarray(at0Bytes).toString('hex')).toBe(qos0Frame.toString('hex'));
        at0Bytes += qos0Frame.length;
      }
      expect((await publisher.receivedAtLeast(acks.length)).toString('hex')).toBe(acks.toString('hex'));
    } finally {
      at1.destroy();
      at0.destroy();
      publisher.destroy();
    }
  });
});
