import { z } from 'zod';
import { actorOf } from '../check-ins/routes.js';
import { pageParams } from '../http/pagination.js';
import type { ApiRouter } from '../http/route.js';
import { uuid } from '../shared/schemas.js';
import { PARTS_ORDERS_LISTING } from './repository.js';
import { MAX_PARTS_ORDER_LINES, PARTS_ORDER_PAGE, type PartsOrdersService } from './service.js';
import { PARTS_ORDER_STATUSES } from './state.js';

const partsOrderView = z.object({
  id: z.string(),
  partnerId: z.string().describe('The ordering repair center'),
  supplierPartnerId: z.string().describe('The parts shop'),
  repairOrderId: z.string().nullable(),
  status: z.enum(PARTS_ORDER_STATUSES),
  currency: z.string(),
  totalMinor: z.number().int(),
  notes: z.string(),
  tracking: z.string().nullable(),
  cancelReason: z.string().nullable(),
  lines: z.array(
    z.object({
      partId: z.string(),
      sku: z.string(),
      name: z.string(),
      quantity: z.number().int(),
      unitPriceMinor: z.number().int(),
    }),
  ),
  createdAt: z.string(),
  acceptedAt: z.string().nullable(),
  shippedAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  cancelledAt: z.string().nullable(),
});

const MOVES = {
  accept:
    'The parts shop accepts: its stock is taken now (409 STOCK_INSUFFICIENT when there is not enough, nothing taken)',
  ship: 'The parts shop ships an accepted order (optional `tracking`)',
  deliver:
    'The repair center confirms delivery; the last open parts order of a repair order waiting for parts puts it back in progress',
  cancel:
    'Cancel: the repair center while the order is not yet accepted, the parts shop until it ships (accepted stock is put back)',
} as const;

export function partsOrderRoutes(router: ApiRouter, orders: PartsOrdersService): void {
  router.route({
    method: 'post',
    path: '/parts-orders',
    tag: 'parts-orders',
    summary:
      'Order parts from a parts shop, for a repair order (which moves to waiting_parts when in progress) or for the shop',
    access: { permission: 'parts-orders:write', perResource: 'service' },
    body: z.strictObject({
      supplierPartnerId: uuid.describe('The parts shop (a listed partner of kind parts_shop)'),
      repairOrderId: uuid.optional(),
      partnerId: uuid.optional().describe('The ordering repair center; default: the repair order’s shop'),
      notes: z.string().max(2000).optional(),
      lines: z
        .array(z.strictObject({ partId: uuid, quantity: z.number().int().min(1).max(10_000) }))
        .min(1)
        .max(MAX_PARTS_ORDER_LINES),
    }),
    response: { status: 201, description: 'The parts order (ordered)', schema: partsOrderView },
    errors: [
      'REPAIR_ORDER_NOT_FOUND',
      'PARTNER_NOT_FOUND',
      'PART_NOT_FOUND',
      'PARTS_ORDER_INVALID',
      'INVALID_TRANSITION',
    ],
    handle: (r) => orders.place(actorOf(r), r.body),
  });

  router.route({
    method: 'get',
    path: '/parts-orders',
    tag: 'parts-orders',
    summary: 'Parts orders the caller placed or supplies, newest first',
    access: { permission: 'parts-orders:read', perResource: 'service' },
    query: z.object({ repairOrderId: uuid.optional(), ...pageParams(PARTS_ORDERS_LISTING, PARTS_ORDER_PAGE) }),
    response: {
      status: 200,
      description: 'Parts orders; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ partsOrders: z.array(partsOrderView), next: z.string().nullable() }),
    },
    handle: (r) => orders.list(actorOf(r), { repairOrderId: r.query.repairOrderId }, r.query),
  });

  router.route({
    method: 'get',
    path: '/parts-orders/:id',
    tag: 'parts-orders',
    summary: 'One parts order (its buyer and its supplier)',
    access: { permission: 'parts-orders:read', perResource: 'service' },
    params: z.object({ id: uuid }),
    response: { status: 200, description: 'The parts order', schema: partsOrderView },
    errors: ['PARTS_ORDER_NOT_FOUND'],
    handle: (r) => orders.get(actorOf(r), r.params.id),
  });

  for (const action of ['accept', 'ship', 'deliver', 'cancel'] as const)
    router.route({
      method: 'post',
      path: `/parts-orders/:id/${action}`,
      tag: 'parts-orders',
      summary: MOVES[action],
      access: { permission: 'parts-orders:write', perResource: 'service' },
      params: z.object({ id: uuid }),
      body: z.strictObject({
        tracking: z.string().min(1).max(200).optional(),
        reason: z.string().min(1).max(500).optional(),
      }),
      response: { status: 200, description: 'The parts order', schema: partsOrderView },
      errors: ['PARTS_ORDER_NOT_FOUND', 'PARTS_ORDER_STATE_CONFLICT', 'STOCK_INSUFFICIENT', 'INVALID_TRANSITION'],
      handle: (r) => orders.move(actorOf(r), r.params.id, action, r.body),
    });
}
