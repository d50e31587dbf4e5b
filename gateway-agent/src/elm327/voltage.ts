// ATRV: the adapter's own measurement of the supply on OBD pin 16, i.e. the car's battery (ELM327 DS).
import { signalCatalogue } from '@clutch/contracts';
import { acceptReading, type DecodedReply, type Reading } from '../obd/readings.js';

/** The catalogue signal ATRV produces (battery.voltage), with its plausible range. */
const BATTERY = signalCatalogue.find((s) => s.source === 'elm327' && s.command === 'ATRV');

/** ELM327 DS: ATRV answers e.g. '12.4V'; undefined for anything else. */
export function parseVoltage(lines: readonly string[]): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*V$/i.exec(lines[0] ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * The battery voltage as a reading, range-checked like every other signal: a reading outside the
 * catalogue's battery.voltage range (e.g. '99.9V' from a garbled reply) is rejected, not published.
 */
export function decodeVoltageReply(lines: readonly string[]): DecodedReply {
  const volts = parseVoltage(lines);
  if (volts === undefined) return { readings: [], pidReads: 0, rejected: 0 };
  const readings: Reading[] = [];
  const accepted = BATTERY !== undefined && acceptReading(readings, BATTERY, volts);
  return { readings, pidReads: accepted ? 1 : 0, rejected: accepted ? 0 : 1 };
}

/** The plausible battery voltage in an ATRV reply, else undefined (adapter info, diagnostics). */
export function plausibleBatteryVoltage(lines: readonly string[]): number | undefined {
  return decodeVoltageReply(lines).readings[0]?.value;
}
