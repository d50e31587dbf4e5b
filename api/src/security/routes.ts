import { Readable } from 'node:stream';
import { z } from 'zod';
import { AUDIT_OUTCOMES } from '../audit/index.js';
import { pageParams } from '../http/pagination.js';
import type { ApiRouter } from '../http/route.js';
import { isoTime, segmentId } from '../shared/schemas.js';
import { SECURITY_REPORTS_LISTING } from './repository.js';
import { SECURITY_REPORT_PAGE, type SecurityReportsService } from './service.js';

const reportQuery = z.object({
  from: isoTime.optional().describe('Events at or after this time (RFC 3339)'),
  to: isoTime.optional().describe('Events before this time (RFC 3339)'),
  actor: z.string().min(1).max(200).optional().describe('Exactly this actor (`admin`, `user:<id>`, ...)'),
  action: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, { error: 'must be a dotted lowercase action' })
    .optional()
    .describe('Exactly this action (`auth.login.failed`, `api-key.create`, ...)'),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  tenantId: segmentId.optional().describe('Events concerning this tenant'),
  format: z.enum(['json', 'csv']).optional().describe('`csv` exports every filtered row (so does `Accept: text/csv`)'),
  ...pageParams(SECURITY_REPORTS_LISTING, SECURITY_REPORT_PAGE),
});

const securityEventView = z.object({
  id: z.string(),
  seq: z.string().describe('Position in the hash chain'),
  at: z.string(),
  tenantId: z.string().nullable(),
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  ip: z.string().nullable(),
  outcome: z.enum(AUDIT_OUTCOMES),
  detail: z.record(z.string(), z.unknown()),
  hash: z.string().describe('SHA-256 of the row chained to the one before it (hex)'),
});

export function securityRoutes(router: ApiRouter, reports: SecurityReportsService): void {
  router.route({
    method: 'get',
    path: '/security/reports',
    tag: 'administration',
    summary:
      'Security report: the audit log (who, what, where, outcome), filtered by time, actor, action, outcome and tenant, newest first',
    description:
      'JSON a page at a time (`limit`, `cursor`). With `format=csv` or `Accept: text/csv` the answer is instead ' +
      'every filtered row as CSV (RFC 4180; `limit` and `cursor` do not apply), and the export is itself recorded ' +
      'in the audit log (`security.report.export`).',
    access: { permission: 'security-reports:read' },
    query: reportQuery,
    response: {
      status: 200,
      description: 'The events; `next` is the cursor of the next page (null on the last). text/csv when exported',
      schema: z.object({ events: z.array(securityEventView), next: z.string().nullable() }),
    },
    errors: ['TIME_RANGE_INVALID'],
    handle: async ({ scope, query, ctx }) => {
      const { format, limit, cursor, ...filter } = query;
      const csv =
        format === 'csv' || (format === undefined && ctx.accepts('application/json', 'text/csv') === 'text/csv');
      if (!csv) {
        const page = await reports.page(scope, filter, { limit, cursor });
        return { events: page.items, next: page.next };
      }
      const rows = reports.export(scope, filter);
      // The first batch (and with it the export's audit row) before any header goes out, so a
      // failure there is still a problem response rather than a cut-off file.
      const first = await rows.next();
      ctx.type = 'text/csv; charset=utf-8';
      ctx.set('Content-Disposition', 'attachment; filename="security-report.csv"');
      return Readable.from(
        (async function* () {
          if (!first.done) yield first.value;
          yield* rows;
        })(),
      );
    },
  });
}
