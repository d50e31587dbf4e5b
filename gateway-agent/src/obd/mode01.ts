// SAE J1979 Mode 01 (current powertrain data): the request for a set of live PIDs and the meaning of
// its reply. Framing is parseFrames' job and bit-level decoding the decoder's; this module joins them.
import { signalByObdbId } from '@clutch/contracts';
import { findMode01Command, type Signalset } from '@clutch/firmware-profiles';
import { agentError } from '../errors.js';
import { commandDataLength, decodeMode01Multi, type PidValues } from './decoder.js';
import { parseFrames, type HeaderMode } from './frames.js';
import { acceptReading, type DecodedReply, type Reading } from './readings.js';

/** SAE J1979 §8.1.2: up to six PIDs in one request, on CAN only. */
export const MAX_PIDS_PER_REQUEST = 6;

/**
 * The request for `pids` (two hex digits each). On CAN the trailing digit is the number of CAN frames
 * the single ECU reply will take (ELM327 DS "response count"), so the adapter returns as soon as they
 * arrived instead of waiting out its timeout. Throws UNSUPPORTED_PID for a PID the signalset lacks:
 * its reply length, and so the frame count, would be unknown.
 */
export function mode01Request(
  set: Signalset,
  pids: readonly string[],
  isCan: boolean,
  /** False when the adapter refuses the digit for this kind of request (it answered '?'). */
  countDigit = true,
): string {
  let payload = 1; // the 0x41 response byte
  for (const pid of pids) {
    const command = findMode01Command(set, pid);
    if (!command) throw agentError('UNSUPPORTED_PID', `01 ${pid}`, { pid });
    payload += 1 + commandDataLength(command);
  }
  // ISO 15765-2: a single frame carries 7 bytes; a first frame 6, each consecutive frame 7.
  const frames = payload <= 7 ? 1 : 1 + Math.ceil((payload - 6) / 7);
  const suffix = isCan && countDigit && frames <= 15 ? frames.toString(16).toUpperCase() : '';
  return `01${pids.join('')}${suffix}`;
}

/**
 * Orders answering ECUs: the engine ECU first (7E8 before 7EA, 18DAF110 before 18DAF118, i.e. the
 * lowest CAN id), an answer without a header last. One reading per PID per request comes from the first.
 */
export function compareEcus(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return 1;
  if (b === '') return -1;
  return a.length - b.length || (a < b ? -1 : 1);
}

/**
 * Decodes a reply to a (multi-PID) Mode 01 request into catalogue readings. When several ECUs answer
 * the same PID (a functional request reaches them all: 7E8 and 7EA both answering 0105) the PID is read
 * once, from the first ECU in compareEcus order; `answered` says which ECU that was, per PID.
 */
export function decodeMode01Reply(
  set: Signalset,
  lines: readonly string[],
  pids: readonly string[],
  headers: HeaderMode = 'auto',
): DecodedReply {
  const chosen = new Map<string, { ecu: string; values: PidValues['values'] }>();
  for (const message of parseFrames(lines, headers)) {
    const ecu = message.canId ?? '';
    for (const { pid, values } of decodeMode01Multi(set, message, pids)) {
      const held = chosen.get(pid);
      if (!held || compareEcus(ecu, held.ecu) < 0) chosen.set(pid, { ecu, values });
    }
  }
  const readings: Reading[] = [];
  let rejected = 0;
  const answered = new Map<string, string>();
  for (const pid of pids.map((p) => p.toUpperCase())) {
    const held = chosen.get(pid);
    if (!held) continue;
    answered.set(pid, held.ecu);
    for (const [id, value] of Object.entries(held.values)) {
      const signal = signalByObdbId(id);
      if (!signal || typeof value !== 'number') continue;
      if (!acceptReading(readings, signal, value)) rejected++;
    }
  }
  return { readings, pidReads: answered.size, rejected, answered };
}
