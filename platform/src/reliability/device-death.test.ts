// A device dies without DISCONNECT (power cut, lost cellular): its Last Will must still reach ingest.
// With the durable hand-off ingest no longer subscribes on the broker; aedes authorises a will before
// publishing it, so the will takes the same path as a PUBLISH (broker.ts authorizePublish).
import { startBroker } from '@clutch/broker';
import { handoffSource } from '@clutch/ingest';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerSide, waitUntil, type ServerSide } from './harness.js';

describe('device dies without a DISCONNECT', () => {
  let server: ServerSide;
  beforeAll(async () => {
    server = await startServerSide('rel', 'will-car');
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  const online = async (): Promise<boolean | null> =>
    (
      await server.db.query<{ online: boolean | null }>(
        `SELECT online FROM devices WHERE tenant_id = 'rel' AND id = 'will-car'`,
      )
    ).rows[0]?.online ?? null;

  it('regression 12.7: its Last Will still marks it offline through the hand-off', async () => {
    const status = 'clutch/v1/rel/will-car/status';
    const client = await mqtt.connectAsync(server.mqttUrl, {
      clientId: 'will-car-conn',
      reconnectPeriod: 0,
      will: { topic: status, payload: Buffer.from(JSON.stringify({ v: 1, state: 'offline' })), qos: 1, retain: true },
    });
    // The PUBACK of a status comes only once ingest committed it.
    await client.publishAsync(status, JSON.stringify({ v: 1, state: 'online', t: Date.now() }), {
      qos: 1,
      retain: true,
    });
    expect(await online()).toBe(true);
    client.stream.destroy(); // no DISCONNECT: the broker publishes the will [MQTT-3.1.2-8]
    await waitUntil(async () => (await online()) === false, 'the will to mark the device offline', 10_000);
    client.end(true);
  });

  it('regression 12.7: acknowledges a telemetry batch only once it is stored', async () => {
    const client = await mqtt.connectAsync(server.mqttUrl, { clientId: 'ack-conn', reconnectPeriod: 0 });
    const t0 = Date.now() - 30_000;
    await client.publishAsync(
      'clutch/v1/rel/will-car/telemetry',
      JSON.stringify({ v: 1, seq: 1, t0, samples: [[0, 'engine.rpm', 901]] }),
      { qos: 1 },
    );
    expect(await server.storedSamples()).toContain(`engine.rpm@${t0}`); // read right after the PUBACK
    await client.endAsync();
  });
});

describe('ingest not taking messages', () => {
  it('closes the connection without PUBACK, so the device keeps the batch [MQTT-4.4.0-1]', async () => {
    const source = handoffSource(); // never started: every hand-off is refused
    const broker = await startBroker({ mqttPort: 0, durableHandoff: source });
    try {
      const client = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'refused-conn', reconnectPeriod: 0 });
      client.on('error', () => {});
      let acked = false;
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      void client
        .publishAsync(
          'clutch/v1/rel/x/telemetry',
          JSON.stringify({ v: 1, seq: 1, t0: Date.now(), samples: [[0, 'engine.rpm', 1]] }),
          { qos: 1 },
        )
        .then(
          () => (acked = true),
          () => {},
        );
      await closed;
      expect(acked).toBe(false);
      client.end(true);
    } finally {
      await broker.close();
    }
  });
});
