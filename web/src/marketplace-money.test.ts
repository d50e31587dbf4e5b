import { formatMoney } from '@clutch/i18n';
import { describe, expect, it } from 'vitest';

// The marketplace pages show every price, total and fee with formatMoney: integer minor units and an
// ISO currency, as docs/marketplace.md says. (Intl's own spacing characters are normalised to plain
// spaces so the expectations read.)
const show = (locale: string, minor: number, currency: string): string =>
  formatMoney(locale, minor, currency).replace(/[\u00a0\u202f]/g, ' ');

describe('formatMoney', () => {
  it("uses the currency's own number of decimals", () => {
    expect(show('en', 12345, 'EUR')).toBe('€123.45');
    expect(show('en', 5, 'EUR')).toBe('€0.05');
    expect(show('en', 1234, 'JPY')).toBe('¥1,234');
    expect(show('en', 1001, 'KWD')).toBe('KWD 1.001');
  });

  it('writes the amount the way the locale does', () => {
    expect(show('de', 123456789, 'EUR')).toBe('1.234.567,89 €');
    expect(show('fr', 990, 'EUR')).toBe('9,90 €');
    expect(show('en', -1050, 'EUR')).toBe('-€10.50');
  });

  it('never rounds a cent through binary fractions, even at the largest safe amount', () => {
    // 0.29 * 100 is 28.999999999999996 in binary floating point; minor units as a decimal string are exact.
    expect(show('en', 29, 'EUR')).toBe('€0.29');
    expect(show('en', Number.MAX_SAFE_INTEGER, 'EUR')).toBe('€90,071,992,547,409.91');
  });

  it('refuses what is not integer minor units', () => {
    expect(() => formatMoney('en', 12.5, 'EUR')).toThrow(RangeError);
    expect(() => formatMoney('en', Number.NaN, 'EUR')).toThrow(RangeError);
  });
});
