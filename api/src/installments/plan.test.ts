import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { localParts } from '../bookings/zoned-time.js';
import {
  attemptAt,
  bpsOf,
  computeSchedule,
  DEFAULT_TERMS,
  dueDates,
  lateFee,
  pastGrace,
  payoffAmount,
  PlanInputError,
  split,
  termsFor,
  validateTerms,
  type InstallmentState,
  type PlanSchedule,
  type RegionTerms,
} from './plan.js';

const DAY = 24 * 3600_000;
const ZONES = ['UTC', 'Africa/Cairo', 'Asia/Riyadh', 'Asia/Dubai', 'Europe/Berlin', 'America/New_York', 'Pacific/Apia'];

const pricing = fc.oneof(
  fc.record({ kind: fc.constant('flat_fee' as const), feeBps: fc.integer({ min: 0, max: 10_000 }) }),
  fc.record({ kind: fc.constant('apr' as const), aprBps: fc.integer({ min: 0, max: 10_000 }) }),
);

const termsArb: fc.Arbitrary<RegionTerms> = pricing.map((p) => ({
  ...DEFAULT_TERMS.default!,
  counts: [1, 2, 3, 6, 12, 24, 60],
  minFinancedMinor: 1,
  maxFinancedMinor: 1_000_000_000_000,
  pricing: p,
}));

const planArb = fc.record({
  financedMinor: fc.integer({ min: 6_000, max: 1_000_000_000_000 }),
  count: fc.constantFrom(1, 2, 3, 6, 12, 24, 60),
  terms: termsArb,
  start: fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2035-01-01T00:00:00Z'), noInvalidDate: true }),
  firstDueOffsetMs: fc.integer({ min: 0, max: 62 * DAY }),
  timeZone: fc.constantFrom(...ZONES),
});

type PlanCase = typeof planArb extends fc.Arbitrary<infer T> ? T : never;

