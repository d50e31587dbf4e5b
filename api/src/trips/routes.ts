import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { timeRangeQuery, vehicleParams } from '../shared/schemas.js';
import type { TripsService } from './service.js';

const tripSchema = z.object({
  start: z.string(),
  end: z.string(),
  durationS: z.number(),
  distanceKm: z.number(),
  idleS: z.number(),
  maxSpeedKmh: z.number(),
  avgSpeedKmh: z.number(),
  fuelUsedL: z.number().nullable(),
});

export function tripRoutes(router: ApiRouter, trips: TripsService): void {
  router.route({
    method: 'get',
    path: '/vehicles/:id/trips',
    tag: 'telemetry',
    summary:
      'Trips derived from speed (and rpm as ignition): distance from integrated speed, duration, idle time, max speed, fuel used',
    description:
      'A trip is a run of activity (moving above 2 km/h, or engine above 300 rpm) whose samples are at most 3 minutes apart and that covers at least 50 m. ' +
      'Default range: the last 24 hours; at most 7 days. fuelUsedL is null without fuel.rate samples.',
    access: { scope: 'telemetry:read' },
    params: vehicleParams,
    query: timeRangeQuery,
    response: {
      status: 200,
      description: 'Trips, oldest first',
      schema: z.object({
        vehicleId: z.string(),
        from: z.string(),
        to: z.string(),
        trips: z.array(tripSchema),
        truncated: z.boolean(),
      }),
    },
    errors: ['VEHICLE_NOT_FOUND', 'TIME_RANGE_INVALID'],
    handle: ({ scope, params, query }) => trips.list(scope, params.id, query),
  });
}
