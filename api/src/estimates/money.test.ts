import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  currencyDigits,
  divideHalfUp,
  fromMilli,
  LIMITS,
  lineAmounts,
  majorToMinor,
  sumAmounts,
  toMilli,
} from './money.js';

describe('estimate arithmetic (per line, half up, integers only)', () => {
  it('rounds half up at exactly half a minor unit, and not below it', () => {
    // 0.5 h at 1.01 = 50.5 cents -> 51; 0.499 h at 1.00 = 49.9 -> 50; 0.001 h at 4.99 = 0.499 -> 0.
    expect(lineAmounts({ quantityMilli: 500, unitPriceMinor: 101, taxRateBp: 0 }).netMinor).toBe(51);
    expect(lineAmounts({ quantityMilli: 499, unitPriceMinor: 100, taxRateBp: 0 }).netMinor).toBe(50);
    expect(lineAmounts({ quantityMilli: 1, unitPriceMinor: 499, taxRateBp: 0 }).netMinor).toBe(0);
    expect(lineAmounts({ quantityMilli: 1, unitPriceMinor: 500, taxRateBp: 0 }).netMinor).toBe(1);
    // Tax on the rounded net: 1.5 h at 65.00 = 97.50, 19 % = 18.525 -> 18.53 (banker's would say 18.52).
    expect(lineAmounts({ quantityMilli: 1500, unitPriceMinor: 6500, taxRateBp: 1900 })).toEqual({
      netMinor: 9750,
      taxMinor: 1853,
      totalMinor: 11603,
    });
    // 2.5 cents of tax rounds up to 3, where banker's rounding would give 2.
    expect(lineAmounts({ quantityMilli: 1000, unitPriceMinor: 50, taxRateBp: 500 }).taxMinor).toBe(3);
    expect(lineAmounts({ quantityMilli: 1000, unitPriceMinor: 0, taxRateBp: 2000 })).toEqual({
      netMinor: 0,
      taxMinor: 0,
      totalMinor: 0,
    });
  });

  it('stays exact at the largest amounts it accepts, beyond what floats hold', () => {
    const big = lineAmounts({
      quantityMilli: LIMITS.quantityMilli.max,
      unitPriceMinor: LIMITS.unitPriceMinor.max,
      taxRateBp: 2_100,
    });
    expect(big).toEqual({ netMinor: 100_000_000_000, taxMinor: 21_000_000_000, totalMinor: 121_000_000_000 });
    // 999.999 × 99,999,999 = 99,999,899,000.001 -> 99,999,899,000.
    expect(lineAmounts({ quantityMilli: 999_999, unitPriceMinor: 99_999_999, taxRateBp: 0 }).netMinor).toBe(
      99_999_899_000,
    );
    // Where floats go wrong: 1.005 × 100 is 100.49999999999999 in binary, which rounds to 100; it is 100.5 -> 101.
    expect(Math.round(1.005 * 100)).toBe(100);
    expect(lineAmounts({ quantityMilli: toMilli(1.005), unitPriceMinor: 100, taxRateBp: 0 }).netMinor).toBe(101);
  });

  it('refuses what is out of range or not an integer rather than rounding it', () => {
    for (const bad of [
      { quantityMilli: 0, unitPriceMinor: 1, taxRateBp: 0 },
      { quantityMilli: 1.5, unitPriceMinor: 1, taxRateBp: 0 },
      { quantityMilli: 1, unitPriceMinor: -1, taxRateBp: 0 },
      { quantityMilli: 1, unitPriceMinor: 1, taxRateBp: 10_001 },
      { quantityMilli: 1, unitPriceMinor: Number.NaN, taxRateBp: 0 },
    ])
      expect(() => lineAmounts(bad)).toThrow(RangeError);
    expect(() => divideHalfUp(-1n, 2n)).toThrow(RangeError);
  });

  it('property: totals are the sums of the lines, each line total is net + tax, all integers, none negative', () => {
    const line = fc.record({
      quantityMilli: fc.integer({ min: LIMITS.quantityMilli.min, max: LIMITS.quantityMilli.max }),
      unitPriceMinor: fc.integer({ min: LIMITS.unitPriceMinor.min, max: LIMITS.unitPriceMinor.max }),
      taxRateBp: fc.integer({ min: LIMITS.taxRateBp.min, max: LIMITS.taxRateBp.max }),
    });
    fc.assert(
      fc.property(fc.array(line, { minLength: 0, maxLength: LIMITS.lines }), (lines) => {
        const amounts = lines.map(lineAmounts);
        const total = sumAmounts(amounts);
        for (const [i, a] of amounts.entries()) {
          expect(Number.isSafeInteger(a.netMinor) && Number.isSafeInteger(a.taxMinor)).toBe(true);
          expect(a.totalMinor).toBe(a.netMinor + a.taxMinor);
          expect(a.netMinor).toBeGreaterThanOrEqual(0);
          // The rounding is within half a minor unit of the exact rational value.
          const l = lines[i]!;
          const exactTimes2000 = 2n * BigInt(l.quantityMilli) * BigInt(l.unitPriceMinor);
          const diff = BigInt(a.netMinor) * 2000n - exactTimes2000;
          expect(diff > -1000n && diff <= 1000n).toBe(true);
        }
        expect(total.netMinor).toBe(amounts.reduce((s, a) => s + a.netMinor, 0));
        expect(total.taxMinor).toBe(amounts.reduce((s, a) => s + a.taxMinor, 0));
        expect(total.totalMinor).toBe(total.netMinor + total.taxMinor);
        expect(Number.isSafeInteger(total.totalMinor)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('reads quantities with up to three decimals exactly, and refuses more', () => {
    expect(toMilli(1.5)).toBe(1500);
    expect(toMilli(0.001)).toBe(1);
    expect(toMilli(2)).toBe(2000);
    expect(() => toMilli(0.1 + 0.2)).toThrow(RangeError); // 0.30000000000000004
    expect(() => toMilli(1.2345)).toThrow(RangeError);
    expect(() => toMilli(0)).toThrow(RangeError);
    expect(() => toMilli(-1)).toThrow(RangeError);
    expect(() => toMilli(1e21)).toThrow(RangeError);
    expect(() => toMilli(1000.001)).toThrow(RangeError);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: LIMITS.quantityMilli.max }), (milli) => {
        expect(toMilli(fromMilli(milli))).toBe(milli);
      }),
    );
  });

  it("puts the step-up threshold in the currency's minor units", () => {
    expect(currencyDigits('EUR')).toBe(2);
    expect(currencyDigits('JPY')).toBe(0);
    expect(majorToMinor(500, 'EUR')).toBe(50_000);
    expect(majorToMinor(500, 'JPY')).toBe(500);
    expect(majorToMinor(500, 'BHD')).toBe(500_000);
  });
});
