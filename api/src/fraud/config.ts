import type { RiskSubjectKind } from './types.js';

/**
 * The scorer's knobs (docs/fraud.md, "Signals and weights"). Weights are each reason's share of the
 * score when fully present; the score combines them as a noisy-OR (1 - Π(1 - w)), so no single weak
 * signal decides and strong ones dominate. Thresholds decide `review` and `block`.
 */
export interface FraudConfig {
  reviewAt: number;
  blockAt: number;
  /** Include the anomaly score (false: the rules-only baseline of the evaluation). */
  anomaly: boolean;
  weights: {
    blocklisted: number;
    velocity: number;
    amountVsHistory: number;
    newDevice: number;
    countryMismatch: number;
    manyCards: number;
    anomaly: number;
  };
  /** Attempts that are normal in a window; the velocity weight grows past them (see score.ts). */
  limits: {
    user10m: number;
    user24h: number;
    device10m: number;
    card10m: number;
    card24h: number;
    ip10m: number;
    /** Distinct accounts behind one card (30 days) / one device (24 h) before it looks shared. */
    cardUsers30d: number;
    deviceUsers24h: number;
    /** Distinct cards one user pays with in 24 h. */
    userCards24h: number;
  };
  /**
   * The population's typical log amount and spread (ln of minor units), the prior an account with
   * little history is compared against (shrinkage). Calibrated on the evaluation population.
   */
  population: { logAmountMedian: number; logAmountScale: number };
  /** History rows after which the user's own statistics count as much as the prior. */
  priorStrength: number;
  /** Kinds that only the blocklist blocks; any other `block` score is a `review` for them. */
  blockOnlyBlocklisted: readonly RiskSubjectKind[];
  /** How long an automatic block lasts. */
  autoBlockMinutes: number;
  /** A reason at least this strong in a `block` decision blocks its subject automatically. */
  autoBlockReasonWeight: number;
}

export const DEFAULT_FRAUD_CONFIG: FraudConfig = {
  reviewAt: 0.5,
  blockAt: 0.8,
  anomaly: true,
  weights: {
    blocklisted: 0.97,
    velocity: 0.9,
    amountVsHistory: 0.55,
    newDevice: 0.2,
    countryMismatch: 0.35,
    manyCards: 0.85,
    anomaly: 0.6,
  },
  limits: {
    user10m: 3,
    user24h: 8,
    device10m: 4,
    card10m: 3,
    card24h: 8,
    ip10m: 8,
    cardUsers30d: 2,
    deviceUsers24h: 2,
    userCards24h: 2,
  },
  population: { logAmountMedian: Math.log(15_000), logAmountScale: 1.0 },
  priorStrength: 4,
  blockOnlyBlocklisted: ['booking'],
  autoBlockMinutes: 24 * 60,
  autoBlockReasonWeight: 0.8,
};

/** The same rules and thresholds without the anomaly score: the evaluation's baseline. */
export const RULES_ONLY_CONFIG: FraudConfig = { ...DEFAULT_FRAUD_CONFIG, anomaly: false };
