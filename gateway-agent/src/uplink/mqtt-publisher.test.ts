// The MQTT 5 uplink against a broker that speaks only 3.1.1 (older Clutch brokers, Mosquitto 1.x): it must
// fall back rather than retry a refused MQTT 5 CONNECT for ever.
import net from 'node:net';
import { Aedes } from 'aedes';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttPublisher } from './mqtt-publisher.js';

/** CONNACK, 3.1.1 form, return code 0x01 unacceptable protocol level [MQTT-3.2.2-5]. */
const REFUSE_LEVEL = Buffer.from([0x20, 0x02, 0x00, 0x01]);

describe('MQTT 5 uplink against a 3.1.1-only broker', () => {
  let broker: Aedes;
  let server: net.Server;
  let url: string;
  const levels: number[] = [];

  beforeAll(async () => {
    broker = await Aedes.createBroker();
    // In front of aedes: read the CONNECT's protocol level and refuse 5 as a 3.1.1 broker does.
    server = net.createServer((socket) => {
      socket.once('data', (first: Buffer) => {
        const nameLength = first.readUInt16BE(2); // fixed header of 2 bytes: CONNECTs here are short
        const level = first[4 + nameLength]!;
        levels.push(level);
        if (level === 5) {
          socket.end(REFUSE_LEVEL);
          return;
        }
        socket.pause();
        socket.unshift(first);
        broker.handle(socket);
        socket.resume();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  });

  it('reconnects with 3.1.1 and answers commands on the conventional result topic', async () => {
    const publisher = MqttPublisher.create({
      url,
      tenant: 'acme',
      device: 'car-old',
      protocolVersion: 5,
      reconnectMs: 50,
      logger: pino({ level: 'silent' }),
    });
    const observer = await connectAsync(url, { clientId: 'observer' });
    try {
      await publisher.waitConnected(10_000);
      expect(levels.slice(0, 2)).toEqual(expect.arrayContaining([5]));
      expect(levels).toContain(4);
      const got = new Promise<string>((resolve) => observer.on('message', (topic) => resolve(topic)));
      await observer.subscribeAsync('clutch/v1/acme/car-old/cmd/+/result', { qos: 1 });
      await publisher.publishCommandResult('c1', '{"v":1,"id":"c1","ok":true}', {
        responseTopic: 'clutch/v1/acme/car-old/cmd/c1/result',
        correlationData: Buffer.from('c1'),
      });
      expect(await got).toBe('clutch/v1/acme/car-old/cmd/c1/result');
    } finally {
      await observer.endAsync();
      await publisher.close();
    }
  });
});
