import { normaliseName } from './columns.js';
import { parseDeviceTime, parseGpsTime } from './times.js';
import { detectDelimiter, splitFields } from './csv.js';
import { parseWide } from './wide.js';
import type { ParsedLog } from './types.js';

/** A Torque Pro header: it always has `Device Time` and/or `GPS Time` (the trackLog.csv layout). */
export function isTorqueHeader(fields: readonly string[]): boolean {
  const names = fields.map(normaliseName);
  return names.includes('device time') || names.includes('gps time');
}

/**
 * Torque Pro trackLog.csv: `GPS Time, Device Time, Longitude, Latitude, ..., Engine RPM(rpm), Speed
 * (OBD)(km/h), ...`, a unit in the last parentheses of each name (the user's choice: °F, mph, psi,
 * inHg are converted), `-` where a PID had no value yet. Time: Device Time (the phone's clock),
 * put on UTC by its offset from GPS Time (which carries its zone) on the first row that has both;
 * without any GPS fix in the file it is read as UTC. A row without Device Time takes GPS Time.
 */
export function parseTorque(lines: readonly string[]): ParsedLog {
  let usedDevice = false;
  let zone: { offsetMs: number } | null = null;
  const parsed = parseWide(lines, (header) => {
    const names = header.map(normaliseName);
    const device = names.indexOf('device time');
    const gps = names.indexOf('gps time');
    zone = device >= 0 && gps >= 0 ? phoneZone(lines, device, gps) : null;
    const offsetMs = zone?.offsetMs ?? 0;
    return {
      timeColumns: new Set([device, gps].filter((i) => i >= 0)),
      clock: (fields) => {
        const d = device >= 0 ? parseDeviceTime(fields[device] ?? '') : NaN;
        if (Number.isFinite(d)) {
          usedDevice = true;
          return d - offsetMs;
        }
        return gps >= 0 ? parseGpsTime(fields[gps] ?? '') : NaN;
      },
    };
  });
  const warnings = [...parsed.warnings];
  if (usedDevice && zone === null)
    warnings.push('Device Time carries no time zone and no row has GPS Time: read as UTC');
  return {
    format: 'torque',
    readings: parsed.readings,
    startedAt: Number.isFinite(parsed.firstTime) ? parsed.firstTime : null,
    columns: parsed.columns,
    warnings,
    rows: parsed.rows,
    skippedRows: parsed.skippedRows,
  };
}

/** Zones are whole quarter hours (UTC+05:45 is the finest in use); the two clocks differ by less than a second. */
const QUARTER_HOUR_MS = 15 * 60_000;

/**
 * The phone's UTC offset: Device Time minus GPS Time on the first data row that has both, rounded to
 * a quarter hour. Null when no row has both (GPS never had a fix).
 */
function phoneZone(lines: readonly string[], device: number, gps: number): { offsetMs: number } | null {
  const headerIndex = lines.findIndex((l) => l.trim() !== '');
  const delimiter = detectDelimiter(lines[headerIndex] ?? '');
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const fields = splitFields(lines[i]!, delimiter);
    const d = parseDeviceTime(fields[device] ?? '');
    const g = parseGpsTime(fields[gps] ?? '');
    if (Number.isFinite(d) && Number.isFinite(g))
      return { offsetMs: Math.round((d - g) / QUARTER_HOUR_MS) * QUARTER_HOUR_MS };
  }
  return null;
}
