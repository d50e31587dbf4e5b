import type { Scope } from '../auth/scope.js';
import { decodeCursor, type Page, type PageRequest } from '../http/pagination.js';
import { apiError } from '../errors.js';
import { toIso } from '../shared/time.js';
import { csvRecord } from './csv.js';
import {
  SECURITY_REPORTS_LISTING,
  securityEventsPage,
  type ReportFilter,
  type SecurityEventRow,
} from './repository.js';

/** One audit log row as the API shows it. */
export interface SecurityEventView {
  id: string;
  /** Position in the hash chain. */
  seq: string;
  at: string;
  tenantId: string | null;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  outcome: 'success' | 'failure' | 'denied';
  detail: Record<string, unknown>;
  /** The row's chain hash (hex): quoting it pins the row. */
  hash: string;
}

export const SECURITY_REPORT_PAGE = { defaultLimit: 100, maxLimit: 500 } as const;
/** Rows per transaction while exporting. */
const EXPORT_BATCH = 1000;

export const CSV_COLUMNS = [
  'id',
  'seq',
  'at',
  'tenant_id',
  'actor',
  'action',
  'target',
  'ip',
  'outcome',
  'detail',
  'hash',
];

const view = (row: SecurityEventRow): SecurityEventView => ({
  id: String(row.id),
  seq: row.seq,
  at: toIso(row.at) ?? '',
  tenantId: row.tenant_id,
  actor: row.actor,
  action: row.action,
  target: row.target,
  ip: row.ip,
  outcome: row.outcome,
  detail: row.detail,
  hash: row.hash,
});

function checkRange(filter: ReportFilter): void {
  if (filter.from && filter.to && filter.from.getTime() > filter.to.getTime())
    throw apiError(
      'TIME_RANGE_INVALID',
      `from (${filter.from.toISOString()}) is after to (${filter.to.toISOString()})`,
    );
}

/** Security reports over the audit log (api/src/audit): listing and CSV export, for administrators. */
export class SecurityReportsService {
  async page(scope: Scope, filter: ReportFilter, page: PageRequest): Promise<Page<SecurityEventView>> {
    checkRange(filter);
    const where = scope.administration({ action: 'security.report.read', tenantId: filter.tenantId ?? null });
    const rows = await where.run((q) => securityEventsPage(q, filter, page));
    return { items: rows.items.map(view), next: rows.next };
  }

  /**
   * Every row under the filter as CSV records (header first), fetched a batch per transaction so a
   * large export holds no long transaction. The export itself is administration and is recorded
   * (`security.report.export`, with the filter), with the first batch.
   */
  export(scope: Scope, filter: ReportFilter): AsyncGenerator<string> {
    checkRange(filter);
    const audited = scope.audited({
      action: 'security.report.export',
      tenantId: filter.tenantId ?? null,
      detail: {
        filter: {
          ...filter,
          from: filter.from?.toISOString(),
          to: filter.to?.toISOString(),
        },
      },
    });
    return (async function* () {
      let cursor: PageRequest['cursor'];
      // The header goes out with the first batch: the first chunk is there only once the export's
      // audit row has committed.
      let chunk = csvRecord(CSV_COLUMNS);
      do {
        const page = await audited.run((q) => securityEventsPage(q, filter, { limit: EXPORT_BATCH, cursor }));
        for (const row of page.items.map(view)) {
          chunk += csvRecord([
            row.id,
            row.seq,
            row.at,
            row.tenantId,
            row.actor,
            row.action,
            row.target,
            row.ip,
            row.outcome,
            JSON.stringify(row.detail),
            row.hash,
          ]);
        }
        if (chunk) yield chunk;
        chunk = '';
        cursor = page.next === null ? undefined : decodeCursor(SECURITY_REPORTS_LISTING, page.next);
      } while (cursor);
    })();
  }
}
