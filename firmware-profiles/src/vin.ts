// VIN decoding for profile selection (SAE J853 / ISO 3779 / ISO 3780; 49 CFR 565 for North America).

export interface DecodedVin {
  readonly vin: string;
  /** World manufacturer identifier, positions 1-3. */
  readonly wmi: string;
  /** Vehicle descriptor section, positions 4-8. */
  readonly vds: string;
  /** Model year from position 10, when it can be told (see modelYearOf). */
  readonly modelYear?: number;
  /** Position 9 check digit valid (mandatory in North America, often '0'/'Z' elsewhere). */
  readonly checkDigitOk: boolean;
}

const VALID = /^[A-HJ-NPR-Z0-9]{17}$/;
// 49 CFR 565.15: transliteration and position weights of the check digit.
const VALUES: Record<string, number> = {
  A: 1,
  B: 2,
  C: 3,
  D: 4,
  E: 5,
  F: 6,
  G: 7,
  H: 8,
  J: 1,
  K: 2,
  L: 3,
  M: 4,
  N: 5,
  P: 7,
  R: 9,
  S: 2,
  T: 3,
  U: 4,
  V: 5,
  W: 6,
  X: 7,
  Y: 8,
  Z: 9,
};
const WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
// Position 10 codes cycle every 30 years: A=1980/2010 ... Y=2000/2030, 1..9 = 2001..2009/2031..2039.
const YEAR_CODES = 'ABCDEFGHJKLMNPRSTVWXY123456789';

export function checkDigit(vin: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const c = vin[i]!;
    sum += (/[0-9]/.test(c) ? Number(c) : (VALUES[c] ?? 0)) * WEIGHTS[i]!;
  }
  const r = sum % 11;
  return r === 10 ? 'X' : String(r);
}

/**
 * Model year from position 10. The code repeats every 30 years; for passenger cars and light trucks
 * (49 CFR 565.15(a)) position 7 is numeric for 1980-2009 and a letter from 2010 on, which picks the
 * cycle. `now` caps the guess (a model year is at most one year ahead).
 */
export function modelYearOf(vin: string, now: Date = new Date()): number | undefined {
  const index = YEAR_CODES.indexOf(vin[9] ?? '');
  if (index < 0) return undefined;
  const early = 1980 + index;
  const late = early + 30;
  const pos7Letter = /[A-Z]/.test(vin[6] ?? '');
  const year = pos7Letter ? late : early;
  return year > now.getUTCFullYear() + 1 ? early : year;
}

export function decodeVin(raw: string, now?: Date): DecodedVin | undefined {
  const vin = raw.trim().toUpperCase();
  if (!VALID.test(vin)) return undefined;
  const modelYear = modelYearOf(vin, now);
  return {
    vin,
    wmi: vin.slice(0, 3),
    vds: vin.slice(3, 8),
    ...(modelYear ? { modelYear } : {}),
    checkDigitOk: checkDigit(vin) === vin[8],
  };
}
