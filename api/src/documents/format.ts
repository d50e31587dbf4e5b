import { formatMoney, type Translator } from '@clutch/i18n';

/** Money and dates as documents print them, in the translator's locale. */
export interface DocumentFormat {
  money(minor: number, currency: string): string;
  /** Date and time in `timeZone` (the customer's or the shop's), with the zone's name. */
  dateTime(at: string | Date, timeZone: string): string;
  date(at: string | Date, timeZone: string): string;
  percent(bps: number): string;
}

export function documentFormat(i18n: Translator): DocumentFormat {
  return {
    money: (minor, currency) => formatMoney(i18n.locale, minor, currency),
    dateTime: (at, timeZone) =>
      i18n.dateTime(at, { dateStyle: 'medium', timeStyle: 'short', timeZone }) + ` (${timeZone})`,
    date: (at, timeZone) => i18n.dateTime(at, { dateStyle: 'medium', timeZone }),
    percent: (bps) => i18n.number(bps / 10_000, { style: 'percent', maximumFractionDigits: 2 }),
  };
}

/** A short reference for a long id (the first block of a uuid), as printed on paper. */
export const shortRef = (id: string): string => id.slice(0, 8).toUpperCase();
