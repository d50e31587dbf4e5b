import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { CONNACK_UNACCEPTABLE_PROTOCOL_LEVEL, inspectFirstPacket } from './protocol-level.js';

/**
 * Reads the MQTT fixed header of every packet as bytes arrive and ends the connection as soon as a
 * packet announces more than `maxBytes`, before the parser buffers it (mqtt-packet has no limit of
 * its own). [MQTT-2.2.3] Remaining Length is a variable byte integer of at most 4 bytes.
 */
export function createPacketSizeMeter(
  maxBytes: number,
  onViolation: (reason: string) => void,
): (chunk: Buffer) => boolean {
  let state: 'type' | 'length' | 'body' = 'type';
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let remaining = 0;
  return (chunk) => {
    let i = 0;
    while (i < chunk.length) {
      if (state === 'type') {
        state = 'length';
        length = 0;
        multiplier = 1;
        lengthBytes = 0;
        i++;
      } else if (state === 'length') {
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
          onViolation(`packet of ${length} bytes exceeds the ${maxBytes}-byte limit`);
          return false;
        }
        remaining = length;
        state = remaining === 0 ? 'type' : 'body';
      } else {
        const take = Math.min(remaining, chunk.length - i);
        i += take;
        remaining -= take;
        if (remaining === 0) state = 'type';
      }
    }
    return true;
  };
}

/**
 * Wraps a TCP or TLS socket so aedes reads it through the packet-size meter. The first packet is
 * held back until its protocol level is known: an unsupported level is answered here with CONNACK
 * 0x01 and the connection ends ([MQTT-3.1.2-2]).
 */
export function guardSocket(socket: Socket | Duplex, maxBytes: number, onViolation: (reason: string) => void): Duplex {
  const meter = createPacketSizeMeter(maxBytes, (reason) => {
    onViolation(reason);
    socket.destroy();
  });
  let corked = false;
  const corkForThisTick = (): void => {
    if (corked) return;
    corked = true;
    socket.cork();
    process.nextTick(() => {
      corked = false;
      socket.uncork();
    });
  };
  const guarded = new Duplex({
    read() {
      socket.resume();
    },
    // Completing a write as soon as the socket buffered it (not when it flushed) keeps aedes'
    // packets flowing back to back; 'drain' is the backpressure signal. Writes of one tick are
    // corked into a single writev: one syscall for a burst of deliveries, not one per packet.
    write(chunk: Buffer, _encoding, callback) {
      corkForThisTick();
      if (socket.write(chunk)) callback();
      else socket.once('drain', () => callback());
    },
    writev(chunks, callback) {
      corkForThisTick();
      let ok = true;
      for (const { chunk } of chunks) ok = socket.write(chunk as Buffer);
      if (ok) callback();
      else socket.once('drain', () => callback());
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  let head: Buffer | null = Buffer.alloc(0);
  let refused = false;
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
