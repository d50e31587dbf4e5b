import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import type { VehiclesService } from './service.js';

/** Postgres accepts any 8-4-4-4-12 hex id (not only RFC 9562 versions), so the edge does too. */
export const uuid = z.guid({ error: 'must be a UUID' });
export const vehicleParams = z.object({ id: uuid });

export const vehicleSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  name: z.string(),
  vin: z.string().nullable(),
  make: z.string().nullable(),
  model: z.string().nullable(),
  modelYear: z.int().nullable(),
  deviceIds: z.array(z.string()),
  online: z.boolean(),
  lastSeenAt: z.iso.datetime().nullable(),
});

export function vehicleRoutes(router: ApiRouter, vehicles: VehiclesService): void {
  router.route({
    method: 'get',
    path: '/vehicles',
    tag: 'vehicles',
    summary: 'List the vehicles the caller can see (a partner: its tenant only)',
    access: 'authenticated',
    response: { status: 200, description: 'Vehicles by name', schema: z.object({ vehicles: z.array(vehicleSchema) }) },
    handle: async ({ scope }) => ({ vehicles: await vehicles.list(scope) }),
  });

  router.route({
    method: 'get',
    path: '/vehicles/:id',
    tag: 'vehicles',
    summary: 'One vehicle with its devices, presence and last contact',
    access: 'authenticated',
    params: vehicleParams,
    response: { status: 200, description: 'The vehicle', schema: vehicleSchema },
    errors: ['VEHICLE_NOT_FOUND'],
    handle: ({ scope, params }) => vehicles.get(scope, params.id),
  });
}
