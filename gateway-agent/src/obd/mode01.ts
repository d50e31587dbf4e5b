// SAE J1979 Mode 01 (current powertrain data): the request for a set of live PIDs and the meaning of
// its reply. Framing is parseFrames' job and bit-level decoding the decoder's; this module joins them.
import { signalByObdbId } from '@clutch/contracts';
import { findMode01Command, type Signalset } from '@clutch/firmware-profiles';
import { agentError } from '../errors.js';
import { commandDataLength, decodeMode01Multi } from './decoder.js';
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
export function mode01Request(set: Signalset, pids: readonly string[], isCan: boolean): string {
  let payload = 1; // the 0x41 response byte
  for (const pid of pids) {
    const command = findMode01Command(set, pid);
    if (!command) throw agentError('UNSUPPORTED_PID', `01 ${pid}`, { pid });
    payload += 1 + commandDataLength(command);
  }
  // ISO 15765-2: a single frame carries 7 bytes; a first frame 6, each consecutive frame 7.
  const frames = payload <= 7 ? 1 : 1 + Math.ceil((payload - 6) / 7);
  const suffix = isCan && frames <= 15 ? frames.toString(16).toUpperCase() : '';
  return `01${pids.join('')}${suffix}`;
}

/** Decodes a reply to a (multi-PID) Mode 01 request into catalogue readings; every answering ECU counts. */
export function decodeMode01Reply(
  set: Signalset,
  lines: readonly string[],
  pids: readonly string[],
  headers: HeaderMode = 'auto',
): DecodedReply {
  const readings: Reading[] = [];
  let pidReads = 0;
  let rejected = 0;
  for (const message of parseFrames(lines, headers)) {
    for (const { values } of decodeMode01Multi(set, message, pids)) {
      pidReads++;
      for (const [id, value] of Object.entries(values)) {
        const signal = signalByObdbId(id);
        if (!signal || typeof value !== 'number') continue;
        if (!acceptReading(readings, signal, value)) rejected++;
      }
    }
  }
  return { readings, pidReads, rejected };
}
