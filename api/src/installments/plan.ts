import { allocate, dinero, toSnapshot } from 'dinero.js/bigint';
import { localParts, zonedInstant } from '../bookings/zoned-time.js';

/**
 * Installment plans, pure (docs/installments.md): the schedule of a financed amount, the early payoff
 * amount at a date and the late fee of a missed installment. Integer minor units throughout; every
 * split goes through dinero.js `allocate`, so no minor unit is lost or created.
 *
 * Two ways a region prices a plan:
 * - `flat_fee`: a fee of `feeBps` of the financed amount, spread evenly over the installments;
 * - `apr`: interest at `aprBps` a year (a twelfth a month) on the outstanding principal, with level
 *   installments (an annuity): each installment's principal share is what a level payment leaves after
 *   the period's interest, and those shares are what `allocate` splits the financed amount by.
 * Either way installment i covers the period (due[i-1], due[i]] (due[0] = the plan's start) and its
 * fee/interest is earned over that period: early payoff owes the fee of every period already begun,
 * pro rata for the current one, and none of the periods not yet begun.
 */

export type Pricing = { kind: 'flat_fee'; feeBps: number } | { kind: 'apr'; aprBps: number };

export type LateFeeRule =
  /** A fixed amount in the plan's currency. */
  | { kind: 'fixed'; amountMinor: number }
  /** A share of the missed installment's total, at most `capMinor`. */
  | { kind: 'percent'; bps: number; capMinor: number };

export interface DunningRule {
  /** Days after the due date at which a failed charge is tried again (ascending); the last failure defaults the plan. */
  retryAfterDays: number[];
  /** Days after the due date after which an unpaid installment is `late` and its late fee is added (once). */
  graceDays: number;
}

/** What a region offers (example terms, not legal or financial advice; docs/installments.md). */
export interface RegionTerms {
  region: string;
  /** Currencies a plan in this region may be in; null: any. */
  currencies: string[] | null;
  counts: number[];
  pricing: Pricing;
  minFinancedMinor: number;
  maxFinancedMinor: number;
  lateFee: LateFeeRule;
  dunning: DunningRule;
}

/** Example terms per region; `default` applies to every other country. Configure, do not rely on these. */
export const DEFAULT_TERMS: Readonly<Record<string, RegionTerms>> = {
  EG: {
    region: 'EG',
    currencies: ['EGP'],
    counts: [3, 6, 12],
    pricing: { kind: 'flat_fee', feeBps: 500 },
    minFinancedMinor: 50_000,
    maxFinancedMinor: 50_000_000,
    lateFee: { kind: 'fixed', amountMinor: 5_000 },
    dunning: { retryAfterDays: [1, 3, 7], graceDays: 3 },
  },
  SA: {
    region: 'SA',
    currencies: ['SAR'],
    counts: [3, 6, 12],
    pricing: { kind: 'flat_fee', feeBps: 300 },
    minFinancedMinor: 10_000,
    maxFinancedMinor: 5_000_000,
    lateFee: { kind: 'percent', bps: 200, capMinor: 5_000 },
    dunning: { retryAfterDays: [1, 3, 7], graceDays: 3 },
  },
  AE: {
    region: 'AE',
    currencies: ['AED'],
    counts: [3, 6, 12],
    pricing: { kind: 'apr', aprBps: 1_200 },
    minFinancedMinor: 10_000,
    maxFinancedMinor: 5_000_000,
    lateFee: { kind: 'percent', bps: 200, capMinor: 5_000 },
    dunning: { retryAfterDays: [1, 3, 7], graceDays: 3 },
  },
  default: {
    region: 'default',
    currencies: null,
    counts: [3, 6, 12],
    pricing: { kind: 'apr', aprBps: 1_500 },
    minFinancedMinor: 5_000,
    maxFinancedMinor: 5_000_000,
    lateFee: { kind: 'percent', bps: 300, capMinor: 2_500 },
    dunning: { retryAfterDays: [1, 3, 7], graceDays: 3 },
  },
};

/** The terms of a region (an ISO country code), the `default` ones when it has none of its own. */
export function termsFor(region: string, table: Readonly<Record<string, RegionTerms>> = DEFAULT_TERMS): RegionTerms {
  const terms = table[region.toUpperCase()] ?? table.default;
  if (!terms) throw new Error(`no installment terms for ${region} and no default`);
  return terms;
}

