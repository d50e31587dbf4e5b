import { locationSchema } from '@clutch/contracts';
import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { timeRangeQuery, uuid } from '../shared/schemas.js';
import { LOCATION_LIMITS, type LocationService } from './service.js';

/** The device `/location` payload (same schema, same limits) plus the vehicle it belongs to. */
export const gpsBody = locationSchema.extend({ vehicleId: uuid });

const historyQuery = timeRangeQuery.extend({
  vehicleId: uuid,
  limit: z.coerce.number().int().min(1).max(LOCATION_LIMITS.maxLimit).optional(),
});

const pointSchema = z.object({
  time: z.string(),
  lat: z.number(),
  lon: z.number(),
  altM: z.number().nullable(),
  speedKmh: z.number().nullable(),
  headingDeg: z.number().nullable(),
  hdop: z.number().nullable(),
  satellites: z.int().nullable(),
});

export function locationRoutes(router: ApiRouter, locations: LocationService): void {
  router.route({
    method: 'post',
    path: '/telematics/gps',
    tag: 'location',
    summary: 'Record a GPS fix for a vehicle (idempotent on vehicle and time: a repeat answers 200 with stored=false)',
    access: { permission: 'location:write' },
    body: gpsBody,
    response: {
      status: 201,
      description: 'Stored',
      schema: z.object({ vehicleId: z.string(), time: z.string(), stored: z.boolean() }),
    },
    errors: ['VEHICLE_NOT_FOUND'],
    handle: async ({ scope, body, ctx }) => {
      const { vehicleId, ...fix } = body;
      const result = await locations.record(scope, vehicleId, fix);
      if (!result.stored) ctx.status = 200;
      return result;
    },
  });

  router.route({
    method: 'get',
    path: '/telematics/history',
    tag: 'location',
    summary: 'GPS track of a vehicle in [from, to], oldest first (default the last 24 hours)',
    access: { scope: 'location:read' },
    query: historyQuery,
    response: {
      status: 200,
      description: 'Track',
      schema: z.object({
        vehicleId: z.string(),
        from: z.string(),
        to: z.string(),
        points: z.array(pointSchema),
        truncated: z.boolean(),
      }),
    },
    errors: ['VEHICLE_NOT_FOUND', 'TIME_RANGE_INVALID'],
    handle: ({ scope, query }) => locations.track(scope, query.vehicleId, query),
  });
}
