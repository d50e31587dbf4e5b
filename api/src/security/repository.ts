import type { Queryable } from '@clutch/db';
import type { AuditOutcome } from '../audit/index.js';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';

/** Newest first, by the time of the event (audit_log_at_idx). */
export const SECURITY_REPORTS_LISTING: Listing = { name: 'security-reports', key: 'at', id: 'id', idType: 'bigint' };

/** What a report is narrowed to; every field optional, all given ones must hold. */
export interface ReportFilter {
  /** Inclusive. */
  from?: Date | undefined;
  /** Exclusive. */
  to?: Date | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  outcome?: AuditOutcome | undefined;
  tenantId?: string | undefined;
}

export interface SecurityEventRow {
  id: string;
  seq: string;
  at: Date | string;
  tenant_id: string | null;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  outcome: AuditOutcome;
  detail: Record<string, unknown>;
  hash: string;
}

function filtered(filter: ReportFilter): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (column: string, op: string, value: unknown): void => {
    params.push(value);
    where.push(`${column} ${op} $${params.length}`);
  };
  if (filter.from) add('at', '>=', filter.from);
  if (filter.to) add('at', '<', filter.to);
  if (filter.actor !== undefined) add('actor', '=', filter.actor);
  if (filter.action !== undefined) add('action', '=', filter.action);
  if (filter.outcome !== undefined) add('outcome', '=', filter.outcome);
  if (filter.tenantId !== undefined) add('tenant_id', '=', filter.tenantId);
  return {
    sql: `SELECT id, seq::text AS seq, at, tenant_id, actor, action, target, host(ip) AS ip, outcome, detail,
                 encode(hash, 'hex') AS hash
            FROM audit_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}`,
    params,
  };
}

/** One page of the audit log under a filter, newest first. */
export const securityEventsPage = (
  q: Queryable,
  filter: ReportFilter,
  page: PageRequest,
): Promise<Page<SecurityEventRow>> => keysetPage<SecurityEventRow>(q, SECURITY_REPORTS_LISTING, filtered(filter), page);