/** The largest financed amount a plan takes: far inside the range where dinero's number arithmetic is exact. */
export const MAX_FINANCED_MINOR = 1_000_000_000_000;
export const MAX_COUNT = 60;
/** No installment smaller than this (charging a few minor units costs more than it brings). */
export const MIN_INSTALLMENT_MINOR = 100;
const DAY_MS = 24 * 3600_000;
/** The length of the "month" a first period shorter or longer than a month is measured in. */
const MONTH_MS = 30 * DAY_MS;

export interface PlanInput {
  financedMinor: number;
  currency: string;
  count: number;
  terms: RegionTerms;
  /** When the financing starts (the plan's creation). */
  start: Date;
  /** The first installment's due time (at or after `start`; the later ones follow monthly). */
  firstDueAt: Date;
  /** The customer's IANA time zone: due dates keep the first one's local day of month and time. */
  timeZone: string;
}

export interface ScheduledInstallment {
  seq: number;
  dueAt: Date;
  principalMinor: number;
  feeMinor: number;
  totalMinor: number;
}

export interface PlanSchedule {
  financedMinor: number;
  currency: string;
  count: number;
  installments: ScheduledInstallment[];
  /** Fees/interest of the whole plan (what it costs over paying at once). */
  totalFeeMinor: number;
  totalMinor: number;
}

export class PlanInputError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'PlanInputError';
  }
}

/**
 * Splits an amount by ratios with dinero's allocate: the parts sum to the amount exactly. The bigint
 * flavour, because amount × ratio exceeds 2^53 for large amounts with fine-grained ratios.
 * Only the currency code matters: every amount is already in minor units and only split, never scaled.
 */
export function split(amountMinor: number, currency: string, ratios: number[]): number[] {
  if (amountMinor === 0) return ratios.map(() => 0);
  const money = dinero({ amount: BigInt(amountMinor), currency: { code: currency, base: 10n, exponent: 2n } });
  return allocate(
    money,
    ratios.map((r) => BigInt(r)),
  ).map((d) => Number(toSnapshot(d).amount));
}

/** `amount × bps / 10000`, rounded half up, in integers (exact for amounts up to MAX_FINANCED_MINOR). */
export function bpsOf(amountMinor: number, bps: number): number {
  return Number((BigInt(amountMinor) * BigInt(bps) * 2n + 10_000n) / 20_000n);
}

function isInt(n: number, min: number, max: number): boolean {
  return Number.isSafeInteger(n) && n >= min && n <= max;
}

/** Refuses terms a plan cannot be computed with (they come from configuration). */
export function validateTerms(terms: RegionTerms): void {
  const bad = (field: string, why: string): never => {
    throw new PlanInputError(`installment terms of ${terms.region}: ${field} ${why}`, field);
  };
  if (terms.counts.length === 0 || !terms.counts.every((c) => isInt(c, 1, MAX_COUNT)))
    bad('counts', `must be 1..${MAX_COUNT}`);
  if (terms.pricing.kind === 'flat_fee' && !isInt(terms.pricing.feeBps, 0, 10_000)) bad('feeBps', 'must be 0..10000');
  if (terms.pricing.kind === 'apr' && !isInt(terms.pricing.aprBps, 0, 10_000)) bad('aprBps', 'must be 0..10000');
  if (!isInt(terms.minFinancedMinor, 1, MAX_FINANCED_MINOR) || !isInt(terms.maxFinancedMinor, 1, MAX_FINANCED_MINOR))
    bad('financed limits', `must be 1..${MAX_FINANCED_MINOR}`);
  if (terms.minFinancedMinor > terms.maxFinancedMinor) bad('minFinancedMinor', 'exceeds maxFinancedMinor');
  if (terms.lateFee.kind === 'fixed' && !isInt(terms.lateFee.amountMinor, 0, MAX_FINANCED_MINOR))
    bad('lateFee', 'must be a non-negative amount');
  if (
    terms.lateFee.kind === 'percent' &&
    (!isInt(terms.lateFee.bps, 0, 10_000) || !isInt(terms.lateFee.capMinor, 0, MAX_FINANCED_MINOR))
  )
    bad('lateFee', 'needs bps 0..10000 and a non-negative cap');
  const days = terms.dunning.retryAfterDays;
  if (!days.every((d, i) => isInt(d, 1, 365) && (i === 0 || d > days[i - 1]!)))
    bad('retryAfterDays', 'must be ascending whole days 1..365');
  if (!isInt(terms.dunning.graceDays, 0, 365)) bad('graceDays', 'must be 0..365');
}

function daysInMonth(year: number, month0: number): number {
  return new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();
}

/**
 * Monthly due dates: the first one's local day of month and wall-clock time in `timeZone`, clamped
 * to the month's last day (the 31st -> the 30th of April, the 28th/29th of February), as instants.
 */
