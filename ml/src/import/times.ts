/**
 * Times as the apps write them. Every parser returns epoch milliseconds when the file says the date,
 * else milliseconds from the first row. A clock without a zone (Torque's Device Time, a file name) is
 * read as UTC and the import says so: the phone's zone is not in the file.
 */

const MONTHS: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
  // German and French short names (Torque writes the phone's locale).
  mär: 2,
  mrz: 2,
  mai: 4,
  okt: 9,
  dez: 11,
  janv: 0,
  févr: 1,
  fevr: 1,
  mars: 2,
  avr: 3,
  juin: 5,
  juil: 6,
  août: 7,
  aout: 7,
  sept: 8,
  déc: 11,
};

function monthIndex(raw: string): number | undefined {
  if (/^\d+$/.test(raw)) {
    const m = Number(raw) - 1;
    return m >= 0 && m < 12 ? m : undefined;
  }
  const key = raw.toLowerCase().replace(/\.$/, '');
  return MONTHS[key] ?? MONTHS[key.slice(0, 3)];
}

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, frac: string | undefined): number {
  const ms = frac ? Math.round(Number(`0.${frac}`) * 1000) : 0;
  const t = Date.UTC(y < 100 ? 2000 + y : y, mo, d, h, mi, s, ms);
  return Number.isFinite(t) && h < 24 && mi < 60 && s < 61 ? t : NaN;
}

/**
 * Torque's Device Time: `18-Jun-2016 14:31:07.123` or `08-9-2012 11:02:36.5` (day-month-year, the
 * month as a name in the phone's language or a number), read as UTC. NaN when it is not one.
 */
export function parseDeviceTime(raw: string): number {
  const m = /^(\d{1,2})-([^\s\-\d][^\s-]*|\d{1,2})-(\d{2,4})\s+(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?$/.exec(
    raw.trim(),
  );
  if (!m) return NaN;
  const month = monthIndex(m[2]!);
  if (month === undefined) return NaN;
  return utc(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]), m[7]);
}

/**
 * Torque's GPS Time, which carries its zone: `Sat Jun 18 14:31:07 GMT+01:00 2016` or
 * `Mon Sep 22 10:30:00 +0300 2019`. NaN when it is not one.
 */
export function parseGpsTime(raw: string): number {
  const m =
    /^\w{3}\s+(\w{3,5})\.?\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s+(?:GMT|UTC)?\s*([+-])(\d{1,2}):?(\d{2})?\s+(\d{4})$/i.exec(
      raw.trim(),
    );
  if (!m) return NaN;
  const month = monthIndex(m[1]!);
  if (month === undefined) return NaN;
  const local = utc(Number(m[10]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), m[6]);
  const offsetMin = (Number(m[8]) * 60 + Number(m[9] ?? 0)) * (m[7] === '-' ? -1 : 1);
  return local - offsetMin * 60_000;
}

/** ISO-like date and time (`2017-07-05 07:16:30.444`, `2017-07-05T07:16:30Z`); without a zone, UTC. NaN otherwise. */
export function parseIsoTime(raw: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(
    raw.trim(),
  );
  if (!m) return NaN;
  const local = utc(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), m[7]);
  const zone = m[8];
  if (!zone || zone === 'Z') return local;
  const z = /([+-])(\d{2}):?(\d{2})/.exec(zone)!;
  return local - (Number(z[2]) * 60 + Number(z[3])) * 60_000 * (z[1] === '-' ? -1 : 1);
}

/** A clock time of day, `07:16:30.444` or `7:16:30`, as ms after midnight; NaN otherwise. */
export function parseTimeOfDay(raw: string): number {
  const m = /^(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?$/.exec(raw.trim());
  if (!m) return NaN;
  const [h, mi, s] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (h > 23 || mi > 59 || s > 60) return NaN;
  return ((h * 60 + mi) * 60 + s) * 1000 + (m[4] ? Math.round(Number(`0.${m[4]}`) * 1000) : 0);
}

/**
 * The date (and time, when there) in a file name: Car Scanner names its logs `2024-05-12 21-36-00.csv`,
 * the KIT OBD Auto Doctor drives start `2017-07-05_...`. Epoch ms (UTC) or null.
 */
export function dateFromFileName(fileName: string | undefined): { ms: number; hasTime: boolean } | null {
  if (!fileName) return null;
  const base = fileName.replace(/^.*[\\/]/, '');
  const m = /(\d{4})-(\d{2})-(\d{2})(?:[ _T](\d{2})[-.:](\d{2})[-.:](\d{2}))?/.exec(base);
  if (!m) return null;
  const hasTime = m[4] !== undefined;
  const ms = utc(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    hasTime ? Number(m[4]) : 0,
    hasTime ? Number(m[5]) : 0,
    hasTime ? Number(m[6]) : 0,
    undefined,
  );
  const d = new Date(ms);
  // 2017-02-30 is no date: Date.UTC would roll it into March.
  if (!Number.isFinite(ms) || d.getUTCDate() !== Number(m[3]) || d.getUTCMonth() !== Number(m[2]) - 1) return null;
  return { ms, hasTime };
}
