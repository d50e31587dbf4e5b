// A minimal MQTT 3.1.1 client for the load generator: CONNECT, SUBSCRIBE, PUBLISH and PUBACK written
// as bytes, and a streaming parser that hands each whole packet over. MQTT.js spends more CPU per
// message than Mosquitto does, so with it the client, not the broker, set the pace; this one costs
// a few hundred nanoseconds a message and writes a burst of packets as one buffer.
import { connect as tcpConnect, type Socket } from 'node:net';

export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const SUBSCRIBE = 8;
export const SUBACK = 9;

/** Bytes of an MQTT Remaining Length (variable byte integer, [MQTT-2.2.3]). */
function lengthBytes(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first, ...lengthBytes(body.length)]), body]);
}

function utf8String(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const out = Buffer.alloc(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

export function connectPacket(clientId: string): Buffer {
  // Protocol name MQTT, level 4, clean session, keep alive 60 s.
  const header = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c]);
  return packet(CONNECT << 4, Buffer.concat([header, utf8String(clientId)]));
}

export function subscribePacket(messageId: number, filter: string, qos: 0 | 1): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(messageId, 0);
  return packet((SUBSCRIBE << 4) | 0x02, Buffer.concat([id, utf8String(filter), Buffer.from([qos])]));
}

export function pubackPacket(messageId: number): Buffer {
  return Buffer.from([PUBACK << 4, 0x02, messageId >> 8, messageId & 0xff]);
}

/**
 * PUBLISH packets of one topic, QoS and payload size, built by patching a template: `write` puts one
 * into `into` at `offset` with this message id and send time, and returns the next offset.
 */
export interface PublishTemplate {
  readonly size: number;
  write(into: Buffer, offset: number, messageId: number, sentAtMs: number): number;
}

export function publishTemplate(topic: string, qos: 0 | 1, payloadBytes: number): PublishTemplate {
  const topicBytes = utf8String(topic);
  const body = topicBytes.length + (qos > 0 ? 2 : 0) + payloadBytes;
  const template = packet((PUBLISH << 4) | (qos << 1), Buffer.alloc(body));
  topicBytes.copy(template, template.length - body);
  const idAt = template.length - body + topicBytes.length;
  const payloadAt = idAt + (qos > 0 ? 2 : 0);
  return {
    size: template.length,
    write(into, offset, messageId, sentAtMs) {
      template.copy(into, offset);
      if (qos > 0) into.writeUInt16BE(messageId, offset + idAt);
      into.writeDoubleBE(sentAtMs, offset + payloadAt);
      return offset + template.length;
    },
  };
}

/** A received packet: its type, flags and a view of its body (valid only during the call). */
export type OnPacket = (type: number, flags: number, body: Buffer) => void;

/**
 * Splits a byte stream into MQTT packets. Leftover bytes of a partial packet are kept and joined
 * with the next chunk; `afterChunk` runs once per chunk so replies can be written in one go.
 */
export function packetReader(onPacket: OnPacket, afterChunk: () => void): (chunk: Buffer) => void {
  let pending: Buffer | null = null;
  return (chunk) => {
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = null;
    let i = 0;
    while (i < buf.length) {
      if (buf.length - i < 2) break;
      let length = 0;
      let multiplier = 1;
      let j = i + 1;
      let complete = false;
      while (j < buf.length && j < i + 5) {
        const byte = buf[j++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || buf.length - j < length) break;
      const first = buf[i]!;
      onPacket(first >> 4, first & 0x0f, buf.subarray(j, j + length));
      i = j + length;
    }
    if (i < buf.length) pending = Buffer.from(buf.subarray(i));
    afterChunk();
  };
}

export interface WireClient {
  socket: Socket;
  /** Replaces the packet handler used after CONNACK (and SUBACK). */
  onPacket(handler: OnPacket, afterChunk?: () => void): void;
}

function nothing(): void {}

/** Connects and waits for CONNACK 0 (and SUBACK when `subscribe` is given). */
export async function connectClient(
  host: string,
  port: number,
  clientId: string,
  subscribe?: { filter: string; qos: 0 | 1 },
): Promise<WireClient> {
  const socket = tcpConnect({ host, port, noDelay: true });
  let handler: OnPacket = nothing;
  let after: () => void = nothing;
  socket.on(
    'data',
    packetReader(
      (type, flags, body) => handler(type, flags, body),
      () => after(),
    ),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    handler = (type, _flags, body) => {
      if (type === CONNACK) {
        if (body[1] !== 0) return reject(new Error(`CONNACK ${body[1]} for ${clientId}`));
        if (!subscribe) return resolve();
        socket.write(subscribePacket(1, subscribe.filter, subscribe.qos));
      } else if (type === SUBACK) {
        if (body[2]! >= 0x80) return reject(new Error(`SUBACK refused ${subscribe?.filter}`));
        resolve();
      }
    };
    socket.once('connect', () => socket.write(connectPacket(clientId)));
  });
  socket.removeAllListeners('error');
  socket.on('error', nothing); // the coordinator notices missing messages; a reset at the end is normal
  return {
    socket,
    onPacket(next, afterChunk = nothing) {
      handler = next;
      after = afterChunk;
    },
  };
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes of one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
