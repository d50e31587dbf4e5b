import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { connectFrame, encodeLength, publishFrame, subscribeFrame } from '../testing/raw-mqtt.js';

// Every packet the broker receives goes through mqtt-packet's parser, patched (scripts/patches, b4) to
// read a field straight from the first buffer of its list when the field lies inside it and through
// `bl` otherwise. A socket hands over packets cut anywhere, so the packets must come out the same
// whether a field lies in one chunk or across two: here every cut point of a stream of hand-built
// frames (3.1.1 and MQTT 5), and one byte at a time.

interface Seen {
  cmd: string;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  topic?: string | null;
  messageId?: number;
  payload?: string;
  clientId?: string;
  username?: string;
  password?: string;
  keepalive?: number;
  subscriptions?: unknown;
  properties?: unknown;
}

/** What the broker gets from a packet, with Buffers as hex so that a difference prints readably. */
function seen(packet: mqttPacket.Packet): Seen {
  const p = packet as mqttPacket.Packet & Record<string, unknown>;
  const out: Seen = { cmd: p.cmd };
  for (const key of ['qos', 'retain', 'dup', 'topic', 'messageId', 'clientId', 'username', 'keepalive'] as const) {
    if (p[key] !== undefined && p[key] !== null) (out as unknown as Record<string, unknown>)[key] = p[key];
  }
  if (Buffer.isBuffer(p.payload)) out.payload = p.payload.toString('hex');
  if (Buffer.isBuffer(p.password)) out.password = p.password.toString('hex');
  if (p.subscriptions !== undefined) out.subscriptions = p.subscriptions;
  if (p.properties !== undefined) out.properties = JSON.parse(JSON.stringify(p.properties)) as unknown;
  return out;
}

function parseIn(chunks: readonly Buffer[], protocolVersion = 4): { packets: Seen[]; errors: string[] } {
  const parser = mqttPacket.parser({ protocolVersion });
  const packets: Seen[] = [];
  const errors: string[] = [];
  parser.on('packet', (p) => packets.push(seen(p)));
  parser.on('error', (e: Error) => errors.push(e.message));
  for (const chunk of chunks) parser.parse(chunk);
  return { packets, errors };
}

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const str = (s: string): Buffer => Buffer.concat([u16(Buffer.byteLength(s)), Buffer.from(s, 'utf8')]);
const frame = (first: number, body: Buffer): Buffer =>
  Buffer.concat([Buffer.from([first]), encodeLength(body.length), body]);

const v311 = Buffer.concat([
  connectFrame({ clientId: 'parser-1', username: 'tenant/dev', password: 'sëcret', keepaliveSeconds: 300 }),
  subscribeFrame(7, ['cars/+/telemetry', 'cars/#'], 1),
  publishFrame('cars/ünïcode/車', 'grüße'),
  publishFrame('cars/x/telemetry', Buffer.alloc(200, 0xa5), 0x1234), // two bytes of Remaining Length
  frame(0x40, u16(0xbeef)), // PUBACK
  publishFrame('e', Buffer.alloc(0), 1),
  Buffer.from([0xc0, 0x00]), // PINGREQ
]);

const expected311: Seen[] = [
  {
    cmd: 'connect',
    qos: 0,
    retain: false,
    dup: false,
    clientId: 'parser-1',
    username: 'tenant/dev',
    password: Buffer.from('sëcret').toString('hex'),
    keepalive: 300,
  },
  {
    cmd: 'subscribe',
    qos: 1,
    retain: false,
    dup: false,
    messageId: 7,
    subscriptions: [
      { topic: 'cars/+/telemetry', qos: 1 },
      { topic: 'cars/#', qos: 1 },
    ],
  },
  {
    cmd: 'publish',
    qos: 0,
    retain: false,
    dup: false,
    topic: 'cars/ünïcode/車',
    payload: Buffer.from('grüße').toString('hex'),
  },
  {
    cmd: 'publish',
    qos: 1,
    retain: false,
    dup: false,
    topic: 'cars/x/telemetry',
    messageId: 0x1234,
    payload: 'a5'.repeat(200),
  },
  { cmd: 'puback', qos: 0, retain: false, dup: false, messageId: 0xbeef },
  { cmd: 'publish', qos: 1, retain: false, dup: false, topic: 'e', messageId: 1, payload: '' },
  { cmd: 'pingreq', qos: 0, retain: false, dup: false },
];

