/**
 * Wall-clock time in an IANA time zone, with Intl only. Opening hours are local ("08:00 in
 * Europe/Berlin"); slots and reservations are instants. The conversions must be right on the days the
 * clocks change: a local time is turned into an instant with the zone's offset at that instant, found
 * by a second pass when the first guess lands on the other side of the change.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** True when Intl knows the zone. */
export function isTimeZone(zone: string): boolean {
  try {
    formatterFor(zone);
    return true;
  } catch {
    return false;
  }
}

export interface LocalParts {
  /** YYYY-MM-DD in the zone. */
  day: string;
  /** ISO weekday, Monday = 1. */
  weekday: number;
  /** Minutes since local midnight. */
  minute: number;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** What the clock on the wall in `zone` shows at instant `ms`. */
export function localParts(ms: number, zone: string): LocalParts {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(zone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    day: `${parts.year}-${parts.month}-${parts.day}`,
    weekday: WEEKDAYS[parts.weekday!]!,
    minute: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

/** The zone's offset from UTC at instant `ms`, in milliseconds (east positive). */
export function offsetAt(ms: number, zone: string): number {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(zone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  const asUtc = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant the wall clock in `zone` shows `minute` minutes after midnight of `day` (YYYY-MM-DD).
 * A local time skipped by a forward change (02:30 on a spring-forward night) maps to the instant an
 * hour later on the wall; one shown twice (an autumn night) to its first occurrence.
 */
export function zonedInstant(day: string, minute: number, zone: string): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d) + minute * 60_000;
  // Zones change their offset at most once within a day: the offsets half a day either side are
  // the two candidates.
  const before = wall - offsetAt(wall - 12 * 3600_000, zone);
  const after = wall - offsetAt(wall + 12 * 3600_000, zone);
  const shows = (ms: number): boolean => {
    const p = localParts(ms, zone);
    return p.day === day && p.minute === minute;
  };
  const valid = [before, after].filter(shows);
  if (valid.length > 0) return Math.min(...valid);
  // A gap: the offset before the change puts it as far after the change as it was asked into it.
  return before;
}

/**
 * Local minutes of one day -> instants, fast: on a day without a change of offset (all but two a
 * year), one offset serves every minute; on the days of a change, each minute goes the careful way
 * (zonedInstant), and `exists` says whether the wall clock shows that minute at all.
 */
export function zonedDay(day: string, zone: string): { at(minute: number): number; exists(minute: number): boolean } {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const midnight = Date.UTC(y, m - 1, d);
  const early = offsetAt(midnight - 12 * 3600_000, zone);
  const late = offsetAt(midnight + 36 * 3600_000, zone);
  if (early === late && offsetAt(midnight + 12 * 3600_000, zone) === early)
    return { at: (minute) => midnight + minute * 60_000 - early, exists: () => true };
  return {
    at: (minute) => zonedInstant(day, minute, zone),
    exists: (minute) => {
      const p = localParts(zonedInstant(day, minute, zone), zone);
      return p.day === day && p.minute === minute;
    },
  };
}

/** The calendar day after `day` (YYYY-MM-DD). */
export function nextDay(day: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** ISO weekday (Monday = 1) of a calendar day. */
export function weekdayOf(day: string): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const w = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return w === 0 ? 7 : w;
}

/** Minutes since midnight of a `time` column value ('08:30:00'). */
export function minutesOfTime(time: string): number {
  const [h, m] = time.split(':').map(Number) as [number, number];
  return h * 60 + m;
}
