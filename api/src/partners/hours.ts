import { apiError } from '../errors.js';

/** One opening interval of a weekday, local time of the shop: [opens, closes), `HH:MM`. */
export interface WeeklyInterval {
  weekday: number;
  opens: string;
  closes: string;
}

/** A day whose hours replace the weekday's: no times = closed all day; else one interval of special hours. */
export interface SpecialDay {
  day: string;
  opens?: string | null | undefined;
  closes?: string | null | undefined;
  note?: string | undefined;
}

/** `HH:MM` from 00:00 to 23:59, and 24:00 as the end of a day. */
export const CLOCK_TIME = /^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/;
export const LOCAL_DATE = /^\d{4}-\d{2}-\d{2}$/;

const minutes = (t: string): number => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));

function invalid(pointer: string, detail: string): Error {
  return apiError('VALIDATION_FAILED', `Invalid body: ${pointer.slice(6)}: ${detail}`, {
    errors: [{ pointer, detail }],
  });
}

/**
 * Intervals of one key (a weekday, a day) must not overlap (touching is fine: 08:00-12:00 and
 * 12:00-18:00), and each must close after it opens. Throws VALIDATION_FAILED naming the entry.
 */
function checkIntervals<T extends { opens: string; closes: string }>(
  entries: readonly T[],
  keyOf: (e: T) => string,
  pointer: string,
): void {
  const byKey = new Map<string, { index: number; from: number; to: number }[]>();
  entries.forEach((e, index) => {
    const from = minutes(e.opens);
    const to = minutes(e.closes);
    if (e.opens === '24:00') throw invalid(`${pointer}/${index}/opens`, 'a day has no 24:00 to open at');
    if (to <= from) throw invalid(`${pointer}/${index}/closes`, 'must be after opens (no overnight intervals)');
    const list = byKey.get(keyOf(e)) ?? [];
    list.push({ index, from, to });
    byKey.set(keyOf(e), list);
  });
  for (const list of byKey.values()) {
    list.sort((a, b) => a.from - b.from);
    for (let i = 1; i < list.length; i++)
      if (list[i]!.from < list[i - 1]!.to)
        throw invalid(`${pointer}/${list[i]!.index}`, 'overlaps another interval of the same day');
  }
}

export function checkWeeklyHours(hours: readonly WeeklyInterval[]): void {
  checkIntervals(hours, (h) => String(h.weekday), '/body/hours');
}

/** A real calendar date (not 2026-02-30). */
export function isCalendarDate(day: string): boolean {
  if (!LOCAL_DATE.test(day)) return false;
  const d = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === day;
}

/**
 * Special days: a real date each; a day closed all day is that day's only entry; special hours do
 * not overlap within a day.
 */
export function checkSpecialDays(days: readonly SpecialDay[]): void {
  const closed = new Set<string>();
  const withHours = new Set<string>();
  days.forEach((d, index) => {
    if (!isCalendarDate(d.day)) throw invalid(`/body/days/${index}/day`, 'must be a calendar date YYYY-MM-DD');
    const hasOpens = d.opens !== undefined && d.opens !== null;
    const hasCloses = d.closes !== undefined && d.closes !== null;
    if (hasOpens !== hasCloses) throw invalid(`/body/days/${index}`, 'give both opens and closes, or neither (closed)');
    if (hasOpens) {
      if (closed.has(d.day)) throw invalid(`/body/days/${index}`, 'this day is already closed all day');
      withHours.add(d.day);
    } else {
      if (closed.has(d.day) || withHours.has(d.day))
        throw invalid(`/body/days/${index}`, 'a day closed all day has no other entry');
      closed.add(d.day);
    }
  });
  checkIntervals(
    days.filter((d) => d.opens != null).map((d) => ({ ...d, opens: d.opens!, closes: d.closes! })),
    (d) => d.day,
    '/body/days',
  );
}

/**
 * An IANA time zone name the runtime knows ("Europe/Berlin", "UTC"), not an offset ("+01:00"),
 * which Intl also accepts: a shop's hours follow its zone's daylight saving rules. The database
 * must know it too (the service asks it), since open-now is computed there.
 */
export function isIanaTimeZone(name: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+/-]{0,63}$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * SQL: whether the shop `p` (a row alias of partners) is open at `at` (a timestamptz expression),
 * in the shop's time zone: a special day's rows replace the weekday's hours (NULL times: closed all
 * day); intervals are [opens, closes). Inline subqueries rather than a function: PostgreSQL plans
 * them once per statement, where a function's body would run per row.
 */
export function openAtSql(p: string, at: string): string {
  const local = `(${at} AT TIME ZONE ${p}.time_zone)`;
  return `CASE WHEN EXISTS (SELECT 1 FROM partner_holidays h WHERE h.partner_id = ${p}.id AND h.day = ${local}::date)
    THEN EXISTS (SELECT 1 FROM partner_holidays h
                  WHERE h.partner_id = ${p}.id AND h.day = ${local}::date AND ${local}::time >= h.opens AND ${local}::time < h.closes)
    ELSE EXISTS (SELECT 1 FROM partner_opening_hours o
                  WHERE o.partner_id = ${p}.id AND o.weekday = extract(isodow FROM ${local})
                    AND ${local}::time >= o.opens AND ${local}::time < o.closes) END`;
}
