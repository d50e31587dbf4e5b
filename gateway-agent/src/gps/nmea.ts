// NMEA 0183 sentences from a serial GPS: GGA (fix data), RMC (recommended minimum), VTG (course and
// speed). Any talker id (GP, GN, GL, GA, BD). A sentence whose checksum does not match is refused.
import type { LocationFix } from '@clutch/contracts';

export type NmeaSentence =
  | {
      type: 'GGA';
      timeOfDay?: number;
      lat?: number;
      lon?: number;
      quality: number;
      satellites?: number;
      hdop?: number;
      altM?: number;
    }
  | {
      type: 'RMC';
      timeOfDay?: number;
      valid: boolean;
      lat?: number;
      lon?: number;
      speedKmh?: number;
      courseDeg?: number;
      dateMs?: number;
    }
  | { type: 'VTG'; courseDeg?: number; speedKmh?: number };

/** NMEA 0183 §5.2.1: XOR of every character between '$' and '*', two hex digits. */
export function nmeaChecksum(body: string): string {
  let x = 0;
  for (let i = 0; i < body.length; i++) x ^= body.charCodeAt(i);
  return x.toString(16).toUpperCase().padStart(2, '0');
}

const num = (s: string | undefined): number | undefined =>
  s === undefined || s === '' || !Number.isFinite(Number(s)) ? undefined : Number(s);

/** ddmm.mmmm + hemisphere -> signed degrees. */
function coordinate(
  value: string | undefined,
  hemisphere: string | undefined,
  degreeDigits: number,
): number | undefined {
  if (!value || !hemisphere || !/^\d+(\.\d+)?$/.test(value)) return undefined;
  const deg = Number(value.slice(0, degreeDigits));
  const min = Number(value.slice(degreeDigits));
  if (min >= 60) return undefined;
  const v = deg + min / 60;
  if (hemisphere === 'S' || hemisphere === 'W') return -v;
  return hemisphere === 'N' || hemisphere === 'E' ? v : undefined;
}

/** hhmmss.sss -> ms since midnight UTC. */
function timeOfDay(s: string | undefined): number | undefined {
  const m = /^(\d{2})(\d{2})(\d{2}(?:\.\d+)?)$/.exec(s ?? '');
  if (!m) return undefined;
  const [h, mi, sec] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (h > 23 || mi > 59 || sec >= 61) return undefined;
  return Math.round(((h * 60 + mi) * 60 + sec) * 1000);
}

/** ddmmyy -> ms at midnight UTC (two-digit years are 2000-2099). */
function date(s: string | undefined): number | undefined {
  const m = /^(\d{2})(\d{2})(\d{2})$/.exec(s ?? '');
  if (!m) return undefined;
  const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (d < 1 || d > 31 || mo < 1 || mo > 12) return undefined;
  return Date.UTC(2000 + y, mo - 1, d);
}

export function parseNmea(line: string): NmeaSentence | null {
  const m = /^\$([A-Z]{2})([A-Z]{3}),([^*]*)\*([0-9A-Fa-f]{2})\s*$/.exec(line.trim());
  if (!m) return null;
  if (nmeaChecksum(`${m[1]}${m[2]},${m[3]}`) !== m[4]!.toUpperCase()) return null;
  const f = m[3]!.split(',');
  switch (m[2]) {
    case 'GGA': // time, lat, N/S, lon, E/W, quality, sats, hdop, alt, M, ...
      return {
        type: 'GGA',
        timeOfDay: timeOfDay(f[0]),
        lat: coordinate(f[1], f[2], 2),
        lon: coordinate(f[3], f[4], 3),
        quality: num(f[5]) ?? 0,
        satellites: num(f[6]),
        hdop: num(f[7]),
        altM: num(f[8]),
      };
    case 'RMC': // time, status, lat, N/S, lon, E/W, speed kn, course, date, ...
      return {
        type: 'RMC',
        timeOfDay: timeOfDay(f[0]),
        valid: f[1] === 'A',
        lat: coordinate(f[2], f[3], 2),
        lon: coordinate(f[4], f[5], 3),
        speedKmh: num(f[6]) === undefined ? undefined : num(f[6])! * 1.852,
        courseDeg: num(f[7]),
        dateMs: date(f[8]),
      };
    case 'VTG': // course true, T, course magnetic, M, speed kn, N, speed km/h, K, [mode]
      return { type: 'VTG', courseDeg: num(f[0]), speedKmh: num(f[6]) };
    default:
      return null;
  }
}

/**
 * Merges sentences of one epoch into a fix. RMC carries the date and validity and closes the epoch;
 * GGA adds altitude, HDOP and satellites; VTG the course and speed when RMC lacks them.
 */
export class FixBuilder {
  private gga: Extract<NmeaSentence, { type: 'GGA' }> | undefined;
  private vtg: Extract<NmeaSentence, { type: 'VTG' }> | undefined;

  push(s: NmeaSentence): LocationFix | null {
    if (s.type === 'GGA') this.gga = s;
    if (s.type === 'VTG') this.vtg = s;
    if (s.type !== 'RMC') return null;
    const gga = this.gga?.timeOfDay === s.timeOfDay ? this.gga : undefined;
    const vtg = this.vtg;
    this.gga = undefined;
    this.vtg = undefined;
    if (!s.valid || s.lat === undefined || s.lon === undefined || s.dateMs === undefined || s.timeOfDay === undefined)
      return null;
    if (gga && gga.quality === 0) return null;
    const speed = s.speedKmh ?? vtg?.speedKmh;
    const course = s.courseDeg ?? vtg?.courseDeg;
    const fix: LocationFix = {
      v: 1,
      t: s.dateMs + s.timeOfDay,
      lat: Math.round(s.lat * 1e7) / 1e7,
      lon: Math.round(s.lon * 1e7) / 1e7,
      ...(gga?.altM !== undefined && gga.altM >= -1000 && gga.altM <= 20000 ? { altM: gga.altM } : {}),
      ...(speed !== undefined && speed >= 0 && speed <= 1000 ? { speedKmh: Math.round(speed * 100) / 100 } : {}),
      ...(course !== undefined && course >= 0 && course <= 360 ? { headingDeg: course } : {}),
      ...(gga?.hdop !== undefined && gga.hdop >= 0 && gga.hdop <= 100 ? { hdop: gga.hdop } : {}),
      ...(gga?.satellites !== undefined && Number.isInteger(gga.satellites) && gga.satellites <= 128
        ? { satellites: gga.satellites }
        : {}),
    };
    return fix;
  }
}
