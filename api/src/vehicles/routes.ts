import { z } from 'zod';
import { pageParams } from '../http/pagination.js';
import type { ApiRouter } from '../http/route.js';
import { vehicleParams } from '../shared/schemas.js';
import { VEHICLES_LISTING } from './repository.js';
import { VEHICLE_PAGE, type VehiclesService } from './service.js';

// commands/ and ai/ (owned elsewhere) still import these from here; new code imports ../shared/.
export { uuid, vehicleParams } from '../shared/schemas.js';

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
    summary:
      'List the vehicles the caller can see (a partner: its tenant and vehicles shared with it; a car owner: their own and those shared with them), by name, a page at a time',
    access: { permission: 'vehicles:read', perResource: 'service' },
    query: z.object(pageParams(VEHICLES_LISTING, VEHICLE_PAGE)),
    response: {
      status: 200,
      description: 'Vehicles by name; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ vehicles: z.array(vehicleSchema), next: z.string().nullable() }),
    },
    handle: ({ scope, query, policy }) => vehicles.list(scope, query, policy),
  });

  router.route({
    method: 'get',
    path: '/vehicles/:id',
    tag: 'vehicles',
    summary: 'One vehicle with its devices, presence and last contact',
    access: { permission: 'vehicles:read', perResource: 'service' },
    params: vehicleParams,
    response: { status: 200, description: 'The vehicle', schema: vehicleSchema },
    errors: ['VEHICLE_NOT_FOUND'],
    handle: ({ scope, params, policy }) => vehicles.get(scope, params.id, policy),
  });
}
