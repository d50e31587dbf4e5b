import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { timeRangeQuery, vehicleParams } from '../shared/schemas.js';
import { BUCKETS, TELEMETRY_DEFAULTS, type TelemetryService } from './service.js';

// ai/ (owned elsewhere) still imports these from here; new code imports ../shared/schemas.js.
export { isoTime, timeRangeQuery } from '../shared/schemas.js';

export const telemetryQuery = timeRangeQuery.extend({
  signal: z.string({ error: 'is required (a signal key such as engine.rpm)' }).min(1).max(100),
  limit: z.coerce.number().int().min(1).max(TELEMETRY_DEFAULTS.maxLimit).optional(),
  bucket: z.enum(BUCKETS).optional(),
});

const rawSeries = z.object({
  vehicleId: z.string(),
  signal: z.string(),
  unit: z.string(),
  from: z.string(),
  to: z.string(),
  truncated: z.boolean(),
  points: z.array(z.object({ time: z.string(), value: z.number() })),
});
const bucketedSeries = rawSeries.extend({
  bucket: z.enum(BUCKETS),
  points: z.array(z.object({ time: z.string(), avg: z.number(), min: z.number(), max: z.number(), n: z.int() })),
});

export function telemetryRoutes(router: ApiRouter, telemetry: TelemetryService): void {
  router.route({
    method: 'get',
    path: '/vehicles/:id/latest',
    tag: 'telemetry',
    summary: 'Newest value of every signal (last 30 days)',
    access: { scope: 'telemetry:read' },
    params: vehicleParams,
    response: {
      status: 200,
      description: 'Latest readings',
      schema: z.object({
        vehicleId: z.string(),
        readings: z.array(
          z.object({ signal: z.string(), name: z.string(), unit: z.string(), value: z.number(), time: z.string() }),
        ),
      }),
    },
    errors: ['VEHICLE_NOT_FOUND'],
    handle: ({ scope, params }) => telemetry.latest(scope, params.id),
  });

  router.route({
    method: 'get',
    path: '/vehicles/:id/telemetry',
    tag: 'telemetry',
    summary:
      'Series of one signal: raw samples, or 1-minute / 1-hour buckets {time, avg, min, max, n} from the rollups',
    description:
      'Without `bucket`, raw samples in [from, to] (default: the last 15 minutes). With `bucket=1m` (default window 24 h) or ' +
      '`bucket=1h` (default 30 days), the ingest-maintained rollups. `truncated` says that `limit` cut the series.',
    access: { scope: 'telemetry:read' },
    params: vehicleParams,
    query: telemetryQuery,
    response: { status: 200, description: 'The series', schema: z.union([rawSeries, bucketedSeries]) },
    errors: ['VEHICLE_NOT_FOUND', 'SIGNAL_UNKNOWN', 'TIME_RANGE_INVALID'],
    handle: ({ scope, params, query }) =>
      query.bucket
        ? telemetry.bucketed(scope, params.id, { ...query, bucket: query.bucket })
        : telemetry.range(scope, params.id, query),
  });
}
