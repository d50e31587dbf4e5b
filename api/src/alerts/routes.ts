import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { timeRangeQuery } from '../telemetry/routes.js';
import { vehicleParams } from '../vehicles/routes.js';
import type { AlertsService } from './service.js';

export const alertSchema = z.object({
  id: z.string(), time: z.string(), kind: z.string(), severity: z.enum(['info', 'warning', 'critical']), title: z.string(), explanation: z.string(),
  signals: z.array(z.string()), details: z.record(z.string(), z.unknown()), modelVersion: z.string().nullable(), acknowledgedAt: z.string().nullable(),
});

const alertQuery = timeRangeQuery.extend({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  unacknowledged: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

export function alertRoutes(router: ApiRouter, alerts: AlertsService): void {
  router.route({
    method: 'get',
    path: '/vehicles/:id/alerts',
    tag: 'telemetry',
    summary: 'Alerts raised by scoring in ingest (anomaly model, health checks), newest first; default the last 30 days',
    access: { scope: 'telemetry:read' },
    params: vehicleParams,
    query: alertQuery,
    response: { status: 200, description: 'Alerts', schema: z.object({ vehicleId: z.string(), from: z.string(), to: z.string(), alerts: z.array(alertSchema) }) },
    errors: ['VEHICLE_NOT_FOUND', 'TIME_RANGE_INVALID'],
    handle: ({ scope, params, query }) => alerts.list(scope, params.id, query),
  });
}
