import { invalidRequest } from './errors.js';
import type { PayPalAmount } from './objects.js';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE) as a decimal number, the body checksum PayPal signs (zlib.crc32 needs Node >= 20.15). */
export function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Minor units per currency (PayPal follows ISO 4217: JPY has none). */
export function currencyDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

export function toMinor(amount: PayPalAmount): number {
  const digits = currencyDigits(amount.currency_code);
  const match = /^(\d+)(?:\.(\d+))?$/.exec(amount.value);
  if (!match || (match[2]?.length ?? 0) > digits)
    throw invalidRequest('DECIMAL_PRECISION', `Invalid amount value: ${amount.value}`);
  return Number(match[1]) * 10 ** digits + Number((match[2] ?? '').padEnd(digits, '0') || '0');
}

export function fromMinor(minor: number, currency: string): PayPalAmount {
  const digits = currencyDigits(currency);
  const text = String(minor).padStart(digits + 1, '0');
  const value = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  return { currency_code: currency, value };
}
