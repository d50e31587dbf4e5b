import { describe, expect, it } from 'vitest';
import { createPacketSizeMeter } from './packet-size-guard.js';

/** A packet's fixed header (type byte and Remaining Length, [MQTT-2.2.3]) followed by its body. */
function frame(remainingLength: number, fill = 0): Buffer {
  const length: number[] = [];
  let n = remainingLength;
  do {
    let digit = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) digit |= 0x80;
    length.push(digit);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x30, ...length]), Buffer.alloc(remainingLength, fill)]);
}

/** Feeds `stream` to a fresh meter cut at `cuts`; returns the violations it reported. */
function meter(stream: Buffer, cuts: number[], maxBytes: number): { reason: string; length?: number; at: number }[] {
  const seen: { reason: string; length?: number; at: number }[] = [];
  let at = 0;
  const check = createPacketSizeMeter(maxBytes, (reason, length) => seen.push({ reason, length, at }));
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    at = cut;
    if (!check(stream.subarray(from, cut))) break;
    from = cut;
  }
  return seen;
}

describe('packet size meter', () => {
  // Bodies of every Remaining Length width (1 to 3 bytes), empty ones, and fills that look like headers.
  const sizes = [0, 1, 2, 127, 128, 129, 300, 0, 16_383, 16_384, 20_000];
  const stream = Buffer.concat(sizes.map((size, i) => frame(size, i % 2 ? 0xff : 0x30)));

  it('lets a stream of packets under the limit through, however it is cut into chunks', () => {
    for (let cut = 1; cut < stream.length; cut += cut < 400 ? 1 : 97) {
      expect(meter(stream, [cut], 20_000)).toEqual([]);
    }
    // Every packet in a chunk of its own, and every byte in a chunk of its own.
    const ends = sizes.reduce<number[]>((acc, size) => [...acc, (acc.at(-1) ?? 0) + frame(size).length], []);
    expect(meter(stream, ends.slice(0, -1), 20_000)).toEqual([]);
    const head = stream.subarray(0, 700);
    expect(
      meter(
        head,
        Array.from({ length: head.length - 1 }, (_, i) => i + 1),
        20_000,
      ),
    ).toEqual([]);
  });

  it('reports a packet over the limit once its Remaining Length is read, before its body arrives', () => {
    const header = frame(20_001).subarray(0, 4); // type and the 3 length bytes of 20,001, no body
    const over = Buffer.concat([stream, header]);
    const violation = { reason: 'packet of 20001 bytes exceeds the 20000-byte limit', length: 20_001 };
    expect(meter(over.subarray(0, -1), [], 20_000)).toEqual([]); // the length is not complete yet
    expect(meter(over, [], 20_000)).toEqual([{ ...violation, at: over.length }]);
    // Cut inside the length: reported with the chunk that completes it.
    for (const cut of [stream.length + 1, stream.length + 2, stream.length + 3])
      expect(meter(over, [cut], 20_000)).toEqual([{ ...violation, at: over.length }]);
    expect(meter(over, [], 20_001)).toEqual([]); // at the limit itself: accepted
  });

  it('ends a Remaining Length that runs past four bytes as malformed', () => {
    const bad = Buffer.concat([frame(5), Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])]);
    expect(meter(bad, [7], 1_000_000_000)).toEqual([{ reason: 'malformed remaining length', at: bad.length }]);
  });
});
