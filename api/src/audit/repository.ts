import type { Queryable } from '@clutch/db';
import type { SystemUse } from '../auth/scope.js';

export interface AuditRow {
  id: string;
  at: Date | string;
  tenant_id: string | null;
  actor: string;
  action: string;
  target: string | null;
  detail: Record<string, unknown>;
}

/** `audit_log` (db/migrations/016_audit_log.sql): one row per use of a system scope. */
export class AuditRepository {
  constructor(private readonly db: Queryable) {}

  async record(use: SystemUse): Promise<void> {
    await this.db.query(
      'INSERT INTO audit_log (tenant_id, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5::jsonb)',
      [use.tenantId ?? null, use.actor, use.action, use.target ?? null, JSON.stringify(use.detail ?? {})],
    );
  }

  /** Newest first (tests and operators). */
  async recent(limit: number): Promise<AuditRow[]> {
    const { rows } = await this.db.query<AuditRow>(
      'SELECT id::text AS id, at, tenant_id, actor, action, target, detail FROM audit_log ORDER BY at DESC, id DESC LIMIT $1',
      [limit],
    );
    return rows;
  }
}

/** The AuditLog every scope of the API writes with. */
export const recordAudit = (q: Queryable, use: SystemUse): Promise<void> => new AuditRepository(q).record(use);