export function dueDates(firstDueAt: Date, count: number, timeZone: string): Date[] {
  const local = localParts(firstDueAt.getTime(), timeZone);
  const [y, m, d] = local.day.split('-').map(Number) as [number, number, number];
  const out: Date[] = [firstDueAt];
  for (let k = 1; k < count; k++) {
    const month0 = m - 1 + k;
    const year = y + Math.floor(month0 / 12);
    const mon = ((month0 % 12) + 12) % 12;
    const day = Math.min(d, daysInMonth(year, mon));
    const iso = `${String(year).padStart(4, '0')}-${String(mon + 1).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
    out.push(new Date(zonedInstant(iso, local.minute, timeZone)));
  }
  return out;
}

/** The length of each installment's period in months: the first measured from the start, the others 1. */
function periodMonths(start: Date, first: Date, count: number): number[] {
  const firstMonths = Math.max(0, first.getTime() - start.getTime()) / MONTH_MS;
  return Array.from({ length: count }, (_, i) => (i === 0 ? firstMonths : 1));
}

/**
 * The principal share of each installment of a level-payment (annuity) plan, as positive integer
 * ratios for `allocate`: with monthly rate r and period lengths f, the level payment P solves
 * "outstanding after the last payment = 0"; principal i = P - outstanding(i-1) * r * f(i).
 */
function annuityRatios(rate: number, months: number[]): number[] {
  const n = months.length;
  if (rate === 0) return months.map(() => 1);
  const growth = months.map((f) => 1 + rate * f);
  // outstanding_n = A * prod(growth) - P * sum_i prod_{j>i} growth_j = 0, with A = 1.
  let tail = 1;
  let sum = 0;
  for (let i = n - 1; i >= 0; i--) {
    sum += tail;
    tail *= growth[i]!;
  }
  const payment = tail / sum;
  let outstanding = 1;
  const shares: number[] = [];
  for (let i = 0; i < n; i++) {
    const interest = outstanding * rate * months[i]!;
    const principal = payment - interest;
    shares.push(principal);
    outstanding -= principal;
  }
  return shares.map((s) => Math.max(1, Math.round(s * 1e15)));
}

function checkPlanInput(input: PlanInput): void {
  const { terms } = input;
  validateTerms(terms);
  if (!/^[A-Z]{3}$/.test(input.currency)) throw new PlanInputError('currency must be an ISO 4217 code', 'currency');
  if (terms.currencies !== null && !terms.currencies.includes(input.currency))
    throw new PlanInputError(
      `plans in ${terms.region} are in ${terms.currencies.join(', ')}, not ${input.currency}`,
      'currency',
    );
  if (!terms.counts.includes(input.count))
    throw new PlanInputError(`plans in ${terms.region} have ${terms.counts.join(', ')} installments`, 'count');
  if (!Number.isSafeInteger(input.financedMinor) || input.financedMinor < terms.minFinancedMinor)
    throw new PlanInputError(`the financed amount must be at least ${terms.minFinancedMinor} minor units`, 'amount');
  if (input.financedMinor > terms.maxFinancedMinor)
    throw new PlanInputError(`the financed amount must be at most ${terms.maxFinancedMinor} minor units`, 'amount');
  if (input.financedMinor < MIN_INSTALLMENT_MINOR * input.count)
    throw new PlanInputError(
      `the financed amount must be at least ${MIN_INSTALLMENT_MINOR} minor units per installment`,
      'amount',
    );
  if (Number.isNaN(input.start.getTime()) || Number.isNaN(input.firstDueAt.getTime()))
    throw new PlanInputError('dates must be valid', 'firstDueAt');
  if (input.firstDueAt.getTime() < input.start.getTime())
    throw new PlanInputError('the first installment cannot be due before the plan starts', 'firstDueAt');
  if (input.firstDueAt.getTime() - input.start.getTime() > 62 * DAY_MS)
    throw new PlanInputError('the first installment must be due within two months', 'firstDueAt');
}

/** The schedule of a plan (throws PlanInputError for input the terms do not allow). */
export function computeSchedule(input: PlanInput): PlanSchedule {
  checkPlanInput(input);
  const { financedMinor, currency, count, terms } = input;
  const dues = dueDates(input.firstDueAt, count, input.timeZone);
  const months = periodMonths(input.start, input.firstDueAt, count);
  let principals: number[];
  let fees: number[];
  if (terms.pricing.kind === 'flat_fee') {
    principals = split(
      financedMinor,
      currency,
      months.map(() => 1),
    );
    fees = split(
      bpsOf(financedMinor, terms.pricing.feeBps),
      currency,
      months.map(() => 1),
    );
  } else {
    const rate = terms.pricing.aprBps / 10_000 / 12;
    principals = split(financedMinor, currency, annuityRatios(rate, months));
    let outstanding = financedMinor;
    fees = principals.map((p, i) => {
      const interest = Math.round(outstanding * rate * months[i]!);
      outstanding -= p;
      return interest;
    });
  }
  const installments = dues.map((dueAt, i) => ({
    seq: i + 1,
    dueAt,
    principalMinor: principals[i]!,
    feeMinor: fees[i]!,
    totalMinor: principals[i]! + fees[i]!,
  }));
  const totalFeeMinor = fees.reduce((a, b) => a + b, 0);
  return { financedMinor, currency, count, installments, totalFeeMinor, totalMinor: financedMinor + totalFeeMinor };
}

/** An installment as the payoff and late-fee rules see it. */
export interface InstallmentState {
  seq: number;
  dueAt: Date;
  principalMinor: number;
  feeMinor: number;
  lateFeeMinor: number;
  /** Paid (or waived) installments owe nothing. */
  settled: boolean;
}

export interface PayoffLine {
  seq: number;
  principalMinor: number;
  /** The fee/interest owed now: all of it for a period already over, pro rata for the current one, 0 for later ones. */
  feeMinor: number;
  lateFeeMinor: number;
  /** The fee/interest not owed because the plan is paid off early. */
  feeWaivedMinor: number;
}

export interface Payoff {
  amountMinor: number;
  principalMinor: number;
  feeMinor: number;
  lateFeeMinor: number;
  feeWaivedMinor: number;
  lines: PayoffLine[];
}

/**
 * What paying the plan off at `at` costs: every unpaid principal, the late fees already added, the
 * fee/interest of periods already over, and of the current period the part accrued up to `at`
 * (rounded down: the customer never pays for time not yet passed). No future interest.
 */
export function payoffAmount(start: Date, installments: InstallmentState[], at: Date): Payoff {
  const sorted = [...installments].sort((a, b) => a.seq - b.seq);
  const lines: PayoffLine[] = [];
  let periodStart = start.getTime();
  const t = at.getTime();
  for (const inst of sorted) {
    const due = inst.dueAt.getTime();
    const from = periodStart;
    periodStart = due;
    if (inst.settled) continue;
    let fee: number;
    if (t >= due) fee = inst.feeMinor;
    else if (t <= from) fee = 0;
    else fee = Number((BigInt(inst.feeMinor) * BigInt(Math.floor(t - from))) / BigInt(due - from));
    lines.push({
      seq: inst.seq,
      principalMinor: inst.principalMinor,
      feeMinor: fee,
      lateFeeMinor: inst.lateFeeMinor,
      feeWaivedMinor: inst.feeMinor - fee,
    });
  }
  const sum = (f: (l: PayoffLine) => number): number => lines.reduce((a, l) => a + f(l), 0);
  const principalMinor = sum((l) => l.principalMinor);
  const feeMinor = sum((l) => l.feeMinor);
  const lateFeeMinor = sum((l) => l.lateFeeMinor);
  return {
    amountMinor: principalMinor + feeMinor + lateFeeMinor,
    principalMinor,
    feeMinor,
    lateFeeMinor,
    feeWaivedMinor: sum((l) => l.feeWaivedMinor),
    lines,
  };
}

/** The late fee of a missed installment of `installmentTotalMinor` (its principal and fee). */
export function lateFee(rule: LateFeeRule, installmentTotalMinor: number): number {
  if (rule.kind === 'fixed') return rule.amountMinor;
  return Math.min(rule.capMinor, bpsOf(installmentTotalMinor, rule.bps));
}

/**
 * When attempt `attempt` (1 = on the due date, 2.. = the retries) of an installment is made, or null
 * when there is no such attempt (the previous one was the last).
 */
export function attemptAt(dueAt: Date, attempt: number, dunning: DunningRule): Date | null {
  if (attempt === 1) return dueAt;
  const days = dunning.retryAfterDays[attempt - 2];
  return days === undefined ? null : new Date(dueAt.getTime() + days * DAY_MS);
}

/** True once an unpaid installment is past its grace period (it is then `late`, with its late fee). */
export function pastGrace(dueAt: Date, now: Date, dunning: DunningRule): boolean {
  return now.getTime() >= dueAt.getTime() + dunning.graceDays * DAY_MS;
}
