import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BusyIndex,
  computeSlots,
  isGridStart,
  type CapacityResource,
  type ServiceNeeds,
  type ShopCalendar,
} from './availability.js';
import { localParts, zonedDay, zonedInstant } from './zoned-time.js';

const M = 60_000;
const at = (iso: string): number => Date.parse(iso);
const service = (over: Partial<ServiceNeeds> = {}): ServiceNeeds => ({
  durationMinutes: 60,
  bufferBeforeMinutes: 0,
  bufferAfterMinutes: 0,
  requiredSkill: 'brakes',
  needsLift: false,
  requiredEquipment: [],
  ...over,
});
const resources: CapacityResource[] = [
  { id: 'a-bay', kind: 'bay', skills: [] },
  { id: 'b-lift', kind: 'lift', skills: [] },
  { id: 'c-tech', kind: 'technician', skills: ['brakes', 'oil_change'] },
  { id: 'd-tech', kind: 'technician', skills: ['oil_change'] },
];
const everyDay = (opens: number, closes: number): ShopCalendar['hours'] =>
  [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, opens, closes }));

describe('wall-clock time in a shop time zone', () => {
  it('turns local times into instants across the spring-forward gap and the autumn overlap (Europe/Berlin)', () => {
    expect(zonedInstant('2027-03-28', 60, 'Europe/Berlin')).toBe(at('2027-03-28T00:00:00Z'));
    expect(zonedInstant('2027-03-28', 180, 'Europe/Berlin')).toBe(at('2027-03-28T01:00:00Z'));
    // 02:30 does not exist that night: an hour later on the wall.
    expect(zonedInstant('2027-03-28', 150, 'Europe/Berlin')).toBe(at('2027-03-28T01:30:00Z'));
    // 02:30 happens twice on 31 October: the first (summer time).
    expect(zonedInstant('2027-10-31', 150, 'Europe/Berlin')).toBe(at('2027-10-31T00:30:00Z'));
    expect(zonedInstant('2027-10-31', 210, 'Europe/Berlin')).toBe(at('2027-10-31T02:30:00Z'));
    expect(zonedInstant('2027-07-01', 8 * 60, 'America/New_York')).toBe(at('2027-07-01T12:00:00Z'));
    expect(localParts(at('2027-03-28T01:00:00Z'), 'Europe/Berlin')).toEqual({
      day: '2027-03-28',
      weekday: 7,
      minute: 180,
    });
  });
});

describe('a day of wall-clock time', () => {
  it('gives every minute the same instant as the careful conversion, on ordinary days and on change days', () => {
    const days = ['2027-03-28', '2027-10-31', '2027-03-14', '2027-11-07', '2027-04-04', '2027-10-03', '2027-06-15'];
    for (const zone of ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'UTC', 'Asia/Kolkata'])
      for (const day of days) {
        const clock = zonedDay(day, zone);
        for (let m = 0; m < 24 * 60; m += 15) {
          expect(clock.at(m), `${zone} ${day} ${m}`).toBe(zonedInstant(day, m, zone));
          const p = localParts(clock.at(m), zone);
          expect(clock.exists(m), `${zone} ${day} ${m}`).toBe(p.day === day && p.minute === m);
        }
      }
  });
});

