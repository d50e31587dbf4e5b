import { randomUUID } from 'node:crypto';
import type { Queryable } from '@clutch/db';
import { apiError } from '../errors.js';
import { DEFAULT_FRAUD_CONFIG, type FraudConfig } from './config.js';
import { attemptSubjects, gatherFeatures } from './features.js';
import { subjectLabel, type BlockSubject } from './hash.js';
import { scoreRisk, type RiskFeatures } from './score.js';
import type { AssessRisk, RiskAssessment, RiskInput } from './types.js';

/** An assessment with what the scorer saw (the analyze route and the evaluation show it). */
export interface DetailedAssessment extends RiskAssessment {
  /** False for a dry run: nothing was stored, `id` names nothing. */
  stored: boolean;
  anomaly: number;
  features: RiskFeatures;
  /** Subjects blocked automatically by this assessment (a dry run: that it would block). */
  autoBlocked: BlockSubject[];
  alertId: string | null;
}

export interface AssessOptions {
  config?: FraudConfig | undefined;
  /** Score without storing anything: no assessment, no alert, no block (the analyze route). */
  dryRun?: boolean | undefined;
  /** A card known only by its stored hash (re-scoring a stored attempt; dry runs only). */
  cardHash?: string | undefined;
}

const CURRENCY = /^[A-Z]{3}$/;
const COUNTRY = /^[A-Za-z]{2}$/;
const KINDS = new Set(['payment', 'booking', 'wallet_transfer']);

/** Optional context that is malformed is dropped (scored as unknown), never stored as is. */
const optional = (value: string | undefined, max: number): string | undefined =>
  value === undefined || value === '' || value.length > max || value.includes('\u0000') ? undefined : value;

/**
 * Callers pass what the request had; bad amounts or kinds are a programming error (500, nothing
 * stored), unusable optional context is treated as absent.
 */
function normalise(input: RiskInput): RiskInput {
  if (!KINDS.has(input.kind)) throw new Error(`assessRisk: unknown kind ${String(input.kind)}`);
  if (!Number.isSafeInteger(input.amountMinor) || input.amountMinor < 0)
    throw new Error(`assessRisk: amountMinor must be a non-negative integer, got ${input.amountMinor}`);
  if (!CURRENCY.test(input.currency)) throw new Error(`assessRisk: currency must be ISO 4217, got ${input.currency}`);
  if (!input.tenantId) throw new Error('assessRisk: tenantId is required');
  const ipCountry = optional(input.ipCountry, 2);
  const cardCountry = optional(input.cardCountry, 2);
  return {
    ...input,
    reference: optional(input.reference, 200),
    ip: optional(input.ip, 64),
    ipCountry: ipCountry && COUNTRY.test(ipCountry) ? ipCountry.toUpperCase() : undefined,
    cardCountry: cardCountry && COUNTRY.test(cardCountry) ? cardCountry.toUpperCase() : undefined,
    cardFingerprint: optional(input.cardFingerprint, 200),
    deviceId: optional(input.deviceId, 200),
  };
}

/**
 * Scores one attempt and (unless a dry run) stores it in the caller's transaction: the assessment,
 * an alert for `review` and `block`, and the automatic blocks of a `block` (docs/fraud.md). Two
 * statements for an allowed attempt (features, insert), three or four when it is flagged.
 */
export async function assess(q: Queryable, raw: RiskInput, options: AssessOptions = {}): Promise<DetailedAssessment> {
  const config = options.config ?? DEFAULT_FRAUD_CONFIG;
  const input = normalise(raw);
  const at = input.at ?? new Date();
  const subjects = attemptSubjects(input, options.dryRun ? options.cardHash : undefined);
  const features = await gatherFeatures(q, input, subjects, at);
  const scored = scoreRisk(features, config);
  const id = randomUUID();
  const base = { id, decision: scored.decision, score: scored.score, reasons: scored.reasons };
  const autoBlocked = scored.autoBlock.filter((s) => subjects.hashes[s] !== undefined);
  if (options.dryRun) return { ...base, stored: false, anomaly: scored.anomaly, features, autoBlocked, alertId: null };

  const alertId = scored.decision === 'allow' ? null : randomUUID();
  // Plain statements (a data-modifying CTE costs more to plan than these two cost to run).
  await q.query(
    `INSERT INTO risk_assessments (id, tenant_id, user_id, kind, reference, amount_minor, currency, score, decision,
                                   reasons, ip, ip_country, device_id, card_hash, card_country, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14, $15, $16)`,
    [
      id,
      input.tenantId,
      input.userId,
      input.kind,
      input.reference ?? null,
      input.amountMinor,
      input.currency,
      scored.score,
      scored.decision,
      JSON.stringify(scored.reasons),
      input.ip ?? null,
      input.ipCountry ?? null,
      input.deviceId ?? null,
      subjects.hashes.card ?? null,
      input.cardCountry ?? null,
      at,
    ],
  );
  if (alertId !== null)
    await q.query(
      `INSERT INTO fraud_alerts (id, tenant_id, assessment_id, decision, score, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [alertId, input.tenantId, id, scored.decision, scored.score, at],
    );

  if (autoBlocked.length > 0) {
    const reason = `automatic: ${scored.reasons
      .filter((r) => r.weight >= config.autoBlockReasonWeight)
      .map((r) => r.code)
      .join(', ')}`;
    await q.query('SELECT fraud_auto_block($1, $2::text[], $3::text[], $4::text[], $5, $6)', [
      id,
      autoBlocked,
      autoBlocked.map((s) => subjects.hashes[s]!),
      autoBlocked.map((s) => subjectLabel(s, subjects.values[s]!)),
      reason,
      new Date(at.getTime() + config.autoBlockMinutes * 60_000),
    ]);
  }
  return { ...base, stored: true, anomaly: scored.anomaly, features, autoBlocked, alertId };
}

/** An inline check with its own configuration (the evaluation's baseline uses the rules-only one). */
export function createAssessRisk(config: FraudConfig = DEFAULT_FRAUD_CONFIG): AssessRisk {
  return async (q, input) => {
    const { id, decision, score, reasons } = await assess(q, input, { config });
    return { id, decision, score, reasons };
  };
}

/**
 * The inline risk check payments, bookings and wallet transfers call in their transaction. On
 * `block` the caller lets the transaction commit (the assessment and its alert stay) without the
 * record it was about, then answers `riskBlocked(assessment)`.
 */
export const assessRisk: AssessRisk = createAssessRisk();

/** The 403 problem for a blocked attempt: which assessment, not which rule (that would teach the fraudster). */
export function riskBlocked(assessment: RiskAssessment): Error {
  return apiError('RISK_BLOCKED', 'This was stopped by our risk check; contact support if you think this is wrong', {
    assessmentId: assessment.id,
  });
}