// MQTT 5 (§3.1.2.11, §3.3.2.3): a CONNECT with an empty property list, then a QoS 1 PUBLISH with a
// Topic Alias (0x23, two bytes) and a User Property (0x26, a string pair).
const v5 = Buffer.concat([
  frame(0x10, Buffer.concat([str('MQTT'), Buffer.from([5, 0x02]), u16(30), Buffer.from([0]), str('parser-5')])),
  frame(
    0x32,
    Buffer.concat([
      str('fleet/ü'),
      u16(513),
      Buffer.from([3 + 1 + 4 + 5, 0x23]),
      u16(9),
      Buffer.from([0x26]),
      str('ab'),
      str('cde'),
      Buffer.from('payload'),
    ]),
  ),
]);

const expected5: Seen[] = [
  { cmd: 'connect', qos: 0, retain: false, dup: false, clientId: 'parser-5', keepalive: 30 },
  {
    cmd: 'publish',
    qos: 1,
    retain: false,
    dup: false,
    topic: 'fleet/ü',
    messageId: 513,
    payload: Buffer.from('payload').toString('hex'),
    properties: { topicAlias: 9, userProperties: { ab: 'cde' } },
  },
];

function everyCut(stream: Buffer, protocolVersion: number, want: Seen[]): void {
  for (let cut = 1; cut < stream.length; cut++) {
    const got = parseIn([stream.subarray(0, cut), stream.subarray(cut)], protocolVersion);
    if (got.errors.length > 0 || JSON.stringify(got.packets) !== JSON.stringify(want)) {
      expect({ cut, ...got }).toEqual({ cut, packets: want, errors: [] });
    }
  }
}

describe('inbound packet parsing', () => {
  it('reads 3.1.1 packets whole, cut at every byte, and one byte at a time', () => {
    expect(parseIn([v311])).toEqual({ packets: expected311, errors: [] });
    everyCut(v311, 4, expected311);
    expect(parseIn([...v311].map((b) => Buffer.from([b])))).toEqual({ packets: expected311, errors: [] });
  });

  it('reads MQTT 5 properties whole, cut at every byte, and one byte at a time', () => {
    expect(parseIn([v5], 5)).toEqual({ packets: expected5, errors: [] });
    everyCut(v5, 5, expected5);
    expect(
      parseIn(
        [...v5].map((b) => Buffer.from([b])),
        5,
      ),
    ).toEqual({ packets: expected5, errors: [] });
  });

  it('reads a PUBLISH with three bytes of Remaining Length cut anywhere', () => {
    const payload = Buffer.from(Array.from({ length: 20_000 }, (_, i) => i % 251));
    const stream = Buffer.concat([publishFrame('big/ü', payload, 0xfffe), Buffer.from([0xd0, 0x00])]);
    const want: Seen[] = [
      {
        cmd: 'publish',
        qos: 1,
        retain: false,
        dup: false,
        topic: 'big/ü',
        messageId: 0xfffe,
        payload: payload.toString('hex'),
      },
      { cmd: 'pingresp', qos: 0, retain: false, dup: false },
    ];
    for (const cut of [
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
      10,
      11,
      12,
      100,
      10_000,
      stream.length - 3,
      stream.length - 2,
      stream.length - 1,
    ]) {
      expect(parseIn([stream.subarray(0, cut), stream.subarray(cut)])).toEqual({ packets: want, errors: [] });
    }
  });

  it('refuses a malformed packet the same way whether or not it is cut', () => {
    // [MQTT-3.8.1-1]: SUBSCRIBE's fixed-header flags must be 0010; 0x80 is refused before its body.
    const bad = Buffer.concat([
      publishFrame('ok', 'x'),
      frame(0x80, Buffer.concat([u16(1), str('t'), Buffer.from([0])])),
    ]);
    const whole = parseIn([bad]);
    expect(whole.packets).toEqual([{ cmd: 'publish', qos: 0, retain: false, dup: false, topic: 'ok', payload: '78' }]);
    expect(whole.errors).toEqual(['Invalid header flag bits, must be 0x2 for subscribe packet']);
    // After an error the parser starts afresh on the next chunk (what follows depends on the cut, and
    // the broker closes the connection at the first error anyway): compare up to the first error.
    for (let cut = 1; cut < bad.length; cut++) {
      const got = parseIn([bad.subarray(0, cut), bad.subarray(cut)]);
      expect({ packets: got.packets, error: got.errors[0] }).toEqual({
        packets: whole.packets,
        error: whole.errors[0],
      });
    }
  });
});
