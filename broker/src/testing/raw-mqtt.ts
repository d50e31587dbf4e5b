// MQTT 3.1.1 frames built by hand and a raw socket that records what the broker sends back: for
// tests that must send what no client library would, and see the exact bytes of the answer.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

/** [MQTT-2.2.3] Remaining Length as a variable byte integer. */
export function encodeLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

function utf8(s: string): Buffer {
  const body = Buffer.from(s, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(body.length);
  return Buffer.concat([length, body]);
}

function frame(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), encodeLength(body.length), body]);
}

/** CONNECT (§3.1), clean session unless `cleanSession: false`; `level` 4 is 3.1.1. */
export function connectFrame(options: {
  clientId: string;
  level?: number;
  protocolName?: string;
  username?: string;
  password?: string;
  keepaliveSeconds?: number;
  cleanSession?: boolean;
}): Buffer {
  const flags =
    (options.cleanSession === false ? 0 : 0x02) |
    (options.username !== undefined ? 0x80 : 0) |
    (options.password !== undefined ? 0x40 : 0);
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(options.keepaliveSeconds ?? 60);
  return frame(
    0x10,
    Buffer.concat([
      utf8(options.protocolName ?? 'MQTT'),
      Buffer.from([options.level ?? 4, flags]),
      keepalive,
      utf8(options.clientId),
      ...(options.username !== undefined ? [utf8(options.username)] : []),
      ...(options.password !== undefined ? [utf8(options.password)] : []),
    ]),
  );
}

/** PUBLISH (§3.3) at QoS 0, or QoS 1 with a packet id. */
export function publishFrame(topic: string, payload: string | Buffer, packetId?: number): Buffer {
  const id = packetId === undefined ? Buffer.alloc(0) : Buffer.from([packetId >> 8, packetId & 0xff]);
  return frame(packetId === undefined ? 0x30 : 0x32, Buffer.concat([utf8(topic), id, Buffer.from(payload)]));
}

/** SUBSCRIBE (§3.8) of several filters, each at `qos`. */
export function subscribeFrame(packetId: number, filters: readonly string[], qos = 1): Buffer {
  return frame(
    0x82,
    Buffer.concat([
      Buffer.from([packetId >> 8, packetId & 0xff]),
      ...filters.map((f) => Buffer.concat([utf8(f), Buffer.from([qos])])),
    ]),
  );
}

/** CONNACK (§3.2) as a 3.1.1 server sends it, with no session present. */
export function connackFrame(returnCode: number): Buffer {
  return Buffer.from([0x20, 0x02, 0x00, returnCode]);
}

export interface RawConnection {
  send(bytes: Buffer): void;
  /** Resolves once at least `n` bytes arrived in total; returns all bytes so far. */
  receivedAtLeast(n: number): Promise<Buffer>;
  /** Resolves with everything received when the broker closes the connection. */
  closed: Promise<Buffer>;
  destroy(): void;
}

function record(socket: Socket): RawConnection {
  let received = Buffer.alloc(0);
  const waiters: Array<{ n: number; resolve: (b: Buffer) => void }> = [];
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    for (const w of waiters.filter((w) => received.length >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(received);
    }
  });
  socket.on('error', () => {}); // a reset is a close as far as these tests are concerned
  const closed = new Promise<Buffer>((resolve) => socket.once('close', () => resolve(received)));
  return {
    send: (bytes) => socket.write(bytes),
    receivedAtLeast: (n) =>
      received.length >= n ? Promise.resolve(received) : new Promise((resolve) => waiters.push({ n, resolve })),
    closed,
    destroy: () => socket.destroy(),
  };
}

export function openRaw(port: number, host = '127.0.0.1'): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host }, () => {
      socket.off('error', reject);
      resolve(record(socket));
    });
    socket.once('error', reject);
  });
}

/** A raw TLS connection; resolves after the handshake (the server may still close it right after). */
export function openRawTls(port: number, options: ConnectionOptions, host = '127.0.0.1'): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ port, host, ...options }, () => {
      socket.off('error', reject);
      resolve(record(socket));
    });
    socket.once('error', reject);
  });
}
