// A decoded value becomes a reading only inside its catalogue range (@clutch/contracts isPlausible):
// one check for every signal, whichever command produced it.
import { isPlausible, type SignalDefinition } from '@clutch/contracts';

export interface Reading {
  readonly key: string;
  readonly value: number;
}

export interface DecodedReply {
  readonly readings: Reading[];
  /** PIDs (per ECU) or commands that decoded. */
  readonly pidReads: number;
  /** Values outside the catalogue's range: never emitted (a corrupt frame or reply, not a sensor). */
  readonly rejected: number;
  /** Mode 01 replies: the PIDs that decoded, each with the ECU (CAN id, '' without headers) it was read from. */
  readonly answered?: ReadonlyMap<string, string>;
}

/** Adds `value` of `signal` to `readings` when plausible; returns whether it was. */
export function acceptReading(readings: Reading[], signal: SignalDefinition, value: number): boolean {
  if (!isPlausible(signal, value)) return false;
  readings.push({ key: signal.key, value });
  return true;
}
