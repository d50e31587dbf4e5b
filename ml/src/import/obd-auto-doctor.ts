import { normaliseName } from './columns.js';
import { dateFromFileName, parseIsoTime, parseTimeOfDay } from './times.js';
import { parseNumber } from './csv.js';
import { parseWide } from './wide.js';
import type { ParsedLog } from './types.js';

const DAY_MS = 86_400_000;

/** An OBD Auto Doctor header: a first column named Time, then `Name [unit]` (or `Name (unit)`) columns. */
export function isObdAutoDoctorHeader(fields: readonly string[]): boolean {
  return /^time( s| ms)?$/.test(normaliseName(fields[0] ?? '')) && fields.length > 1;
}

type ClockKind = 'iso' | 'time-of-day' | 'seconds';

/**
 * OBD Auto Doctor's CSV export (the KIT Seat Leon data set was logged with it): `Time,Engine RPM
 * [RPM],Vehicle Speed Sensor [km/h],...`, one row per reading cycle, each row repeating the latest
 * value of every signal, empty until a signal was first read. Time is a clock time of day
 * (`07:16:30.444`), a date and time, or seconds. A clock time gets its date from the file name when
 * it has one (`2017-07-05_...csv`, read as UTC), else times are ms from the first row.
 */
export function parseObdAutoDoctor(lines: readonly string[], fileName?: string): ParsedLog {
  let kind: ClockKind | null = null;
  let previous = Number.NaN;
  let days = 0;
  const parsed = parseWide(lines, () => ({
    timeColumns: new Set([0]),
    clock: (fields) => {
      const raw = fields[0] ?? '';
      const iso = parseIsoTime(raw);
      if (Number.isFinite(iso)) {
        kind ??= 'iso';
        return kind === 'iso' ? iso : NaN;
      }
      const tod = parseTimeOfDay(raw);
      if (Number.isFinite(tod)) {
        kind ??= 'time-of-day';
        if (kind !== 'time-of-day') return NaN;
        // Past midnight the clock starts again: a jump back of more than half a day is the next day.
        if (tod + days * DAY_MS < previous - DAY_MS / 2) days++;
        previous = tod + days * DAY_MS;
        return previous;
      }
      const seconds = parseNumber(raw);
      if (seconds !== null) {
        kind ??= 'seconds';
        return kind === 'seconds' ? seconds * 1000 : NaN;
      }
      return NaN;
    },
  }));
  const warnings = [...parsed.warnings];
  let shift = 0;
  let startedAt: number | null = null;
  if (Number.isFinite(parsed.firstTime)) {
    const fileDate = dateFromFileName(fileName);
    if (kind === 'iso') startedAt = parsed.firstTime;
    else if (kind === 'time-of-day' && fileDate) {
      const midnight = fileDate.ms - (fileDate.ms % DAY_MS);
      shift = midnight;
      startedAt = midnight + parsed.firstTime;
      warnings.push('the date comes from the file name and the clock has no time zone: read as UTC');
    } else {
      shift = -parsed.firstTime;
      warnings.push('the file carries no date: times are from the first row');
    }
  }
  return {
    format: 'obd-auto-doctor',
    readings: shift === 0 ? parsed.readings : parsed.readings.map((r) => ({ ...r, time: (r.time as number) + shift })),
    startedAt,
    columns: parsed.columns,
    warnings,
    rows: parsed.rows,
    skippedRows: parsed.skippedRows,
  };
}
