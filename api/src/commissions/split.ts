import { allocate, dinero, toSnapshot } from 'dinero.js/bigint';

/** Basis points: 1 bps = 0.01 %; 10,000 bps = 100 %. */
export const BPS = 10_000n;

export interface Split {
  /** The platform's commission (VAT not included). */
  commissionMinor: number;
  /** VAT on the commission, charged to the shop. */
  vatMinor: number;
  /** What the shop keeps: amount - commission - VAT. */
  netToShopMinor: number;
}

/**
 * Splits a captured amount (integer minor units) into commission, VAT on the commission and the
 * shop's net, with dinero.js `allocate` over exact integer ratios (bigint, so no amount overflows):
 *   commission : VAT : net = rate·10⁴ : rate·vatRate : 10⁸ - rate·(10⁴ + vatRate)
 * (rates in basis points). The three parts always add up to the amount. Rounding (docs/commissions.md):
 * each part is first rounded down; the minor units left over (at most two) go one each to the parts
 * with the largest ratios, largest first, which for any rate under 50 % means the shop's net first:
 * rounding never favours the platform.
 */
export function splitCapture(amountMinor: number, rateBps: number, vatRateBps: number): Split {
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 0)
    throw new RangeError(`amount must be a non-negative integer of minor units, got ${amountMinor}`);
  if (!Number.isInteger(rateBps) || rateBps < 0 || rateBps > 10_000)
    throw new RangeError(`commission rate must be 0..10000 bps, got ${rateBps}`);
  if (!Number.isInteger(vatRateBps) || vatRateBps < 0 || vatRateBps > 10_000)
    throw new RangeError(`VAT rate must be 0..10000 bps, got ${vatRateBps}`);
  const rate = BigInt(rateBps);
  const vat = BigInt(vatRateBps);
  const commissionRatio = rate * BPS;
  const vatRatio = rate * vat;
  const netRatio = BPS * BPS - commissionRatio - vatRatio;
  if (netRatio < 0n) throw new RangeError('commission and its VAT exceed the amount');
  if (amountMinor === 0) return { commissionMinor: 0, vatMinor: 0, netToShopMinor: 0 };
  // The currency only labels the amounts here; the exponent plays no part in splitting minor units.
  const amount = dinero({ amount: BigInt(amountMinor), currency: { code: 'XXX', base: 10n, exponent: 0n } });
  const [net, commission, tax] = allocate(amount, [netRatio, commissionRatio, vatRatio]).map(
    (part) => toSnapshot(part).amount,
  );
  return {
    commissionMinor: Number(commission),
    vatMinor: Number(tax),
    netToShopMinor: Number(net),
  };
}

/**
 * The share of `partMinor` that `refundedMinor` of `amountMinor` stands for, rounded down; exact at
 * the end (refunded = amount gives the whole part). Used cumulatively, so the sum of the reversals
 * of a payment refunded in steps equals what a single full refund would return.
 */
export function proRata(partMinor: number, refundedMinor: number, amountMinor: number): number {
  if (amountMinor <= 0) return 0;
  const refunded = Math.min(Math.max(refundedMinor, 0), amountMinor);
  return Number((BigInt(partMinor) * BigInt(refunded)) / BigInt(amountMinor));
}

/**
 * A fee already taken (a Connect destination charge's application fee, fixed before the capture)
 * split into commission and the VAT on it, commission : VAT = 10⁴ : vatRate, with `allocate`; the
 * shop's net is the rest of the amount. Used when the rates moved between the capture request and
 * its recording (another capture crossed a tier), so the books keep what the provider did.
 */
export function splitFee(amountMinor: number, feeMinor: number, vatRateBps: number): Split {
  if (!Number.isSafeInteger(feeMinor) || feeMinor < 0 || feeMinor > amountMinor)
    throw new RangeError(`the fee must be an integer between 0 and ${amountMinor}, got ${feeMinor}`);
  if (!Number.isInteger(vatRateBps) || vatRateBps < 0 || vatRateBps > 10_000)
    throw new RangeError(`VAT rate must be 0..10000 bps, got ${vatRateBps}`);
  if (feeMinor === 0) return { commissionMinor: 0, vatMinor: 0, netToShopMinor: amountMinor };
  const fee = dinero({ amount: BigInt(feeMinor), currency: { code: 'XXX', base: 10n, exponent: 0n } });
  const [commission, tax] = allocate(fee, [BPS, BigInt(vatRateBps)]).map((part) => toSnapshot(part).amount);
  return { commissionMinor: Number(commission), vatMinor: Number(tax), netToShopMinor: amountMinor - feeMinor };
}
