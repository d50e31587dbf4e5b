import type { Queryable } from '@clutch/db';

/**
 * The inline risk check every payment, booking and wallet transfer passes before it is stored
 * (docs/fraud.md). It runs in the use case's transaction, so a blocked attempt leaves nothing behind
 * but its assessment, and must stay fast (target p99 < 10 ms).
 */
export type RiskSubjectKind = 'payment' | 'booking' | 'wallet_transfer';

export interface RiskInput {
  kind: RiskSubjectKind;
  /** The payer's tenant and user (null user: an organisation's key). */
  tenantId: string;
  userId: string | null;
  amountMinor: number;
  currency: string;
  /** The record being decided on, when it already has an id (payment, booking, transfer). */
  reference?: string | undefined;
  /** Request context, when known. */
  ip?: string | undefined;
  /** ISO 3166 alpha-2 of the caller's address, when known (header or geo lookup). */
  ipCountry?: string | undefined;
  /** The card's issuing country and fingerprint, when a card pays. */
  cardCountry?: string | undefined;
  cardFingerprint?: string | undefined;
  /** A device id the client sends (`X-Device-Id`) or the session's device. */
  deviceId?: string | undefined;
  at?: Date | undefined;
}

export type RiskDecision = 'allow' | 'review' | 'block';

export interface RiskReason {
  /** `velocity`, `amount_vs_history`, `new_device`, `country_mismatch`, `many_cards`, `blocklisted`, `anomaly` */
  code: string;
  /** Its share of the score, 0..1. */
  weight: number;
  /** For the admin's review queue: what was seen (numbers, not personal data). */
  detail: Record<string, string | number | boolean>;
}

export interface RiskAssessment {
  id: string;
  decision: RiskDecision;
  /** 0 (harmless) .. 1 (certain fraud). */
  score: number;
  reasons: RiskReason[];
}

/** What api/src/fraud/assess.ts exports; payments, bookings and wallet call it inline. */
export type AssessRisk = (q: Queryable, input: RiskInput) => Promise<RiskAssessment>;
