// Meaning of one polling reply: framed lines -> catalogue readings, range-checked.
import { isPlausible, signalByObdbId } from '@clutch/contracts';
import type { Signalset } from '@clutch/firmware-profiles';
import { decodeMode01Multi } from '../obd/decoder.js';
import { parseFrames, type HeaderMode } from '../obd/frames.js';

export interface Reading {
  readonly key: string;
  readonly value: number;
}

export interface DecodedReply {
  readonly readings: Reading[];
  /** PIDs (per ECU) that decoded. */
  readonly pidReads: number;
  /** Values outside the catalogue's SAE J1979 range: never emitted (a corrupt frame, not a sensor). */
  readonly rejected: number;
}

/** Decodes a reply to a (multi-PID) Mode 01 request; every answering ECU counts. */
export function decodeMode01Reply(set: Signalset, lines: readonly string[], pids: readonly string[], headers: HeaderMode = 'auto'): DecodedReply {
  const readings: Reading[] = [];
  let pidReads = 0;
  let rejected = 0;
  for (const message of parseFrames(lines, headers)) {
    for (const { values } of decodeMode01Multi(set, message, pids)) {
      pidReads++;
      for (const [id, value] of Object.entries(values)) {
        const signal = signalByObdbId(id);
        if (!signal || typeof value !== 'number') continue;
        if (isPlausible(signal, value)) readings.push({ key: signal.key, value });
        else rejected++;
      }
    }
  }
  return { readings, pidReads, rejected };
}
