import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { CONNACK_UNACCEPTABLE_PROTOCOL_LEVEL, inspectFirstPacket } from './protocol-level.js';
import { createWriteBatcher, writeStraightThrough } from './write-batcher.js';

/**
 * Reads the MQTT fixed header of every packet as bytes arrive and ends the connection as soon as a
 * packet announces more than `maxBytes`, before the parser buffers it (mqtt-packet has no limit of
 * its own). [MQTT-2.2.3] Remaining Length is a variable byte integer of at most 4 bytes.
 */
export function createPacketSizeMeter(
  maxBytes: number,
  onViolation: (reason: string, remainingLength?: number) => void,
): (chunk: Buffer) => boolean {
  // Between chunks the meter is inside a body (`remaining` bytes of it still to come) or in a fixed
  // header: `lengthBytes` is -1 before its type byte, else how many Remaining Length bytes it has read.
  // A chunk holds many packets under load: each costs a body skip and a header read, no more.
  let remaining = 0;
  let lengthBytes = -1;
  let length = 0;
  let multiplier = 1;
  return (chunk) => {
    const end = chunk.length;
    let i = 0;
    while (i < end) {
      if (remaining > 0) {
        const left = end - i;
        if (left <= remaining) {
          remaining -= left;
          return true;
        }
        i += remaining;
        remaining = 0;
      }
      if (lengthBytes < 0) {
        lengthBytes = 0;
        length = 0;
        multiplier = 1;
        if (++i === end) return true;
      }
      const byte = chunk[i++]!;
      length += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      lengthBytes++;
      if (byte & 0x80) {
        if (lengthBytes === 4) {
          onViolation('malformed remaining length');
          return false;
        }
        continue;
      }
      if (length > maxBytes) {
        onViolation(`packet of ${length} bytes exceeds the ${maxBytes}-byte limit`, length);
        return false;
      }
      remaining = length;
      lengthBytes = -1;
    }
    return true;
  };
}

/** The part of the aedes client (set by aedes as `conn.client`) an oversize packet is reported to. */
interface AedesConnectionClient {
  version: number | null;
  connected: boolean;
  rejectPacketTooLarge(size: number): void;
}

/**
 * Wraps a TCP or TLS socket so aedes reads it through the packet-size meter. The first packet is
 * held back until its protocol level is known: an unsupported level is answered here with CONNACK
 * 0x01 and the connection ends ([MQTT-3.1.2-2]). An oversize packet on a connected MQTT 5 session is
 * reported to aedes, which says so with DISCONNECT 0x95 ([MQTT-3.2.2-15]); nothing of it reaches the
 * parser. Any other connection is closed at once.
 */
export function guardSocket(socket: Socket | Duplex, maxBytes: number, onViolation: (reason: string) => void): Duplex {
  const meter = createPacketSizeMeter(maxBytes, (reason, remainingLength) => {
    onViolation(reason);
    refused = true;
    const client = (guarded as Duplex & { client?: AedesConnectionClient }).client;
    if (client?.version === 5 && client.connected && remainingLength !== undefined) {
      client.rejectPacketTooLarge(remainingLength + 5);
    } else {
      socket.destroy();
    }
  });
  // Nagle would hold a small PUBACK back until the peer's delayed ACK (up to 40 ms); the batcher
  // already gathers what one loop turn writes.
  if ('setNoDelay' in socket) socket.setNoDelay(true);
  const writes = createWriteBatcher(socket);
  let refused = false;
  const guarded = new Duplex({
    read() {
      socket.resume();
    },
    // Completing a write as soon as it is queued (not when it flushed) keeps aedes' packets flowing
    // back to back; the batcher holds the callback back when the socket is over its buffer size.
    write(chunk: Buffer, _encoding, callback) {
      writes.add(chunk, callback);
    },
    writev(chunks, callback) {
      for (let i = 0; i < chunks.length - 1; i++) writes.add(chunks[i]!.chunk as Buffer);
      writes.add(chunks[chunks.length - 1]!.chunk as Buffer, callback);
    },
    final(callback) {
      writes.flush();
      socket.end(callback);
    },
    destroy(err, callback) {
      writes.flush(); // e.g. a refusing CONNACK written just before the close
      socket.destroy();
      callback(err);
    },
  });
  writeStraightThrough(guarded, writes, socket);
  let head: Buffer | null = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    if (refused || !meter(chunk)) return;
    if (head !== null) {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const verdict = inspectFirstPacket(head);
      if (verdict === 'need-more') return;
      if (verdict === 'unsupported-protocol-level') {
        refused = true;
        onViolation('unsupported protocol level');
        socket.end(CONNACK_UNACCEPTABLE_PROTOCOL_LEVEL);
        return;
      }
      chunk = head;
      head = null;
    }
    if (!guarded.push(chunk)) socket.pause();
  });
  socket.on('end', () => guarded.push(null));
  socket.on('error', (err) => guarded.destroy(err));
  socket.on('close', () => guarded.destroy());
  return guarded;
}