describe('slots', () => {
  const base = {
    resources,
    busy: [],
    days: 1,
    stepMinutes: 60,
    now: at('2027-01-01T00:00:00Z'),
    leadMinutes: 0,
  };

  it('follows the wall clock on the night the clocks go forward: no slot in the gap, none twice', () => {
    const slots = computeSlots({
      ...base,
      calendar: { timeZone: 'Europe/Berlin', hours: everyDay(60, 300), specialDays: [] },
      service: service(),
      from: at('2027-03-27T23:00:00Z'), // 00:00 local on the 28th
    });
    expect(slots.map((s) => new Date(s.startsAt).toISOString())).toEqual([
      '2027-03-28T00:00:00.000Z', // 01:00 CET
      '2027-03-28T01:00:00.000Z', // 03:00 CEST
      '2027-03-28T02:00:00.000Z', // 04:00 CEST
    ]);
  });

  it('keeps the shop hours in local time when the clocks go back', () => {
    const slots = computeSlots({
      ...base,
      calendar: { timeZone: 'Europe/Berlin', hours: everyDay(8 * 60, 10 * 60), specialDays: [] },
      service: service(),
      from: at('2027-10-30T22:00:00Z'),
      days: 2,
    });
    // 08:00 and 09:00 local: UTC+2 on the 30th... then UTC+1 from the 31st.
    expect(slots.map((s) => new Date(s.startsAt).toISOString())).toEqual([
      '2027-10-31T07:00:00.000Z',
      '2027-10-31T08:00:00.000Z',
      '2027-11-01T07:00:00.000Z',
      '2027-11-01T08:00:00.000Z',
    ]);
  });

  it('replaces a weekday by its special day: closed, or other hours', () => {
    const calendar: ShopCalendar = {
      timeZone: 'UTC',
      hours: everyDay(8 * 60, 12 * 60),
      specialDays: [
        { day: '2027-05-03', opens: null, closes: null },
        { day: '2027-05-04', opens: 14 * 60, closes: 16 * 60 },
      ],
    };
    const starts = computeSlots({
      ...base,
      calendar,
      service: service(),
      from: at('2027-05-03T00:00:00Z'),
      days: 2,
    }).map((s) => new Date(s.startsAt).toISOString());
    expect(starts).toEqual(['2027-05-04T14:00:00.000Z', '2027-05-04T15:00:00.000Z']);
  });

  it('needs a free technician with the skill, a workplace (a lift when asked) and the equipment, buffers included', () => {
    const calendar: ShopCalendar = { timeZone: 'UTC', hours: everyDay(8 * 60, 12 * 60), specialDays: [] };
    const from = at('2027-05-05T00:00:00Z');
    const q = { ...base, calendar, from, stepMinutes: 15 };
    // The only brakes technician is busy until 09:00; with 15 minutes to prepare, 09:15 is the first slot.
    const busy = [{ resourceId: 'c-tech', start: at('2027-05-05T08:00:00Z'), end: at('2027-05-05T09:00:00Z') }];
    const first = computeSlots({ ...q, busy, service: service({ bufferBeforeMinutes: 15 }) })[0]!;
    expect(new Date(first.startsAt).toISOString()).toBe('2027-05-05T09:15:00.000Z');
    // Oil changes: two technicians and two workplaces.
    expect(computeSlots({ ...q, service: service({ requiredSkill: 'oil_change' }) })[0]!.capacity).toBe(2);
    // A lift: one.
    expect(
      computeSlots({ ...q, service: service({ requiredSkill: 'oil_change', needsLift: true }) })[0]!.capacity,
    ).toBe(1);
    // Equipment nobody has: nothing.
    expect(computeSlots({ ...q, service: service({ requiredEquipment: ['ac_station'] }) })).toEqual([]);
    // The service must fit inside the hours: 60 minutes end at 12:00 at the latest.
    const last = computeSlots({ ...q, service: service() }).at(-1)!;
    expect(new Date(last.endsAt).toISOString()).toBe('2027-05-05T12:00:00.000Z');
    expect(isGridStart({ ...q, service: service() }, at('2027-05-05T11:00:00Z'))).toBe(true);
    expect(isGridStart({ ...q, service: service() }, at('2027-05-05T11:15:00Z'))).toBe(false);
    expect(isGridStart({ ...q, service: service() }, at('2027-05-05T10:10:00Z'))).toBe(false);
  });

  it('answers free or busy exactly like a scan of every interval', () => {
    const interval = fc.record({ start: fc.integer({ min: 0, max: 200 }), len: fc.integer({ min: 1, max: 30 }) });
    fc.assert(
      fc.property(fc.array(interval, { maxLength: 30 }), interval, (raw, probe) => {
        // Live reservations of one resource never overlap: lay them end to end.
        let t = 0;
        const busy = raw.map((r) => {
          const start = t + r.start;
          t = start + r.len;
          return { resourceId: 'x', start: start * M, end: t * M };
        });
        const index = new BusyIndex(busy);
        const s = probe.start * 10 * M;
        const e = s + probe.len * M;
        const naive = busy.every((b) => b.end <= s || b.start >= e);
        expect(index.isFree('x', s, e)).toBe(naive);
      }),
      { numRuns: 500 },
    );
  });
});
