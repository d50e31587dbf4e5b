import { propertyRuns } from '@clutch/test-support';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { proRata, splitCapture, splitFee } from './split.js';

// 100,000 random splits by default (each a few microseconds of pure arithmetic); a million with
// CLUTCH_PROPERTY_RUNS=full.
const SPLITS = propertyRuns(100_000, 1_000_000);

describe('splitting a capture into commission, VAT and the shop net', () => {
  it(`loses and creates no minor unit over ${SPLITS.toLocaleString('en')} random splits`, () => {
    let checked = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 0, max: 5000 }),
        (amount, rate, vat) => {
          const s = splitCapture(amount, rate, vat);
          checked++;
          // Each part is the exact share rounded down or up by at most one unit, never negative.
          const exactCommission = (BigInt(amount) * BigInt(rate)) / 10_000n;
          const commission = BigInt(s.commissionMinor);
          return (
            s.commissionMinor + s.vatMinor + s.netToShopMinor === amount &&
            s.commissionMinor >= 0 &&
            s.vatMinor >= 0 &&
            s.netToShopMinor >= 0 &&
            commission - exactCommission >= 0n &&
            commission - exactCommission <= 1n
          );
        },
      ),
      { numRuns: SPLITS },
    );
    expect(checked).toBe(SPLITS);
  }, 120_000);

  it('rounds in the shop net’s favour', () => {
    // 10.01 at 15 %, VAT 14 %: commission 1.5015, VAT 0.21021 and net 8.29829 are rounded down;
    // the one unit left goes to the largest ratio, the net.
    expect(splitCapture(1001, 1500, 1400)).toEqual({ commissionMinor: 150, vatMinor: 21, netToShopMinor: 830 });
    // 0.06 at the same rates: 0.9 + 0.126 + 4.974 rounded down leave two units: the net gets the
    // first, the commission the second.
    expect(splitCapture(6, 1500, 1400)).toEqual({ commissionMinor: 1, vatMinor: 0, netToShopMinor: 5 });
    expect(splitCapture(100_000, 1000, 1400)).toEqual({
      commissionMinor: 10_000,
      vatMinor: 1400,
      netToShopMinor: 88_600,
    });
    expect(splitCapture(1, 1500, 1400)).toEqual({ commissionMinor: 0, vatMinor: 0, netToShopMinor: 1 });
    expect(splitCapture(0, 1500, 1400)).toEqual({ commissionMinor: 0, vatMinor: 0, netToShopMinor: 0 });
  });

  it('refuses amounts and rates that are not whole minor units or basis points', () => {
    expect(() => splitCapture(-1, 1500, 1400)).toThrow(RangeError);
    expect(() => splitCapture(10.5, 1500, 1400)).toThrow(RangeError);
    expect(() => splitCapture(100, 10_001, 0)).toThrow(RangeError);
    expect(() => splitCapture(100, 9000, 5000)).toThrow(RangeError);
  });

  it('returns everything by the last of any number of pro rata refunds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 8 }),
        (amount, steps) => {
          const part = Math.floor(amount / 7);
          let refunded = 0;
          let back = 0;
          for (const step of steps) {
            refunded = Math.min(amount, refunded + step);
            back += proRata(part, refunded, amount) - back;
          }
          back += proRata(part, amount, amount) - back;
          return back === part;
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('splits a fee already taken into commission and VAT that add up to it, and agrees with splitCapture', () => {
    // Egypt's 14 %: a 15.00 commission carries 2.10 VAT.
    expect(splitFee(10_000, 1_710, 1_400)).toEqual({ commissionMinor: 1_500, vatMinor: 210, netToShopMinor: 8_290 });
    expect(splitFee(10_000, 0, 1_400)).toEqual({ commissionMinor: 0, vatMinor: 0, netToShopMinor: 10_000 });
    expect(() => splitFee(100, 101, 0)).toThrow(RangeError);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        (amount, rate, vat) => {
          const capture = splitCapture(amount, rate, vat);
          const fee = capture.commissionMinor + capture.vatMinor;
          const again = splitFee(amount, fee, vat);
          // Never a minor unit lost, and within one unit of the capture's own split.
          return (
            again.commissionMinor + again.vatMinor === fee &&
            again.netToShopMinor === capture.netToShopMinor &&
            Math.abs(again.commissionMinor - capture.commissionMinor) <= 1
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
});
