/**
 * Quiet hours and do-not-disturb, read in the user's own time zone (docs/notifications.md). Pure
 * functions of an instant and the settings: the dispatcher and the send job ask `holdUntil` and, when
 * it answers a time, defer the delivery to it; nothing is ever dropped.
 */

const DAY_MS = 86_400_000;

interface WallClock {
  year: number;
  month: number;
  day: number;
  /** Minutes since local midnight. */
  minutes: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

function formatOf(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(timeZone, format);
  }
  return format;
}

/** True for a time zone this runtime knows (IANA names, `UTC`). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatOf(timeZone);
    return true;
  } catch {
    return false;
  }
}

function partsAt(timeZone: string, instant: number): WallClock & { second: number } {
  const parts: Record<string, number> = {};
  for (const p of formatOf(timeZone).formatToParts(instant)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    minutes: parts.hour! * 60 + parts.minute!,
    second: parts.second!,
  };
}

/** Local time minus UTC at `instant`, in ms (whole seconds: every zone's offset since 1972 is). */
function offsetAt(timeZone: string, instant: number): number {
  const p = partsAt(timeZone, instant);
  const wall = Date.UTC(p.year, p.month - 1, p.day, 0, p.minutes, p.second);
  return wall - (instant - (((instant % 1000) + 1000) % 1000));
}

/**
 * The instant a local wall-clock time happens in `timeZone`. Across a daylight-saving change the
 * offsets of the day before and after give two candidates: a time that happens twice (autumn) is
 * its first occurrence; a time that never happens (the spring gap) is taken with the offset from
 * before the change, which is after the gap, so a window never ends early.
 */
export function zonedInstant(timeZone: string, wall: WallClock): number {
  const naive = Date.UTC(wall.year, wall.month - 1, wall.day, 0, wall.minutes);
  const candidates = [offsetAt(timeZone, naive - DAY_MS), offsetAt(timeZone, naive + DAY_MS)].map((o) => naive - o);
  const valid = candidates.filter((t) => offsetAt(timeZone, t) === naive - t);
  return valid.length > 0 ? Math.min(...valid) : Math.max(...candidates);
}

/** `HH:MM` (or PostgreSQL's `HH:MM:SS`) as minutes since midnight. */
export function minutesOf(time: string): number {
  const match = /^([01]\d|2[0-3]):([0-5]\d)(?::[0-5]\d(?:\.\d+)?)?$/.exec(time);
  if (!match) throw new RangeError(`not a time of day: ${time}`);
  return Number(match[1]) * 60 + Number(match[2]);
}

/** The local calendar day after `wall`'s. */
function nextDay(wall: WallClock): Pick<WallClock, 'year' | 'month' | 'day'> {
  const d = new Date(Date.UTC(wall.year, wall.month - 1, wall.day + 1));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/**
 * When the quiet window holding `at` ends (null when `at` is outside it). The window is
 * [start, end) in local time; `end` before `start` crosses midnight (22:00-07:00).
 */
export function quietWindowEnd(at: Date, timeZone: string, window: { start: string; end: string }): Date | null {
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  if (start === end) return null;
  const now = partsAt(timeZone, at.getTime());
  const crosses = end < start;
  const inside = crosses ? now.minutes >= start || now.minutes < end : now.minutes >= start && now.minutes < end;
  if (!inside) return null;
  // Past midnight the end is today; before it (in the evening part) it is tomorrow.
  const day = crosses && now.minutes >= start ? nextDay(now) : now;
  const ends = zonedInstant(timeZone, { ...day, minutes: end });
  // A clock change inside the window can put the computed end at or before now: hold a minute more
  // rather than release early or loop.
  return new Date(ends > at.getTime() ? ends : at.getTime() + 60_000);
}

export interface HoldRules {
  timeZone: string;
  quietHours: { start: string; end: string } | null;
  doNotDisturbUntil: Date | null;
}

/**
 * Until when a disturbing delivery (push, e-mail, SMS) must wait, or null to send now: do-not-disturb
 * until its end, quiet hours until the window's end, and both in turn when one ends inside the other.
 */
export function holdUntil(now: Date, rules: HoldRules): Date | null {
  let at = now;
  // Each step moves forward past one rule; three settle any mix of one DND and daily windows.
  for (let step = 0; step < 4; step++) {
    let moved = false;
    if (rules.doNotDisturbUntil !== null && rules.doNotDisturbUntil.getTime() > at.getTime()) {
      at = rules.doNotDisturbUntil;
      moved = true;
    }
    const end = rules.quietHours ? quietWindowEnd(at, rules.timeZone, rules.quietHours) : null;
    if (end) {
      at = end;
      moved = true;
    }
    if (!moved) break;
  }
  return at.getTime() > now.getTime() ? at : null;
}
