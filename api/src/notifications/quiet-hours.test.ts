import { describe, expect, it } from 'vitest';
import { holdUntil, isTimeZone, quietWindowEnd, zonedInstant } from './quiet-hours.js';

const at = (iso: string): Date => new Date(iso);
const night = { start: '22:00', end: '07:00' };

describe('quiet hours in the user’s time zone', () => {
  it('holds a message sent late in the evening until the next morning, local time', () => {
    // 23:30 in Berlin (CEST, UTC+2) -> 07:00 CEST next day = 05:00 UTC.
    expect(quietWindowEnd(at('2026-06-10T21:30:00Z'), 'Europe/Berlin', night)).toEqual(at('2026-06-11T05:00:00Z'));
    // 05:00 CEST, after midnight: the same morning.
    expect(quietWindowEnd(at('2026-06-11T03:00:00Z'), 'Europe/Berlin', night)).toEqual(at('2026-06-11T05:00:00Z'));
    // The same instant is afternoon in Los Angeles: no hold there.
    expect(quietWindowEnd(at('2026-06-11T03:00:00Z'), 'America/Los_Angeles', night)).toBeNull();
  });

  it('treats the window as [start, end): the end minute itself is free, the start minute is quiet', () => {
    expect(quietWindowEnd(at('2026-06-11T05:00:00Z'), 'Europe/Berlin', night)).toBeNull();
    expect(quietWindowEnd(at('2026-06-10T20:00:00Z'), 'Europe/Berlin', night)).toEqual(at('2026-06-11T05:00:00Z'));
    expect(quietWindowEnd(at('2026-06-10T19:59:59Z'), 'Europe/Berlin', night)).toBeNull();
  });

  it('handles a window that does not cross midnight and zones with half-hour offsets', () => {
    const lunch = { start: '12:00', end: '13:30' };
    // 12:15 in Kolkata (UTC+5:30) = 06:45 UTC; the window ends 13:30 IST = 08:00 UTC.
    expect(quietWindowEnd(at('2026-01-15T06:45:00Z'), 'Asia/Kolkata', lunch)).toEqual(at('2026-01-15T08:00:00Z'));
    expect(quietWindowEnd(at('2026-01-15T08:00:00Z'), 'Asia/Kolkata', lunch)).toBeNull();
  });

  it('ends at the right UTC instant across the spring change (the night is an hour shorter)', () => {
    // Berlin, 29 March 2026: 02:00 CET jumps to 03:00 CEST (01:00 UTC). At 00:30 CET (23:30 UTC the
    // evening before) the window ends at 07:00 CEST = 05:00 UTC, not 06:00.
    expect(quietWindowEnd(at('2026-03-28T23:30:00Z'), 'Europe/Berlin', night)).toEqual(at('2026-03-29T05:00:00Z'));
    // Started the evening before (22:30 CET = 21:30 UTC): the same end.
    expect(quietWindowEnd(at('2026-03-28T21:30:00Z'), 'Europe/Berlin', night)).toEqual(at('2026-03-29T05:00:00Z'));
  });

  it('ends at the right UTC instant across the autumn change (the night is an hour longer)', () => {
    // Berlin, 25 October 2026: 03:00 CEST falls back to 02:00 CET (01:00 UTC). 07:00 CET = 06:00 UTC.
    expect(quietWindowEnd(at('2026-10-24T22:30:00Z'), 'Europe/Berlin', night)).toEqual(at('2026-10-25T06:00:00Z'));
    // New York, 1 November 2026 (EDT -> EST at 06:00 UTC): 07:00 EST = 12:00 UTC.
    expect(quietWindowEnd(at('2026-11-01T03:00:00Z'), 'America/New_York', night)).toEqual(at('2026-11-01T12:00:00Z'));
  });

  it('never ends a window early when its end falls in the spring gap or happens twice', () => {
    // 02:30 does not exist in Berlin on 29 March 2026: the window ends after the gap, never before.
    const gap = quietWindowEnd(at('2026-03-28T22:00:00Z'), 'Europe/Berlin', { start: '22:00', end: '02:30' });
    expect(gap).toEqual(at('2026-03-29T01:30:00Z'));
    // 02:30 happens twice on 25 October 2026: the first one (CEST, 00:30 UTC).
    expect(zonedInstant('Europe/Berlin', { year: 2026, month: 10, day: 25, minutes: 150 })).toBe(
      Date.parse('2026-10-25T00:30:00Z'),
    );
  });

  it('recognises IANA time zones and refuses made-up ones', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});

describe('holdUntil: do-not-disturb and quiet hours together', () => {
  const rules = { timeZone: 'Europe/Berlin', quietHours: night, doNotDisturbUntil: null };

  it('sends at once outside every rule', () => {
    expect(holdUntil(at('2026-06-10T10:00:00Z'), rules)).toBeNull();
  });

  it('holds until do-not-disturb ends', () => {
    const dnd = at('2026-06-10T12:00:00Z');
    expect(holdUntil(at('2026-06-10T10:00:00Z'), { ...rules, doNotDisturbUntil: dnd })).toEqual(dnd);
    expect(holdUntil(at('2026-06-10T12:00:00Z'), { ...rules, doNotDisturbUntil: dnd })).toBeNull();
  });

  it('holds past quiet hours when do-not-disturb ends inside them', () => {
    // DND until 23:30 CEST, inside the 22:00-07:00 window: the message waits for 07:00.
    const dnd = at('2026-06-10T21:30:00Z');
    expect(holdUntil(at('2026-06-10T10:00:00Z'), { ...rules, doNotDisturbUntil: dnd })).toEqual(
      at('2026-06-11T05:00:00Z'),
    );
  });

  it('holds past do-not-disturb when it outlasts the quiet window', () => {
    const dnd = at('2026-06-11T09:00:00Z');
    expect(holdUntil(at('2026-06-10T21:30:00Z'), { ...rules, doNotDisturbUntil: dnd })).toEqual(dnd);
  });
});
