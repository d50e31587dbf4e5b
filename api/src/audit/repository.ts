import type { Queryable } from '@clutch/db';
import type { SystemUse } from '../auth/scope.js';

/** How an audited attempt ended. `denied`: refused by policy (forbidden, locked out, wrong tenant). */
export type AuditOutcome = 'success' | 'failure' | 'denied';

export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['success', 'failure', 'denied'];

/**
 * A security-relevant event that is not the use of a system scope: a failed sign-in, a revoked
 * session, an MFA enrolment. Actions are dotted lowercase (`auth.login.failed`).
 */
export interface SecurityEvent {
  actor: string;
  action: string;
  target?: string | null | undefined;
  tenantId?: string | null | undefined;
  ip?: string | null | undefined;
  outcome: AuditOutcome;
  detail?: object | undefined;
}

export interface AuditRow {
  id: string;
  at: Date | string;
  tenant_id: string | null;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  outcome: AuditOutcome;
  detail: Record<string, unknown>;
}

/**
 * `audit_log` (db/migrations/016_audit_log.sql, 019_audit_chain.sql): append-only; the database
 * fills `seq`, `prev_hash` and `hash` on insert, so every writer only ever INSERTs.
 */
export class AuditRepository {
  constructor(private readonly db: Queryable) {}

  async insert(event: SecurityEvent): Promise<void> {
    await this.db.query(
      `INSERT INTO audit_log (tenant_id, actor, action, target, ip, outcome, detail)
       VALUES ($1, $2, $3, $4, $5::inet, $6, $7::jsonb)`,
      [
        event.tenantId ?? null,
        event.actor,
        event.action,
        event.target ?? null,
        event.ip ?? null,
        event.outcome,
        JSON.stringify(event.detail ?? {}),
      ],
    );
  }

  async record(use: SystemUse): Promise<void> {
    await this.insert({ ...use, outcome: use.outcome ?? 'success' });
  }

  /** Newest first (tests and operators). */
  async recent(limit: number): Promise<AuditRow[]> {
    const { rows } = await this.db.query<AuditRow>(
      `SELECT id::text AS id, at, tenant_id, actor, action, target, host(ip) AS ip, outcome, detail
         FROM audit_log ORDER BY at DESC, id DESC LIMIT $1`,
      [limit],
    );
    return rows;
  }
}

/** The AuditLog every scope of the API writes with. */
export const recordAudit = (q: Queryable, use: SystemUse): Promise<void> => new AuditRepository(q).record(use);

/**
 * Records a security event in the transaction given. A failure that makes the use case roll back
 * (a wrong password, a refused MFA code) must still be recorded: give it its own transaction as the
 * platform (`Scope.system(...)`, or `db.transaction`), not the one that rolls back. Tenant-confined
 * transactions cannot write here (`clutch_app` may only read its tenant's rows).
 */
export const recordSecurityEvent = (q: Queryable, event: SecurityEvent): Promise<void> =>
  new AuditRepository(q).insert(event);
