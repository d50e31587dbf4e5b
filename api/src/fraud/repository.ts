import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';
import type { BlockSubject } from './hash.js';
import type { RiskDecision, RiskReason, RiskSubjectKind } from './types.js';

/** The review queue, newest first. */
export const FRAUD_ALERTS_LISTING: Listing = { name: 'fraud-alerts', key: 'created_at', id: 'id', idType: 'uuid' };
export const FRAUD_BLOCKS_LISTING: Listing = { name: 'fraud-blocks', key: 'created_at', id: 'id', idType: 'uuid' };

export const ALERT_STATUSES = ['open', 'confirmed', 'dismissed'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export interface AlertRow {
  id: string;
  tenant_id: string;
  assessment_id: string;
  decision: Exclude<RiskDecision, 'allow'>;
  score: number;
  status: AlertStatus;
  reviewed_by: string | null;
  reviewed_at: Date | string | null;
  note: string | null;
  created_at: Date | string;
  user_id: string | null;
  kind: RiskSubjectKind;
  reference: string | null;
  amount_minor: string | number;
  currency: string;
  reasons: RiskReason[];
  ip: string | null;
  ip_country: string | null;
  device_id: string | null;
  card_hash: string | null;
  card_country: string | null;
}

export interface BlockRow {
  id: string;
  subject: BlockSubject;
  label: string | null;
  reason: string;
  until: Date | string;
  created_by: string;
  created_at: Date | string;
  lifted_at: Date | string | null;
  lifted_by: string | null;
  assessment_id: string | null;
  alert_id: string | null;
}

export interface AlertFilter {
  status?: AlertStatus | undefined;
  decision?: 'review' | 'block' | undefined;
  tenantId?: string | undefined;
  reason?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

const ALERT_COLUMNS = `a.id, a.tenant_id, a.assessment_id, a.decision, a.score, a.status, a.reviewed_by, a.reviewed_at,
       a.note, a.created_at, r.user_id, r.kind, r.reference, r.amount_minor, r.currency, r.reasons, r.ip,
       r.ip_country, r.device_id, r.card_hash, r.card_country`;

const BLOCK_COLUMNS = `id, subject, label, reason, until, created_by, created_at, lifted_at, lifted_by, assessment_id, alert_id`;

/** Alerts, blocks and reports; platform staff's, so it runs in an audited system scope. */
export class FraudRepository {
  constructor(private readonly db: Queryable) {}

  alerts(filter: AlertFilter, page: PageRequest): Promise<Page<AlertRow>> {
    return keysetPage<AlertRow>(
      this.db,
      FRAUD_ALERTS_LISTING,
      {
        sql: `SELECT ${ALERT_COLUMNS}
                FROM fraud_alerts a JOIN risk_assessments r ON r.id = a.assessment_id
               WHERE ($1::text IS NULL OR a.status = $1)
                 AND ($2::text IS NULL OR a.decision = $2)
                 AND ($3::text IS NULL OR a.tenant_id = $3)
                 AND ($4::text IS NULL OR r.reasons @> jsonb_build_array(jsonb_build_object('code', $4::text)))
                 AND ($5::timestamptz IS NULL OR a.created_at >= $5)
                 AND ($6::timestamptz IS NULL OR a.created_at < $6)`,
        params: [
          filter.status ?? null,
          filter.decision ?? null,
          filter.tenantId ?? null,
          filter.reason ?? null,
          filter.from ?? null,
          filter.to ?? null,
        ],
      },
      page,
    );
  }

  async alert(id: string, lock = false): Promise<AlertRow | undefined> {
    const { rows } = await this.db.query<AlertRow>(
      `SELECT ${ALERT_COLUMNS} FROM fraud_alerts a JOIN risk_assessments r ON r.id = a.assessment_id
        WHERE a.id = $1 ${lock ? 'FOR UPDATE OF a' : ''}`,
      [id],
    );
    return rows[0];
  }

  /** Moves an open alert to its outcome; false when it was no longer open. */
  async review(id: string, status: 'confirmed' | 'dismissed', reviewer: string, note: string | null): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE fraud_alerts SET status = $2, reviewed_by = $3, reviewed_at = now(), note = $4
        WHERE id = $1 AND status = 'open'`,
      [id, status, reviewer, note],
    );
    return (rowCount ?? 0) > 0;
  }

  async insertBlock(block: {
    subject: BlockSubject;
    valueHash: string;
    label: string | null;
    reason: string;
    until: Date;
    createdBy: string;
    assessmentId?: string | null | undefined;
    alertId?: string | null | undefined;
  }): Promise<BlockRow> {
    const { rows } = await this.db.query<BlockRow>(
      `INSERT INTO fraud_blocks (subject, value_hash, label, reason, until, created_by, assessment_id, alert_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       RETURNING ${BLOCK_COLUMNS}`,
      [
        block.subject,
        block.valueHash,
        block.label,
        block.reason,
        block.until,
        block.createdBy,
        block.assessmentId ?? null,
        block.alertId ?? null,
      ],
    );
    return rows[0]!;
  }

  blocks(active: boolean, page: PageRequest): Promise<Page<BlockRow>> {
    return keysetPage<BlockRow>(
      this.db,
      FRAUD_BLOCKS_LISTING,
      {
        sql: `SELECT ${BLOCK_COLUMNS} FROM fraud_blocks
               WHERE NOT $1::boolean OR (lifted_at IS NULL AND until > now())`,
        params: [active],
      },
      page,
    );
  }

  /** Lifts a block; undefined when there is none with this id, the row as it is when already lifted. */
  async lift(id: string, by: string): Promise<BlockRow | undefined> {
    const { rows } = await this.db.query<BlockRow>(
      `UPDATE fraud_blocks SET lifted_at = coalesce(lifted_at, now()), lifted_by = coalesce(lifted_by, $2)
        WHERE id = $1 RETURNING ${BLOCK_COLUMNS}`,
      [id, by],
    );
    return rows[0];
  }

  /** Assessments per UTC day and decision in [from, to). */
  async decisionsPerDay(from: Date, to: Date): Promise<{ day: string; decision: RiskDecision; count: number }[]> {
    const { rows } = await this.db.query<{ day: string; decision: RiskDecision; count: string }>(
      `SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, decision,
              count(*)::text AS count
         FROM risk_assessments WHERE created_at >= $1 AND created_at < $2
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [from, to],
    );
    return rows.map((r) => ({ day: r.day, decision: r.decision, count: Number(r.count) }));
  }

  /** Flagged assessments per UTC day and reason code in [from, to). */
  async reasonsPerDay(from: Date, to: Date): Promise<{ day: string; code: string; count: number }[]> {
    const { rows } = await this.db.query<{ day: string; code: string; count: string }>(
      `SELECT to_char(date_trunc('day', r.created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
              reason ->> 'code' AS code, count(*)::text AS count
         FROM risk_assessments r CROSS JOIN LATERAL jsonb_array_elements(r.reasons) AS reason
        WHERE r.created_at >= $1 AND r.created_at < $2 AND r.decision <> 'allow'
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [from, to],
    );
    return rows.map((r) => ({ day: r.day, code: r.code, count: Number(r.count) }));
  }

  /** Alerts by status and decision in [from, to): the reviewed ones give the precision. */
  async reviewOutcomes(from: Date, to: Date): Promise<{ decision: string; status: AlertStatus; count: number }[]> {
    const { rows } = await this.db.query<{ decision: string; status: AlertStatus; count: string }>(
      `SELECT decision, status, count(*)::text AS count FROM fraud_alerts
        WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2 ORDER BY 1, 2`,
      [from, to],
    );
    return rows.map((r) => ({ decision: r.decision, status: r.status, count: Number(r.count) }));
  }

  /** The stored inputs of an assessment (by its id, or the latest for a record), for re-scoring it (analyze). */
  async storedAttempt(
    by: { assessmentId: string } | { kind: RiskSubjectKind; reference: string },
  ): Promise<StoredAttempt | undefined> {
    const where = 'assessmentId' in by ? 'id = $1::uuid' : 'reference = $1 AND kind = $2';
    const params = 'assessmentId' in by ? [by.assessmentId] : [by.reference, by.kind];
    const { rows } = await this.db.query<StoredAttempt>(
      `SELECT id, tenant_id, user_id, kind, reference, amount_minor, currency, ip, ip_country, device_id, card_hash,
              card_country, created_at
         FROM risk_assessments WHERE ${where} ORDER BY created_at DESC LIMIT 1`,
      params,
    );
    return rows[0];
  }
}

export interface StoredAttempt {
  id: string;
  tenant_id: string;
  user_id: string | null;
  kind: RiskSubjectKind;
  reference: string | null;
  amount_minor: string | number;
  currency: string;
  ip: string | null;
  ip_country: string | null;
  device_id: string | null;
  card_hash: string | null;
  card_country: string | null;
  created_at: Date | string;
}
