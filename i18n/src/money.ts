/**
 * Money as a person reads it, from what we store: integer minor units and an ISO 4217 currency
 * (docs/marketplace.md). The currency's own number of decimals (2 for EUR, 0 for JPY, 3 for KWD) comes from
 * Intl, and the amount is handed to Intl as a decimal string, so no binary fraction ever rounds a cent.
 */
export function formatMoney(locale: string, minor: number, currency: string): string {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`money must be integer minor units, got ${minor}`);
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  const sign = minor < 0 ? '-' : '';
  const units = String(Math.abs(minor)).padStart(digits + 1, '0');
  const decimal = digits === 0 ? units : `${units.slice(0, -digits)}.${units.slice(-digits)}`;
  // Intl.NumberFormat v3 (Node 20, Chrome 106, Safari 15.4) formats decimal strings exactly.
  return format.format(`${sign}${decimal}` as unknown as number);
}
