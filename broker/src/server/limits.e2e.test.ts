import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, developmentPolicy } from '../policy/policy.js';
import { connackFrame, connectFrame, openRaw, publishFrame } from '../testing/raw-mqtt.js';
import { startBroker, type RunningBroker } from './broker.js';

describe('connect storm', () => {
  let broker: RunningBroker;

  beforeAll(async () => {
    broker = await startBroker({
      mqttPort: 0,
      policy: developmentPolicy({ ...DEFAULT_LIMITS, connectRatePerSecond: 2, connectBurst: 3 }),
    });
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('answers connections beyond the connect rate with CONNACK 0x03 (server unavailable) while admitted ones work', async () => {
    const raws = await Promise.all(Array.from({ length: 6 }, () => openRaw(broker.mqttPort)));
    raws.forEach((raw, i) => raw.send(connectFrame({ clientId: `storm-${i}` })));
    const connacks = await Promise.all(raws.map((raw) => raw.receivedAtLeast(4)));
    const codes = connacks.map((bytes) => bytes.subarray(0, 4));
    expect(codes.filter((c) => c.equals(connackFrame(0x00)))).toHaveLength(3);
    expect(codes.filter((c) => c.equals(connackFrame(0x03)))).toHaveLength(3);

    const refused = raws.filter((_raw, i) => codes[i]!.equals(connackFrame(0x03)));
    for (const raw of refused) expect(await raw.closed).toEqual(connackFrame(0x03)); // [MQTT-3.2.2-5]

    const admitted = raws.filter((_raw, i) => codes[i]!.equals(connackFrame(0x00)));
    for (const [i, raw] of admitted.entries()) {
      raw.send(publishFrame('storm/ok', 'x', i + 1));
      // PUBACK for our packet id. [MQTT-3.3.4-1]
      expect((await raw.receivedAtLeast(8)).subarray(4, 8)).toEqual(Buffer.from([0x40, 0x02, 0x00, i + 1]));
      raw.destroy();
    }

    // The refusal is temporary: once a token is earned again a client gets in.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const later = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'after-the-storm', reconnectPeriod: 0 });
    await later.endAsync();
  });
});

describe('publish rate', () => {
  let broker: RunningBroker;
  const RATE = 20;
  const BURST = 5;

  beforeAll(async () => {
    const limits = { ...DEFAULT_LIMITS, publishRatePerSecond: RATE, publishBurst: BURST, maxPublishDelayMs: 1000 };
    broker = await startBroker({ mqttPort: 0, policy: developmentPolicy(limits) });
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('delays the PUBACKs of a publisher over its rate instead of disconnecting it', async () => {
    const client = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'eager', reconnectPeriod: 0 });
    let closed = false;
    client.on('close', () => (closed = true));
    const started = performance.now();
    const ackedAfter = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        client.publishAsync('rate/eager', String(i), { qos: 1 }).then(() => performance.now() - started),
      ),
    );
    ackedAfter.sort((a, b) => a - b);
    // 10 over the burst at 20/s: the last PUBACK comes about 500 ms after the burst's.
    expect(ackedAfter.at(-1)! - ackedAfter[BURST - 1]!).toBeGreaterThanOrEqual(((15 - BURST) / RATE) * 1000 - 80);
    expect(closed).toBe(false);
    await client.publishAsync('rate/eager', 'still connected', { qos: 1 });
    await client.endAsync();
  });

  it('disconnects a publisher so far over its rate that its PUBACK would wait beyond maxPublishDelayMs', async () => {
    const client = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'flooder', reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    let acked = 0;
    // 5 burst + 20 earned within 1 s: the 26th PUBLISH is over the limit.
    for (let i = 0; i < 40; i++)
      client.publishAsync('rate/flood', String(i), { qos: 1 }).then(
        () => acked++,
        () => {},
      );
    await closed;
    expect(acked).toBeLessThan(40);
    await client.endAsync(true);

    const other = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'polite', reconnectPeriod: 0 });
    await other.publishAsync('rate/polite', 'fine', { qos: 1 });
    await other.endAsync();
  });
});
