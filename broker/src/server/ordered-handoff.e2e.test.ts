import mqtt, { type MqttClient, type Packet } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type DurableHandoff, type RunningBroker } from './broker.js';
import { openRawV5 } from './mqtt5/raw-v5.js';

/** A store that holds every hand-off until the test says it is durable. */
function holdingStore(): DurableHandoff & {
  held: { payload: string; stored: () => void; failed: (err: Error) => void }[];
} {
  const held: { payload: string; stored: () => void; failed: (err: Error) => void }[] = [];
  return {
    held,
    takes: (topic) => topic.startsWith('stored/'),
    handoff(packet, onAccepted) {
      return new Promise<void>((stored, failed) => {
        held.push({ payload: String(packet.payload), stored, failed });
        onAccepted?.();
      });
    },
  };
}

async function until(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** PUBACK message ids as the client receives them. */
function pubacksOf(client: MqttClient): number[] {
  const ids: number[] = [];
  client.on('packetreceive', (packet: Packet) => {
    if (packet.cmd === 'puback' && packet.messageId !== undefined) ids.push(packet.messageId);
  });
  return ids;
}

let broker: RunningBroker | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await broker?.close();
  broker = undefined;
});

async function connect(clientId: string, protocolVersion: 4 | 5): Promise<MqttClient> {
  const client = await mqtt.connectAsync(broker!.mqttUrl, { clientId, protocolVersion, reconnectPeriod: 0 });
  clients.push(client);
  return client;
}

describe('durable hand-off with reading ahead', () => {
  for (const protocolVersion of [4, 5] as const) {
    it(`reads a client's next PUBLISH while earlier ones wait to be stored, and answers them in arrival order (MQTT ${protocolVersion === 4 ? '3.1.1' : '5'}) [MQTT-4.6.0-2] [MQTT-4.6.0-6]`, async () => {
      const store = holdingStore();
      broker = await startBroker({ mqttPort: 0, durableHandoff: store });
      const subscriber = await connect(`reader-${protocolVersion}`, protocolVersion);
      const delivered: string[] = [];
      subscriber.on('message', (_topic, payload) => delivered.push(String(payload)));
      await subscriber.subscribeAsync('stored/#', { qos: 1 });
      const device = await connect(`device-${protocolVersion}`, protocolVersion);
      const acks = pubacksOf(device);
      const sent: Promise<unknown>[] = [];
      // One PUBLISH per socket read: each is sent only once the store has the previous one, none
      // of which is stored yet. Without reading ahead the broker would not read the second.
      for (let n = 1; n <= 5; n++) {
        sent.push(device.publishAsync('stored/readings', `m${n}`, { qos: 1 }));
        await until(() => store.held.length === n, `hand-off ${n}`);
      }
      expect(acks).toEqual([]);
      // Durable last-first (they went into different transactions): answered first-first all the same.
      for (const h of [...store.held].reverse()) h.stored();
      await Promise.all(sent);
      expect(acks).toEqual([...acks].sort((a, b) => a - b));
      expect(acks).toHaveLength(5);
      await until(() => delivered.length === 5, 'deliveries');
      expect(delivered).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    });
  }

  it('reads on after a burst of PUBLISH that arrived in one read, all of them held by the store', async () => {
    const store = holdingStore();
    broker = await startBroker({ mqttPort: 0, durableHandoff: store });
    const raw = await openRawV5(broker.mqttPort);
    await raw.connect({ clientId: 'burst' });
    const publish = (messageId: number) => ({
      cmd: 'publish' as const,
      topic: 'stored/readings',
      payload: Buffer.from(`m${messageId}`),
      qos: 1 as const,
      messageId,
      retain: false,
      dup: false,
    });
    raw.sendTogether([1, 2, 3].map(publish));
    await until(() => store.held.length === 3, 'the burst');
    // aedes reads a connection again only once every packet of the last read is done: here, held.
    raw.sendTogether([publish(4)]);
    await until(() => store.held.length === 4, 'the PUBLISH after the burst');
    expect(raw.packets.filter((p) => p.cmd === 'puback')).toEqual([]);
    for (const h of store.held) h.stored();
    await until(() => raw.packets.filter((p) => p.cmd === 'puback').length === 4, 'PUBACKs');
    expect(raw.packets.filter((p) => p.cmd === 'puback').map((p) => (p as { messageId: number }).messageId)).toEqual([
      1, 2, 3, 4,
    ]);
    raw.destroy();
  });

  it('answers a later PUBLISH even when an earlier hand-off failed (the client is then disconnected)', async () => {
    const store = holdingStore();
    broker = await startBroker({ mqttPort: 0, durableHandoff: store });
    const device = await connect('device-failing', 4);
    device.on('error', () => {});
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    void device.publishAsync('stored/readings', 'm1', { qos: 1 }).catch(() => undefined);
    await until(() => store.held.length === 1, 'first hand-off');
    void device.publishAsync('stored/readings', 'm2', { qos: 1 }).catch(() => undefined);
    await until(() => store.held.length === 2, 'second hand-off');
    store.held[1]!.stored();
    store.held[0]!.failed(new Error('database unavailable'));
    // [MQTT-3.3.5-2] no negative PUBACK in 3.1.1: the connection ends and m1 is sent again.
    await closed;
  });
});
