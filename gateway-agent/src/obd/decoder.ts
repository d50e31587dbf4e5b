// Message decoder: reassembled OBD payloads -> signal values, driven by OBDb signal formats.
import type { ObdCommand, SignalFormat, Signalset } from '@clutch/firmware-profiles';
import type { ObdMessage } from './frames.js';

export type SignalValue = number | string | null;

export interface DecodeOptions {
  /** Turn values at/below `nullmin` or at/above `nullmax` into null. OBDb's own tests keep them. */
  readonly applyNull?: boolean;
  /**
   * Enumerations (fmt.map) as their raw code instead of the label (telemetry carries numbers; the
   * contracts catalogue lists the codes). A code the map lacks is still null.
   */
  readonly rawEnums?: boolean;
}

/** Number of bytes the PID/DID echo takes after the service byte (SAE J1979 §8; ISO 14229 for 0x22). */
export function echoLength(service: string): number {
  const s = service.toUpperCase();
  if (s === '22') return 2;
  if (s === '01' || s === '02' || s === '21' || s === '09') return 1;
  return 0;
}

/** Reads `len` bits MSB-first starting at bit `bix` (bit 0 = MSB of byte 0); bits past the end read 0. */
export function readBits(data: Uint8Array, bix: number, len: number): number {
  let value = 0;
  for (let i = 0; i < len; i++) {
    const bit = bix + i;
    const byte = data[bit >> 3] ?? 0;
    // multiply rather than shift: fields may be wider than 31 bits
    value = value * 2 + ((byte >> (7 - (bit & 7))) & 1);
  }
  return value;
}

/** Decodes one signal from the data bytes that follow the service/PID echo. */
export function decodeSignal(fmt: SignalFormat, data: Uint8Array, options: DecodeOptions = {}): SignalValue {
  const bix = fmt.bix ?? 0;
  let source = data;
  let start = bix;
  if (fmt.blsb && fmt.len > 8) {
    // OBDb: reverse the ceil(len/8) bytes starting at byte bix/8, then read as usual
    const first = bix >> 3;
    const count = Math.ceil(fmt.len / 8);
    const bytes = Array.from({ length: count }, (_, i) => data[first + i] ?? 0).reverse();
    source = Uint8Array.from(bytes);
    start = bix & 7;
  }
  let raw = readBits(source, start, fmt.len);
  if (fmt.sign && raw >= 2 ** (fmt.len - 1)) raw -= 2 ** fmt.len;
  if (fmt.map) {
    const entry = fmt.map[String(raw)];
    if (!entry) return null;
    return options.rawEnums ? raw : entry.value;
  }
  let value = (raw * (fmt.mul ?? 1)) / (fmt.div ?? 1) + (fmt.add ?? 0);
  const min = fmt.min ?? 0;
  if (fmt.max !== undefined && fmt.max > min) value = Math.min(fmt.max, Math.max(min, value));
  if (options.applyNull) {
    if (fmt.nullmin !== undefined && value <= fmt.nullmin) return null;
    if (fmt.nullmax !== undefined && value >= fmt.nullmax) return null;
  }
  return value;
}

function hexToBytes(hex: string): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < hex.length; i += 2) out.push(parseInt(hex.slice(i, i + 2), 16));
  return out;
}

/** The payload bytes after service response + PID echo when the message answers `command`, else null. */
export function commandData(command: ObdCommand, message: ObdMessage): Uint8Array | null {
  const [service, pid] = Object.entries(command.cmd)[0] ?? [];
  if (service === undefined || pid === undefined) return null;
  const data = message.data;
  // SAE J1979 §7: a positive response echoes the service id + 0x40.
  if (data[0] !== parseInt(service, 16) + 0x40) return null;
  const echo = hexToBytes(pid).slice(0, echoLength(service));
  for (let i = 0; i < echo.length; i++) if (data[1 + i] !== echo[i]) return null;
  return data.subarray(1 + echo.length);
}

/** Decodes every signal of `command` from a message; null when the message answers something else. */
export function decodeCommand(
  command: ObdCommand,
  message: ObdMessage,
  options: DecodeOptions = {},
): Record<string, SignalValue> | null {
  const data = commandData(command, message);
  if (data === null) return null;
  const values: Record<string, SignalValue> = {};
  for (const signal of command.signals) values[signal.id] = decodeSignal(signal.fmt, data, options);
  return values;
}

/** Picks the message a command decodes: one from its `rax` wins, else the first that answers it. */
export function selectMessage(command: ObdCommand, messages: readonly ObdMessage[]): ObdMessage | undefined {
  const answering = messages.filter((m) => commandData(command, m) !== null);
  return answering.find((m) => command.rax !== undefined && m.canId === command.rax.toUpperCase()) ?? answering[0];
}

/** Bytes of data a command's signals span (the PID's data length when the signalset is complete). */
export function commandDataLength(command: ObdCommand): number {
  let bits = 0;
  for (const s of command.signals) bits = Math.max(bits, (s.fmt.bix ?? 0) + s.fmt.len);
  return Math.ceil(bits / 8);
}

export interface PidValues {
  readonly pid: string;
  readonly values: Record<string, SignalValue>;
}

/**
 * Splits a Mode 01 reply to a multi-PID request (`41 0C aa bb 0D cc ..`, SAE J1979 §8.1.2: up to six PIDs
 * per request on CAN) into its PIDs. Lengths come from the signalset; parsing stops at the first PID byte
 * that was not requested or has no definition, since the rest cannot be aligned.
 */
export function decodeMode01Multi(
  set: Signalset,
  message: ObdMessage,
  requested: readonly string[],
  options: DecodeOptions = {},
): PidValues[] {
  const data = message.data;
  if (data[0] !== 0x41) return [];
  const wanted = new Set(requested.map((p) => p.toUpperCase()));
  const out: PidValues[] = [];
  let i = 1;
  while (i < data.length) {
    const pid = data[i]!.toString(16).toUpperCase().padStart(2, '0');
    if (!wanted.has(pid)) break;
    const command = set.commands.find((c) => c.cmd['01']?.toUpperCase() === pid);
    if (!command) break;
    const length = commandDataLength(command);
    const slice = data.subarray(i + 1, i + 1 + length);
    const values: Record<string, SignalValue> = {};
    for (const signal of command.signals) values[signal.id] = decodeSignal(signal.fmt, slice, options);
    out.push({ pid, values });
    wanted.delete(pid);
    i += 1 + length;
  }
  return out;
}
