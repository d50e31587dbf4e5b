import { z } from 'zod';
import { actorOf } from '../check-ins/routes.js';
import type { ApiRouter } from '../http/route.js';
import { uuid } from '../shared/schemas.js';
import type { WarrantiesService } from './service.js';

export function warrantyRoutes(router: ApiRouter, warranties: WarrantiesService): void {
  router.route({
    method: 'get',
    path: '/repair-orders/:id/warranty',
    tag: 'repair-orders',
    summary:
      "Warranty on a delivered repair: one record per approved labour or part line, for the shop's terms (default 12 months or 20,000 km, whichever first)",
    access: { permission: 'repair-orders:read', perResource: 'service' },
    params: z.object({ id: uuid }),
    response: {
      status: 200,
      description: 'Warranties (empty until the order is delivered)',
      schema: z.object({
        warranties: z.array(
          z.object({
            id: z.string(),
            repairOrderId: z.string(),
            estimateLineId: z.string(),
            vehicleId: z.string().nullable(),
            kind: z.enum(['labour', 'part']),
            description: z.string(),
            startsAt: z.string(),
            endsAt: z.string().nullable(),
            odometerStartKm: z.number().int().nullable(),
            odometerEndKm: z.number().int().nullable(),
            active: z.boolean(),
          }),
        ),
      }),
    },
    errors: ['REPAIR_ORDER_NOT_FOUND'],
    handle: (r) => warranties.ofOrder(actorOf(r), r.params.id),
  });
}
