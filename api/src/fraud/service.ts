import type { Scope } from '../auth/scope.js';
import { apiError } from '../errors.js';
import type { PageRequest } from '../http/pagination.js';
import { toIso } from '../shared/time.js';
import { assess, type DetailedAssessment } from './assess.js';
import { DEFAULT_FRAUD_CONFIG, type FraudConfig } from './config.js';
import { subjectHash, subjectLabel, userKey, type BlockSubject } from './hash.js';
import { FraudRepository, type AlertFilter, type AlertRow, type BlockRow } from './repository.js';
import type { RiskInput, RiskReason, RiskSubjectKind } from './types.js';

export const FRAUD_ALERT_PAGE = { defaultLimit: 50, maxLimit: 200 } as const;
export const FRAUD_BLOCK_PAGE = { defaultLimit: 50, maxLimit: 200 } as const;
/** A block lasts at most a year; a longer one is a decision to take again, not to forget. */
export const MAX_BLOCK_MINUTES = 366 * 24 * 60;

export interface AlertView {
  id: string;
  tenantId: string;
  assessmentId: string;
  decision: 'review' | 'block';
  score: number;
  status: 'open' | 'confirmed' | 'dismissed';
  reviewedBy: string | null;
  reviewedAt: string | null;
  note: string | null;
  createdAt: string;
  attempt: {
    kind: RiskSubjectKind;
    reference: string | null;
    userId: string | null;
    amountMinor: number;
    currency: string;
    ip: string | null;
    ipCountry: string | null;
    deviceId: string | null;
    cardCountry: string | null;
    /** Whether a card paid (its fingerprint is kept only as a hash). */
    card: boolean;
  };
  reasons: RiskReason[];
}

export interface BlockView {
  id: string;
  subject: BlockSubject;
  label: string | null;
  reason: string;
  until: string;
  createdBy: string;
  createdAt: string;
  liftedAt: string | null;
  liftedBy: string | null;
  assessmentId: string | null;
  alertId: string | null;
  active: boolean;
}

export interface AnalysisView {
  decision: 'allow' | 'review' | 'block';
  score: number;
  reasons: RiskReason[];
  anomaly: number;
  /** What would be blocked automatically, were it not a dry run. */
  wouldBlock: BlockSubject[];
  /** The stored assessment re-scored, when one was named. */
  assessmentId: string | null;
  features: Record<string, unknown>;
}

export interface FraudReport {
  from: string;
  to: string;
  decisions: { day: string; decision: string; count: number }[];
  reasons: { day: string; code: string; count: number }[];
  review: {
    open: number;
    confirmed: number;
    dismissed: number;
    /** Confirmed among reviewed alerts (null before any review). */
    precision: number | null;
    byDecision: { decision: string; confirmed: number; dismissed: number; precision: number | null }[];
  };
}

const round = (x: number): number => Math.round(x * 10_000) / 10_000;

function alertView(row: AlertRow): AlertView {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    assessmentId: row.assessment_id,
    decision: row.decision,
    score: round(Number(row.score)),
    status: row.status,
    reviewedBy: row.reviewed_by,
    reviewedAt: toIso(row.reviewed_at),
    note: row.note,
    createdAt: toIso(row.created_at) ?? '',
    attempt: {
      kind: row.kind,
      reference: row.reference,
      userId: row.user_id,
      amountMinor: Number(row.amount_minor),
      currency: row.currency,
      ip: row.ip,
      ipCountry: row.ip_country,
      deviceId: row.device_id,
      cardCountry: row.card_country,
      card: row.card_hash !== null,
    },
    reasons: row.reasons,
  };
}

function blockView(row: BlockRow, now: Date = new Date()): BlockView {
  const until = new Date(row.until);
  return {
    id: row.id,
    subject: row.subject,
    label: row.label,
    reason: row.reason,
    until: toIso(row.until) ?? '',
    createdBy: row.created_by,
    createdAt: toIso(row.created_at) ?? '',
    liftedAt: toIso(row.lifted_at),
    liftedBy: row.lifted_by,
    assessmentId: row.assessment_id,
    alertId: row.alert_id,
    active: row.lifted_at === null && until.getTime() > now.getTime(),
  };
}

function analysisView(result: DetailedAssessment, assessmentId: string | null): AnalysisView {
  const { history, ...features } = result.features;
  return {
    decision: result.decision,
    score: result.score,
    reasons: result.reasons,
    anomaly: round(result.anomaly),
    wouldBlock: result.autoBlocked,
    assessmentId,
    features: { ...features, historyCount: history.length },
  };
}

export type AnalyzeRequest =
  | { assessmentId: string }
  | { kind: RiskSubjectKind; reference: string }
  | (Omit<RiskInput, 'at'> & { at?: Date | undefined });

