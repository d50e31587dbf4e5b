// Inverse of the decoder, for the simulator: engineering values -> the raw bytes an ECU would send.
import type { ObdCommand, SignalFormat } from '@clutch/firmware-profiles';
import { commandDataLength } from './decoder.js';

/** Raw field value for `value`: inverse of raw*mul/div+add, rounded, clamped to what `len` bits hold. */
export function encodeSignalValue(fmt: SignalFormat, value: number): number {
  let raw = Math.round(((value - (fmt.add ?? 0)) * (fmt.div ?? 1)) / (fmt.mul ?? 1));
  const lo = fmt.sign ? -(2 ** (fmt.len - 1)) : 0;
  const hi = fmt.sign ? 2 ** (fmt.len - 1) - 1 : 2 ** fmt.len - 1;
  if (!Number.isFinite(raw)) raw = lo;
  raw = Math.min(hi, Math.max(lo, raw));
  return raw < 0 ? raw + 2 ** fmt.len : raw;
}

function writeBits(data: Uint8Array, bix: number, len: number, raw: number): void {
  for (let i = len - 1, v = raw; i >= 0; i--, v = Math.floor(v / 2)) {
    const bit = bix + i;
    const mask = 0x80 >> (bit & 7);
    if (v % 2 === 1) data[bit >> 3]! |= mask;
    else data[bit >> 3]! &= ~mask;
  }
}

/** The data bytes (after the PID echo) for a command; signals without a value encode as raw 0. */
export function encodeCommandData(command: ObdCommand, values: Readonly<Record<string, number>>): Uint8Array {
  const data = new Uint8Array(commandDataLength(command));
  for (const signal of command.signals) {
    const value = values[signal.id];
    if (value === undefined || signal.fmt.map) continue;
    const fmt = signal.fmt;
    const raw = encodeSignalValue(fmt, value);
    const bix = fmt.bix ?? 0;
    if (fmt.blsb && fmt.len > 8) {
      // mirror of the decoder's byte reversal: encode big-endian, then reverse the bytes in place
      const tmp = new Uint8Array(Math.ceil(fmt.len / 8));
      writeBits(tmp, bix & 7, fmt.len, raw);
      tmp.reverse().forEach((b, i) => (data[(bix >> 3) + i] = b));
      continue;
    }
    writeBits(data, bix, fmt.len, raw);
  }
  return data;
}
