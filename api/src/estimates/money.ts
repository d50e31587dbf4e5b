/**
 * Estimate arithmetic, in integers only (BigInt inside, so no intermediate product can lose a cent).
 *
 * THE rounding rule (docs/repair-work.md, "Rounding"): per line, half up.
 * - net   = round_half_up(quantity_milli × unit_price_minor / 1000)
 * - tax   = round_half_up(net × tax_rate_bp / 10000)
 * - total = net + tax
 * and an estimate's net, tax and total are the sums of its lines' (no rounding at the estimate level).
 *
 * Per line, because each line is shown to the customer with its own amounts and approved or declined
 * on its own: the approved total must be exactly the sum of the approved lines as displayed, which
 * rounding once over the estimate cannot promise. Half up (every amount here is non-negative, so
 * "away from zero" is the same), because it is the commercial rounding customers and tax offices
 * expect on an invoice; banker's rounding removes a bias only visible over many sums, and on a
 * single repair bill it would surprise (2.5 cents rounding down to 2).
 */

/** Bounds the database holds too (027_repair_work.sql): every product stays far below 2^53. */
export const LIMITS = {
  quantityMilli: { min: 1, max: 1_000_000 },
  unitPriceMinor: { min: 0, max: 100_000_000 },
  taxRateBp: { min: 0, max: 10_000 },
  lines: 200,
} as const;

export interface LineInput {
  quantityMilli: number;
  unitPriceMinor: number;
  taxRateBp: number;
}

export interface LineAmounts {
  netMinor: number;
  taxMinor: number;
  totalMinor: number;
}

/** round_half_up(numerator / denominator) for numerator >= 0, denominator > 0. */
export function divideHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (numerator < 0n || denominator <= 0n) throw new RangeError('divideHalfUp takes a non-negative numerator');
  const quotient = numerator / denominator;
  const remainder = numerator % denominator;
  return remainder * 2n >= denominator ? quotient + 1n : quotient;
}

function checkInteger(name: string, value: number, min: number, max: number): bigint {
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new RangeError(`${name} must be an integer from ${min} to ${max}; got ${value}`);
  return BigInt(value);
}

export function lineAmounts(line: LineInput): LineAmounts {
  const q = checkInteger('quantityMilli', line.quantityMilli, LIMITS.quantityMilli.min, LIMITS.quantityMilli.max);
  const p = checkInteger('unitPriceMinor', line.unitPriceMinor, LIMITS.unitPriceMinor.min, LIMITS.unitPriceMinor.max);
  const bp = checkInteger('taxRateBp', line.taxRateBp, LIMITS.taxRateBp.min, LIMITS.taxRateBp.max);
  const net = divideHalfUp(q * p, 1000n);
  const tax = divideHalfUp(net * bp, 10_000n);
  return { netMinor: Number(net), taxMinor: Number(tax), totalMinor: Number(net + tax) };
}

/** The sums of the lines' amounts. */
export function sumAmounts(lines: readonly LineAmounts[]): LineAmounts {
  let net = 0n;
  let tax = 0n;
  for (const l of lines) {
    net += BigInt(l.netMinor);
    tax += BigInt(l.taxMinor);
  }
  return { netMinor: Number(net), taxMinor: Number(tax), totalMinor: Number(net + tax) };
}

/**
 * A quantity as people write it (1.5 hours, 2 parts) to thousandths, exactly: at most three
 * decimals, else a RangeError (a quantity of 0.0005 hours is a typo, not something to round).
 */
export function toMilli(quantity: number): number {
  if (!Number.isFinite(quantity) || quantity <= 0) throw new RangeError('a quantity is a positive number');
  const text = String(quantity);
  if (/e/i.test(text)) throw new RangeError(`quantity ${text} is out of range`);
  const [whole, fraction = ''] = text.split('.');
  if (fraction.length > 3) throw new RangeError(`a quantity has at most three decimals; got ${text}`);
  const milli = Number(whole) * 1000 + Number(fraction.padEnd(3, '0'));
  if (milli < LIMITS.quantityMilli.min || milli > LIMITS.quantityMilli.max)
    throw new RangeError(`a quantity is from 0.001 to ${LIMITS.quantityMilli.max / 1000}; got ${text}`);
  return milli;
}

/** Thousandths back to the number people read (exact for every value toMilli produces). */
export const fromMilli = (milli: number): number =>
  Number(`${Math.trunc(milli / 1000)}.${String(milli % 1000).padStart(3, '0')}`);

/** Digits after the decimal point of a currency's minor unit (EUR 2, JPY 0, BHD 3), from Intl. */
export function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** An amount in major units (500 for 500.00) in a currency's minor units. */
export function majorToMinor(major: number, currency: string): number {
  return Math.round(major * 10 ** currencyDigits(currency));
}
