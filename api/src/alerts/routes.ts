import { z } from 'zod';
import { pageParams } from '../http/pagination.js';
import type { ApiRouter } from '../http/route.js';
import { timeRangeQuery, vehicleParams } from '../shared/schemas.js';
import { ALERTS_LISTING } from './repository.js';
import { ALERT_PAGE, type AlertsService } from './service.js';

export const alertSchema = z.object({
  id: z.string(),
  time: z.string(),
  kind: z.string(),
  severity: z.enum(['info', 'warning', 'critical']),
  title: z.string(),
  explanation: z.string(),
  signals: z.array(z.string()),
  details: z.record(z.string(), z.unknown()),
  modelVersion: z.string().nullable(),
  acknowledgedAt: z.string().nullable(),
});

const alertQuery = timeRangeQuery.extend({
  ...pageParams(ALERTS_LISTING, ALERT_PAGE),
  unacknowledged: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});

export function alertRoutes(router: ApiRouter, alerts: AlertsService): void {
  router.route({
    method: 'get',
    path: '/vehicles/:id/alerts',
    tag: 'telemetry',
    summary:
      'Alerts raised by scoring in ingest (anomaly model, health checks), newest first, a page at a time; default the last 30 days',
    access: { scope: 'telemetry:read' },
    params: vehicleParams,
    query: alertQuery,
    response: {
      status: 200,
      description: 'A page of alerts; `next` is the cursor of the next page (null on the last)',
      schema: z.object({
        vehicleId: z.string(),
        from: z.string(),
        to: z.string(),
        alerts: z.array(alertSchema),
        next: z.string().nullable(),
      }),
    },
    errors: ['VEHICLE_NOT_FOUND', 'TIME_RANGE_INVALID'],
    handle: ({ scope, params, query }) => alerts.list(scope, params.id, query),
  });
}