function schedule(p: PlanCase): PlanSchedule {
  return computeSchedule({
    financedMinor: p.financedMinor,
    currency: 'EGP',
    count: p.count,
    terms: p.terms,
    start: p.start,
    firstDueAt: new Date(p.start.getTime() + p.firstDueOffsetMs),
    timeZone: p.timeZone,
  });
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

describe('plan calculation', () => {
  it('principals sum to the financed amount exactly; every amount is a non-negative integer', () => {
    fc.assert(
      fc.property(planArb, (p) => {
        const s = schedule(p);
        expect(s.installments).toHaveLength(p.count);
        expect(sum(s.installments.map((i) => i.principalMinor))).toBe(p.financedMinor);
        for (const i of s.installments) {
          // A long first period at a high rate may be all interest: principal 0, never negative.
          expect(Number.isSafeInteger(i.principalMinor) && i.principalMinor >= 0).toBe(true);
          expect(i.principalMinor + i.feeMinor).toBeGreaterThan(0);
          expect(Number.isSafeInteger(i.feeMinor) && i.feeMinor >= 0).toBe(true);
          expect(i.totalMinor).toBe(i.principalMinor + i.feeMinor);
        }
        expect(s.totalFeeMinor).toBe(sum(s.installments.map((i) => i.feeMinor)));
        expect(s.totalMinor).toBe(p.financedMinor + s.totalFeeMinor);
      }),
      { numRuns: 2000 },
    );
  });

  it('a flat fee is the fee rate of the financed amount, spread within one minor unit', () => {
    fc.assert(
      fc.property(planArb, (p) => {
        fc.pre(p.terms.pricing.kind === 'flat_fee');
        const s = schedule(p);
        const feeBps = p.terms.pricing.kind === 'flat_fee' ? p.terms.pricing.feeBps : 0;
        expect(s.totalFeeMinor).toBe(bpsOf(p.financedMinor, feeBps));
        const fees = s.installments.map((i) => i.feeMinor);
        const principals = s.installments.map((i) => i.principalMinor);
        expect(Math.max(...fees) - Math.min(...fees)).toBeLessThanOrEqual(1);
        expect(Math.max(...principals) - Math.min(...principals)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 1000 },
    );
  });

  it('an APR plan charges interest on what is outstanding and nothing at 0 %', () => {
    fc.assert(
      fc.property(planArb, (p) => {
        fc.pre(p.terms.pricing.kind === 'apr');
        const s = schedule(p);
        const apr = p.terms.pricing.kind === 'apr' ? p.terms.pricing.aprBps : 0;
        if (apr === 0) expect(s.totalFeeMinor).toBe(0);
        // Interest never exceeds a full year's rate on the whole amount for the plan's duration.
        const years = (p.count + 2) / 12;
        expect(s.totalFeeMinor).toBeLessThanOrEqual(Math.ceil((p.financedMinor * apr * years) / 10_000) + p.count);
        // Level payments: after the first (which may cover a shorter or longer period), totals differ little.
        const later = s.installments.slice(1).map((i) => i.totalMinor);
        if (later.length > 1) expect(Math.max(...later) - Math.min(...later)).toBeLessThanOrEqual(2 + later.length);
      }),
      { numRuns: 1000 },
    );
  });

  it('an APR example: 12 % a year over 3 months on 1000.00 due now and monthly', () => {
    const s = computeSchedule({
      financedMinor: 100_000,
      currency: 'AED',
      count: 3,
      terms: termsFor('AE'),
      start: new Date('2026-01-15T10:00:00Z'),
      firstDueAt: new Date('2026-01-15T10:00:00Z'),
      timeZone: 'Asia/Dubai',
    });
    // The first installment is due at once: no time has passed, no interest on it.
    expect(s.installments[0]!.feeMinor).toBe(0);
    // Level payments of 336.65: the first all principal, then 1 % a month on 663.34 and on 333.32.
    expect(s.installments.map((i) => i.principalMinor)).toEqual([33_666, 33_002, 33_332]);
    expect(s.installments.map((i) => i.feeMinor)).toEqual([0, 663, 333]);
    expect(s.installments.map((i) => i.totalMinor)).toEqual([33_666, 33_665, 33_665]);
    expect(s.totalMinor).toBe(100_996);
  });

  it('due dates: monthly on the same local day and time, clamped to the end of the month, in the customer zone', () => {
    fc.assert(
      fc.property(planArb, (p) => {
        const first = new Date(p.start.getTime() + p.firstDueOffsetMs);
        const dues = dueDates(first, p.count, p.timeZone);
        const l0 = localParts(first.getTime(), p.timeZone);
        const day0 = Number(l0.day.slice(8));
        for (let k = 1; k < dues.length; k++) {
          expect(dues[k]!.getTime()).toBeGreaterThan(dues[k - 1]!.getTime());
          const l = localParts(dues[k]!.getTime(), p.timeZone);
          const [y, m] = l.day.split('-').map(Number) as [number, number];
          const [y0, m0] = l0.day.split('-').map(Number) as [number, number];
          expect((y - y0) * 12 + (m - m0)).toBe(k);
          const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
          expect(Number(l.day.slice(8))).toBe(Math.min(day0, last));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the 31st becomes the last day of shorter months, and the local time stays across a clock change', () => {
    const dues = dueDates(new Date('2026-01-31T09:30:00Z'), 4, 'Europe/Berlin'); // 10:30 local (CET)
    expect(dues.map((d) => d.toISOString())).toEqual([
      '2026-01-31T09:30:00.000Z',
      '2026-02-28T09:30:00.000Z',
      '2026-03-31T08:30:00.000Z', // CEST: still 10:30 on the wall
      '2026-04-30T08:30:00.000Z',
    ]);
    expect(dueDates(new Date('2028-01-30T12:00:00Z'), 2, 'UTC')[1]!.toISOString()).toBe('2028-02-29T12:00:00.000Z');
  });

  it('refuses what the terms do not allow, with the field at fault', () => {
    const base = {
      financedMinor: 100_000,
      currency: 'EGP',
      count: 3,
      terms: termsFor('EG'),
      start: new Date('2026-03-01T00:00:00Z'),
      firstDueAt: new Date('2026-03-01T00:00:00Z'),
      timeZone: 'Africa/Cairo',
    };
    const fieldOf = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (err) {
        if (err instanceof PlanInputError) return err.field;
        throw err;
      }
      return undefined;
    };
    expect(fieldOf(() => computeSchedule(base))).toBeUndefined();
    expect(fieldOf(() => computeSchedule({ ...base, count: 5 }))).toBe('count');
    expect(fieldOf(() => computeSchedule({ ...base, currency: 'SAR' }))).toBe('currency');
    expect(fieldOf(() => computeSchedule({ ...base, financedMinor: 10 }))).toBe('amount');
    expect(fieldOf(() => computeSchedule({ ...base, financedMinor: 1.5 }))).toBe('amount');
    expect(fieldOf(() => computeSchedule({ ...base, financedMinor: 10 ** 12 }))).toBe('amount');
    expect(fieldOf(() => computeSchedule({ ...base, firstDueAt: new Date('2026-02-01T00:00:00Z') }))).toBe(
      'firstDueAt',
    );
    expect(fieldOf(() => computeSchedule({ ...base, firstDueAt: new Date('2026-06-01T00:00:00Z') }))).toBe(
      'firstDueAt',
    );
    expect(termsFor('fr').region).toBe('default');
    expect(termsFor('eg').region).toBe('EG');
    for (const t of Object.values(DEFAULT_TERMS)) expect(() => validateTerms(t)).not.toThrow();
    expect(() => validateTerms({ ...DEFAULT_TERMS.EG!, dunning: { retryAfterDays: [3, 1], graceDays: 1 } })).toThrow(
      PlanInputError,
    );
  });

  it('split never loses or creates a minor unit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000_000_000 }),
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 60 }),
        (amount, ratios) => {
          const parts = split(amount, 'USD', ratios);
          expect(parts).toHaveLength(ratios.length);
          expect(sum(parts)).toBe(amount);
          expect(parts.every((x) => Number.isSafeInteger(x) && x >= 0)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('early payoff', () => {
  const states = (s: PlanSchedule, paid: number): InstallmentState[] =>
    s.installments.map((i) => ({ ...i, lateFeeMinor: 0, settled: i.seq <= paid }));

  it('is the unpaid principal plus fees accrued to date, never more than the rest of the schedule', () => {
    fc.assert(
      fc.property(planArb, fc.nat(), fc.integer({ min: 0, max: 62 * 30 * DAY }), (p, paidSeed, offset) => {
        const s = schedule(p);
        const paid = paidSeed % (p.count + 1);
        const at = new Date(p.start.getTime() + offset);
        const payoff = payoffAmount(p.start, states(s, paid), at);
        const rest = s.installments.filter((i) => i.seq > paid);
        expect(payoff.principalMinor).toBe(sum(rest.map((i) => i.principalMinor)));
        expect(payoff.amountMinor).toBeLessThanOrEqual(sum(rest.map((i) => i.totalMinor)));
        expect(payoff.feeMinor + payoff.feeWaivedMinor).toBe(sum(rest.map((i) => i.feeMinor)));
        // Fees of periods that have not begun are never owed.
        for (const line of payoff.lines) {
          const inst = s.installments[line.seq - 1]!;
          const begun = line.seq === 1 ? p.start : s.installments[line.seq - 2]!.dueAt;
          if (at.getTime() <= begun.getTime()) expect(line.feeMinor).toBe(0);
          if (at.getTime() >= inst.dueAt.getTime()) expect(line.feeMinor).toBe(inst.feeMinor);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('grows with time and reaches the whole rest of the schedule after the last due date', () => {
    fc.assert(
      fc.property(
        planArb,
        fc.integer({ min: 0, max: 40 * 30 * DAY }),
        fc.integer({ min: 0, max: 30 * DAY }),
        (p, a, b) => {
          const s = schedule(p);
          const st = states(s, 0);
          const t1 = payoffAmount(p.start, st, new Date(p.start.getTime() + a));
          const t2 = payoffAmount(p.start, st, new Date(p.start.getTime() + a + b));
          expect(t2.amountMinor).toBeGreaterThanOrEqual(t1.amountMinor);
          const end = payoffAmount(p.start, st, new Date(s.installments.at(-1)!.dueAt.getTime() + 1));
          expect(end.amountMinor).toBe(s.totalMinor);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('halfway through a period owes half its fee, plus the late fees already added', () => {
    const start = new Date('2026-03-01T00:00:00Z');
    const insts: InstallmentState[] = [
      { seq: 1, dueAt: start, principalMinor: 1000, feeMinor: 0, lateFeeMinor: 0, settled: true },
      {
        seq: 2,
        dueAt: new Date('2026-04-01T00:00:00Z'),
        principalMinor: 1000,
        feeMinor: 62,
        lateFeeMinor: 0,
        settled: false,
      },
      {
        seq: 3,
        dueAt: new Date('2026-05-01T00:00:00Z'),
        principalMinor: 1000,
        feeMinor: 60,
        lateFeeMinor: 0,
        settled: false,
      },
    ];
    const payoff = payoffAmount(start, insts, new Date('2026-03-16T12:00:00Z'));
    expect(payoff).toMatchObject({
      principalMinor: 2000,
      feeMinor: 31,
      lateFeeMinor: 0,
      feeWaivedMinor: 91,
      amountMinor: 2031,
    });
    insts[1] = { ...insts[1]!, lateFeeMinor: 50 };
    expect(payoffAmount(start, insts, new Date('2026-04-10T00:00:00Z')).amountMinor).toBe(2000 + 62 + 50 + 18);
  });
});

describe('late fees and dunning', () => {
  it('a fixed fee, or a share capped', () => {
    expect(lateFee({ kind: 'fixed', amountMinor: 5000 }, 1)).toBe(5000);
    expect(lateFee({ kind: 'percent', bps: 200, capMinor: 5000 }, 10_000)).toBe(200);
    expect(lateFee({ kind: 'percent', bps: 200, capMinor: 5000 }, 10_000_000)).toBe(5000);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 1e9 }),
        fc.nat(1e12),
        (bps, cap, total) => {
          const fee = lateFee({ kind: 'percent', bps, capMinor: cap }, total);
          expect(fee).toBeLessThanOrEqual(cap);
          expect(fee).toBeLessThanOrEqual(total);
          expect(Number.isSafeInteger(fee) && fee >= 0).toBe(true);
        },
      ),
    );
  });

  it('attempts on the due date, then after 1, 3 and 7 days; late after the grace period', () => {
    const due = new Date('2026-03-01T10:00:00Z');
    const rule = { retryAfterDays: [1, 3, 7], graceDays: 3 };
    expect([1, 2, 3, 4, 5].map((a) => attemptAt(due, a, rule)?.toISOString() ?? null)).toEqual([
      '2026-03-01T10:00:00.000Z',
      '2026-03-02T10:00:00.000Z',
      '2026-03-04T10:00:00.000Z',
      '2026-03-08T10:00:00.000Z',
      null,
    ]);
    expect(pastGrace(due, new Date('2026-03-04T09:59:59Z'), rule)).toBe(false);
    expect(pastGrace(due, new Date('2026-03-04T10:00:00Z'), rule)).toBe(true);
  });
});
