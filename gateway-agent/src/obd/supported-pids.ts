// SAE J1979 Mode 01 PID 00/20/40/..: four bytes, bit 7 of byte A = PID (base + 1), ..., bit 0 of D = base + 0x20.

import type { ObdMessage } from './frames.js';

/** Mode 01 PIDs listed as supported in one bitmap reply to PID `base` (0x00, 0x20, ...). */
export function pidsFromBitmap(base: number, bitmap: Uint8Array): number[] {
  const pids: number[] = [];
  for (let i = 0; i < 32; i++) {
    const byte = bitmap[i >> 3] ?? 0;
    if ((byte >> (7 - (i & 7))) & 1) pids.push(base + i + 1);
  }
  return pids;
}

/** Encodes supported PIDs in the range (base, base + 0x20] as a 4-byte bitmap. */
export function bitmapFromPids(base: number, pids: Iterable<number>): Uint8Array {
  const out = new Uint8Array(4);
  for (const pid of pids) {
    const i = pid - base - 1;
    if (i >= 0 && i < 32) out[i >> 3]! |= 0x80 >> (i & 7);
  }
  return out;
}

/**
 * Supported PIDs from replies to 0100, 0120, ... (every ECU that answered is merged: a PID counts if
 * any ECU supports it). Each message must be `41 <base> A B C D`.
 */
export function supportedPidsFromMessages(messages: readonly ObdMessage[]): Set<number> {
  const out = new Set<number>();
  for (const m of messages) {
    if (m.data[0] !== 0x41 || m.data.length < 6) continue;
    const base = m.data[1]!;
    if (base % 0x20 !== 0) continue;
    for (const pid of pidsFromBitmap(base, m.data.subarray(2, 6))) out.add(pid);
  }
  return out;
}

/** Whether the bitmap for `base` says the next range (base + 0x20) should be asked for. */
export function hasNextRange(supported: ReadonlySet<number>, base: number): boolean {
  return supported.has(base + 0x20);
}

export function pidHex(pid: number): string {
  return pid.toString(16).toUpperCase().padStart(2, '0');
}