export interface BlockRequest {
  subject: BlockSubject;
  /** user: the user id (with tenantId); device: the device id; card: the provider's fingerprint; ip: the address. */
  value: string;
  tenantId?: string | undefined;
  minutes: number;
  reason: string;
}

export interface ReviewRequest {
  outcome: 'confirmed' | 'dismissed';
  note?: string | undefined;
  /** Confirming may block the attempt's user, device, card or IP for `minutes`. */
  block?: { subjects: BlockSubject[]; minutes: number } | undefined;
}

/**
 * Platform staff's side of fraud (docs/fraud.md): analysis, the review queue, blocks and reports.
 * Every use case runs in an audited system scope (`scope.audited`), which also refuses anyone who
 * is not platform staff or the admin token, whatever permissions a tenant role might hold.
 */
export class FraudService {
  constructor(private readonly config: FraudConfig = DEFAULT_FRAUD_CONFIG) {}

  /** Scores without storing anything: a hypothetical attempt, or a stored one again (with today's rules). */
  async analyze(scope: Scope, request: AnalyzeRequest, ip?: string): Promise<AnalysisView> {
    return scope.audited({ action: 'fraud.analyze', ip }).run(async (q) => {
      if ('assessmentId' in request || !('amountMinor' in request)) {
        const stored = await new FraudRepository(q).storedAttempt(request);
        if (!stored)
          throw apiError(
            'FRAUD_ASSESSMENT_NOT_FOUND',
            undefined,
            'assessmentId' in request ? { ...request } : { ...request },
          );
        const input: RiskInput = {
          kind: stored.kind,
          tenantId: stored.tenant_id,
          userId: stored.user_id,
          amountMinor: Number(stored.amount_minor),
          currency: stored.currency,
          reference: stored.reference ?? undefined,
          ip: stored.ip ?? undefined,
          ipCountry: stored.ip_country ?? undefined,
          deviceId: stored.device_id ?? undefined,
          cardCountry: stored.card_country ?? undefined,
          // Its own row is in the history now: score it as of just before it was stored.
          at: new Date(new Date(stored.created_at).getTime() - 1),
        };
        const result = await assess(q, input, {
          config: this.config,
          dryRun: true,
          cardHash: stored.card_hash ?? undefined,
        });
        return analysisView(result, stored.id);
      }
      const result = await assess(q, request, { config: this.config, dryRun: true });
      return analysisView(result, null);
    });
  }

  async alerts(
    scope: Scope,
    filter: AlertFilter,
    page: PageRequest,
  ): Promise<{ alerts: AlertView[]; next: string | null }> {
    const { items, next } = await scope
      .audited({ action: 'fraud.alert.list', tenantId: filter.tenantId ?? null })
      .run((q) => new FraudRepository(q).alerts(filter, page));
    return { alerts: items.map(alertView), next };
  }

  /**
   * Confirms or dismisses an open alert; a confirmation may block the attempt's subjects. A second
   * review of the same alert is a 409 (the first decision stands; the audit log has it).
   */
  async review(
    scope: Scope,
    id: string,
    request: ReviewRequest,
    actor: string,
    ip?: string,
  ): Promise<AlertView & { blocks: BlockView[] }> {
    if (request.block && request.outcome !== 'confirmed')
      throw apiError('VALIDATION_FAILED', 'Only a confirmed alert can block', {
        errors: [{ pointer: '/body/block', detail: 'only with outcome confirmed' }],
      });
    return scope
      .audited({
        action: 'fraud.alert.review',
        target: id,
        ip,
        detail: { outcome: request.outcome, block: request.block ?? null },
      })
      .run(async (q) => {
        const repo = new FraudRepository(q);
        const alert = await repo.alert(id, true);
        if (!alert) throw apiError('FRAUD_ALERT_NOT_FOUND', undefined, { alertId: id });
        if (!(await repo.review(id, request.outcome, actor, request.note ?? null)))
          throw apiError('FRAUD_ALERT_REVIEWED', `This alert was already ${alert.status}`, { status: alert.status });
        const blocks: BlockView[] = [];
        if (request.block) {
          const until = new Date(Date.now() + request.block.minutes * 60_000);
          for (const subject of new Set(request.block.subjects)) {
            const target = alertSubject(alert, subject);
            if (!target)
              throw apiError('VALIDATION_FAILED', `The attempt has no ${subject} to block`, {
                errors: [{ pointer: '/body/block/subjects', detail: `no ${subject} on this attempt` }],
              });
            const row = await repo.insertBlock({
              subject,
              valueHash: target.hash,
              label: target.label,
              reason: `confirmed alert${request.note ? `: ${request.note.slice(0, 400)}` : ''}`,
              until,
              createdBy: actor,
              assessmentId: alert.assessment_id,
              alertId: alert.id,
            });
            blocks.push(blockView(row));
          }
        }
        const after = (await repo.alert(id))!;
        return { ...alertView(after), blocks };
      });
  }

