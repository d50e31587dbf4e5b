import { add, dinero, toSnapshot } from 'dinero.js/bigint';
import { majorToMinor } from '../estimates/money.js';

/**
 * What one wallet may send to other wallets (docs/ledger.md, "Wallet"), in major units of the
 * transfer's currency (500 means 500.00 EUR, 500 JPY): configurable per deployment through the
 * environment, the defaults below otherwise.
 */
export interface WalletLimits {
  /** Most one transfer may move. */
  perTransferMajor: number;
  /** Most a wallet may send in any 24 hours, summed. */
  dailySumMajor: number;
  /** Most transfers a wallet may make in any 24 hours. */
  dailyCount: number;
  /** Above this a transfer needs a recent second factor (step-up). */
  stepUpAboveMajor: number;
}

export const DEFAULT_WALLET_LIMITS: WalletLimits = {
  perTransferMajor: 1_000,
  dailySumMajor: 2_000,
  dailyCount: 20,
  stepUpAboveMajor: 200,
};

const ENV: Record<keyof WalletLimits, string> = {
  perTransferMajor: 'CLUTCH_WALLET_TRANSFER_MAX',
  dailySumMajor: 'CLUTCH_WALLET_DAILY_SUM_MAX',
  dailyCount: 'CLUTCH_WALLET_DAILY_COUNT_MAX',
  stepUpAboveMajor: 'CLUTCH_WALLET_STEP_UP_ABOVE',
};

/** The limits from CLUTCH_WALLET_* variables; a malformed value fails the start, it is not ignored. */
export function loadWalletLimits(env: NodeJS.ProcessEnv = process.env): WalletLimits {
  const limits = { ...DEFAULT_WALLET_LIMITS };
  for (const key of Object.keys(ENV) as (keyof WalletLimits)[]) {
    const raw = env[ENV[key]];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${ENV[key]} must be a non-negative number, got ${raw}`);
    limits[key] = value;
  }
  return limits;
}

/** The limits of one currency in its minor units. */
export function limitsIn(limits: WalletLimits, currency: string) {
  return {
    perTransferMinor: majorToMinor(limits.perTransferMajor, currency),
    dailySumMinor: majorToMinor(limits.dailySumMajor, currency),
    dailyCount: limits.dailyCount,
    stepUpAboveMinor: majorToMinor(limits.stepUpAboveMajor, currency),
  };
}

/** a + b minor units, exactly (dinero.js over bigint; the ledger's amounts fit a safe integer). */
export function addMinor(a: number, b: number, currency: string): bigint {
  const unit = { code: currency, base: 10n, exponent: 0n };
  return toSnapshot(add(dinero({ amount: BigInt(a), currency: unit }), dinero({ amount: BigInt(b), currency: unit })))
    .amount;
}
