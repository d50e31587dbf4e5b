import type Router from '@koa/router';
import { z } from 'zod';
import { parseInput } from '../http/validate.js';
import { vehicleParams } from '../vehicles/routes.js';
import { TELEMETRY_DEFAULTS, type TelemetryService } from './service.js';

const isoTime = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 date-time with Z or an offset' })
  .transform((s) => new Date(s));

export const telemetryQuery = z.object({
  signal: z.string({ error: 'is required (a signal key such as engine.rpm)' }).min(1).max(100),
  from: isoTime.optional(),
  to: isoTime.optional(),
  limit: z.coerce.number().int().min(1).max(TELEMETRY_DEFAULTS.maxLimit).optional(),
});

export function telemetryRoutes(router: Router, telemetry: TelemetryService): void {
  router.get('/vehicles/:id/latest', async (ctx) => {
    const { id } = parseInput(vehicleParams, ctx.params, 'params');
    ctx.body = await telemetry.latest(id);
  });

  router.get('/vehicles/:id/telemetry', async (ctx) => {
    const { id } = parseInput(vehicleParams, ctx.params, 'params');
    const query = parseInput(telemetryQuery, ctx.query, 'query');
    ctx.body = await telemetry.range(id, query);
  });
}