  async block(scope: Scope, request: BlockRequest, actor: string, ip?: string): Promise<BlockView> {
    if (request.subject === 'user' && !request.tenantId)
      throw apiError('VALIDATION_FAILED', 'Blocking a user needs its tenantId', {
        errors: [{ pointer: '/body/tenantId', detail: 'required for subject user' }],
      });
    const value = request.subject === 'user' ? userKey(request.tenantId!, request.value) : request.value;
    const label = subjectLabel(request.subject, value);
    return scope
      .audited({
        action: 'fraud.block',
        tenantId: request.subject === 'user' ? request.tenantId : null,
        ip,
        detail: { subject: request.subject, label, minutes: request.minutes, reason: request.reason },
      })
      .run(async (q) =>
        blockView(
          await new FraudRepository(q).insertBlock({
            subject: request.subject,
            valueHash: subjectHash(request.subject, value),
            label,
            reason: request.reason,
            until: new Date(Date.now() + request.minutes * 60_000),
            createdBy: actor,
          }),
        ),
      );
  }

  async blocks(
    scope: Scope,
    active: boolean,
    page: PageRequest,
  ): Promise<{ blocks: BlockView[]; next: string | null }> {
    const { items, next } = await scope
      .audited({ action: 'fraud.block.list' })
      .run((q) => new FraudRepository(q).blocks(active, page));
    const now = new Date();
    return { blocks: items.map((b) => blockView(b, now)), next };
  }

  /** Lifts a block (idempotent: lifting a lifted block answers it as it is). */
  async unblock(scope: Scope, id: string, actor: string, ip?: string): Promise<BlockView> {
    return scope.audited({ action: 'fraud.unblock', target: id, ip }).run(async (q) => {
      const row = await new FraudRepository(q).lift(id, actor);
      if (!row) throw apiError('FRAUD_BLOCK_NOT_FOUND', undefined, { blockId: id });
      return blockView(row);
    });
  }

  async report(scope: Scope, from: Date, to: Date): Promise<FraudReport> {
    if (from.getTime() >= to.getTime())
      throw apiError('TIME_RANGE_INVALID', '`from` must be before `to`', {
        from: from.toISOString(),
        to: to.toISOString(),
      });
    return scope.audited({ action: 'fraud.report' }).run(async (q) => {
      const repo = new FraudRepository(q);
      const [decisions, reasons, outcomes] = [
        await repo.decisionsPerDay(from, to),
        await repo.reasonsPerDay(from, to),
        await repo.reviewOutcomes(from, to),
      ];
      const sum = (status: string, decision?: string): number =>
        outcomes
          .filter((o) => o.status === status && (decision === undefined || o.decision === decision))
          .reduce((s, o) => s + o.count, 0);
      const precision = (c: number, d: number): number | null => (c + d === 0 ? null : round(c / (c + d)));
      const confirmed = sum('confirmed');
      const dismissed = sum('dismissed');
      return {
        from: from.toISOString(),
        to: to.toISOString(),
        decisions,
        reasons,
        review: {
          open: sum('open'),
          confirmed,
          dismissed,
          precision: precision(confirmed, dismissed),
          byDecision: (['review', 'block'] as const).map((decision) => ({
            decision,
            confirmed: sum('confirmed', decision),
            dismissed: sum('dismissed', decision),
            precision: precision(sum('confirmed', decision), sum('dismissed', decision)),
          })),
        },
      };
    });
  }
}

/** The hash and label of one subject of an alert's attempt, when it had one. */
function alertSubject(alert: AlertRow, subject: BlockSubject): { hash: string; label: string } | undefined {
  switch (subject) {
    case 'user': {
      const key = userKey(alert.tenant_id, alert.user_id);
      return { hash: subjectHash('user', key), label: subjectLabel('user', key) };
    }
    case 'device':
      return alert.device_id
        ? { hash: subjectHash('device', alert.device_id), label: subjectLabel('device', alert.device_id) }
        : undefined;
    case 'card':
      // Stored as the same hash a block uses.
      return alert.card_hash ? { hash: alert.card_hash, label: `card ${alert.card_country ?? '?'}` } : undefined;
    case 'ip':
      return alert.ip ? { hash: subjectHash('ip', alert.ip), label: subjectLabel('ip', alert.ip) } : undefined;
  }
}
