import { z } from 'zod';
import { alertSchema } from '../alerts/routes.js';
import type { ApiRouter } from '../http/route.js';
import { vehicleParams } from '../shared/schemas.js';
import type { VehicleHealthService } from './service.js';

const healthSchema = z.object({
  vehicleId: z.string(),
  status: z.enum(['ok', 'warning', 'critical']),
  reasons: z.array(z.string()),
  signals: z.array(
    z.object({
      signal: z.string(),
      name: z.string(),
      unit: z.string(),
      value: z.number().nullable(),
      time: z.string().nullable(),
      expected: z.object({ min: z.number().nullable(), max: z.number().nullable() }),
      status: z.enum(['ok', 'low', 'high', 'unknown']),
      stale: z.boolean(),
    }),
  ),
  activeDtcs: z.array(
    z
      .object({ code: z.string(), kind: z.string(), description: z.string().nullable(), milRelevant: z.boolean() })
      .loose(),
  ),
  recentAlerts: z.array(alertSchema),
  calibration: z.object({
    status: z.enum(['calibrating', 'calibrated']),
    runningHours: z.number(),
    hoursNeeded: z.number(),
    trips: z.number(),
    tripsNeeded: z.number(),
    checks: z.array(z.object({ check: z.string(), ready: z.boolean(), reason: z.string().optional() })),
    updatedAt: z.string().nullable(),
  }),
});

export function vehicleHealthRoutes(router: ApiRouter, health: VehicleHealthService): void {
  router.route({
    method: 'get',
    path: '/vehicles/:id/health',
    tag: 'diagnostics',
    summary:
      "Health summary: key signals against operating ranges, active trouble codes, unacknowledged alerts of the last 7 days, and how far the vehicle's own normal is learned (calibration)",
    access: { scope: 'telemetry:read' },
    params: vehicleParams,
    response: {
      status: 200,
      description: 'Summary with an overall ok / warning / critical and the reasons',
      schema: healthSchema,
    },
    errors: ['VEHICLE_NOT_FOUND'],
    handle: ({ scope, params }) => health.summary(scope, params.id),
  });
}
