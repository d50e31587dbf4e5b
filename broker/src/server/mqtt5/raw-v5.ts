// A raw MQTT 5 connection for tests: frames encoded and decoded with mqtt-packet (the codec, not a
// client), so a test can hold acknowledgements back or send several packets in one write, which no
// client library does on request. Only imported by tests.
import { connect as netConnect } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

const V5 = { protocolVersion: 5 };

export interface RawV5 {
  /** Every packet received so far, in order. */
  readonly packets: Packet[];
  send(packet: Packet): void;
  /** Several packets in one write (one TCP segment on loopback). */
  sendTogether(packets: Packet[]): void;
  connect(options: {
    clientId: string;
    username?: string;
    password?: string;
    properties?: Record<string, unknown>;
  }): Promise<Packet>;
  subscribe(messageId: number, topic: string, qos: 0 | 1 | 2): Promise<Packet>;
  /** Resolves once `done(packets)` holds. */
  until(done: (packets: Packet[]) => boolean): Promise<void>;
  closed: Promise<void>;
  destroy(): void;
}

export function openRawV5(port: number, host = '127.0.0.1'): Promise<RawV5> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host });
    const parser = mqttPacket.parser(V5);
    const packets: Packet[] = [];
    const waiters: Array<{ done: (p: Packet[]) => boolean; resolve: () => void }> = [];
    const check = (): void => {
      for (const w of waiters.filter((w) => w.done(packets))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    };
    parser.on('packet', (packet: Packet) => {
      packets.push(packet);
      check();
    });
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', () => {});
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    const until = (done: (p: Packet[]) => boolean): Promise<void> =>
      done(packets) ? Promise.resolve() : new Promise((r) => waiters.push({ done, resolve: r }));
    const next = async (cmd: string, from: number): Promise<Packet> => {
      await until((p) => p.slice(from).some((x) => x.cmd === cmd));
      return packets.slice(from).find((x) => x.cmd === cmd)!;
    };
    const raw: RawV5 = {
      packets,
      send: (packet) => socket.write(mqttPacket.generate(packet, V5)),
      sendTogether: (list) => socket.write(Buffer.concat(list.map((p) => mqttPacket.generate(p, V5)))),
      async connect({ clientId, username, password, properties }) {
        const from = packets.length;
        raw.send({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 5,
          clean: true,
          clientId,
          keepalive: 60,
          ...(username !== undefined ? { username } : {}),
          ...(password !== undefined ? { password: Buffer.from(password) } : {}),
          ...(properties ? { properties } : {}),
        } as Packet);
        return next('connack', from);
      },
      async subscribe(messageId, topic, qos) {
        const from = packets.length;
        raw.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] } as Packet);
        return next('suback', from);
      },
      until,
      closed,
      destroy: () => socket.destroy(),
    };
    socket.once('connect', () => resolve(raw));
    socket.once('error', reject);
  });
}
