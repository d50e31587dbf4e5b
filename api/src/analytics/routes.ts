import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { timeRangeQuery, uuid } from '../shared/schemas.js';
import type { AnalyticsService } from './service.js';

const day = z.object({
  date: z.string(),
  distanceKm: z.number(),
  drivingMinutes: z.int(),
  engineOnMinutes: z.int(),
  idleMinutes: z.int(),
  maxSpeedKmh: z.number().nullable(),
});

export function analyticsRoutes(router: ApiRouter, analytics: AnalyticsService): void {
  router.route({
    method: 'get',
    path: '/telematics/analytics',
    tag: 'telemetry',
    summary:
      'Driving analytics from the 1-minute rollups: distance, driving time, idle share, average/max speed, per UTC day',
    description:
      'Default range: the last 7 days; at most 366 days. Minute resolution: distance is the sum of per-minute mean speeds over one minute.',
    access: { scope: 'telemetry:read' },
    query: timeRangeQuery.extend({ vehicleId: uuid }),
    response: {
      status: 200,
      description: 'Totals and per-day figures',
      schema: day.omit({ date: true }).extend({
        vehicleId: z.string(),
        from: z.string(),
        to: z.string(),
        idleShare: z.number().nullable(),
        avgSpeedKmh: z.number().nullable(),
        days: z.array(day),
      }),
    },
    errors: ['VEHICLE_NOT_FOUND', 'TIME_RANGE_INVALID'],
    handle: ({ scope, query }) => analytics.driving(scope, query.vehicleId, query),
  });
}
