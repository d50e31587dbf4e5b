import type Router from '@koa/router';
import { z } from 'zod';
import { parseInput } from '../http/validate.js';
import type { VehiclesService } from './service.js';

/** Postgres accepts any 8-4-4-4-12 hex id (not only RFC 9562 versions), so the edge does too. */
export const vehicleParams = z.object({ id: z.guid({ error: 'must be a UUID' }) });

export function vehicleRoutes(router: Router, vehicles: VehiclesService): void {
  // Single-tenant dev mode: no authorisation yet; this is where the tenant check will go.
  router.get('/vehicles', async (ctx) => {
    ctx.body = { vehicles: await vehicles.list() };
  });

  router.get('/vehicles/:id', async (ctx) => {
    const { id } = parseInput(vehicleParams, ctx.params, 'params');
    ctx.body = await vehicles.get(id);
  });
}
