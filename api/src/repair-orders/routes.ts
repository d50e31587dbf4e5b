import { z } from 'zod';
import type { BookingCaller } from '../bookings/service.js';
import { pageParams } from '../http/pagination.js';
import type { ApiRouter, RouteRequest } from '../http/route.js';
import { uuid, commaList } from '../shared/schemas.js';
import { REPAIR_ORDER_STATUSES, type RepairOrderStatus } from './lifecycle.js';
import { REPAIR_ORDERS_LISTING } from './repository.js';
import type { RepairOrdersService } from './service.js';
import { marketplaceScope } from '../bookings/access.js';

const callerOf = (r: RouteRequest<unknown, unknown, unknown>): BookingCaller => ({
  scope: marketplaceScope(r),
  principal: r.principal,
  policy: r.policy,
});

const status = z.enum(REPAIR_ORDER_STATUSES as unknown as [RepairOrderStatus, ...RepairOrderStatus[]]);

const orderView = z.object({
  id: z.string(),
  partnerId: z.string(),
  bookingId: z.string().nullable(),
  customerTenantId: z.string(),
  customerUserId: z.string().nullable(),
  vehicleId: z.string().nullable(),
  status,
  statusChangedAt: z.string(),
  createdAt: z.string(),
  startsAt: z.string().nullable().describe("The booking's start"),
  endsAt: z.string().nullable(),
  serviceCode: z.string().nullable(),
  serviceName: z.string().nullable(),
});

const detailView = orderView.extend({
  side: z.enum(['shop', 'customer', 'system']).describe("The caller's side of the order"),
  events: z
    .array(
      z.object({
        from: status.nullable(),
        to: status,
        at: z.string(),
        actor: z.string(),
        side: z.enum(['shop', 'customer', 'system']),
        note: z.string().nullable(),
        data: z.record(z.string(), z.unknown()).nullable(),
      }),
    )
    .describe('The timeline, oldest first: every change with its time and actor'),
  transitions: z
    .array(z.object({ to: status, route: z.string(), path: z.string() }))
    .describe("Where the caller's side may move the order next, and the route that makes each move"),
});

const statusList = commaList(REPAIR_ORDER_STATUSES, 'Comma-separated statuses (the job board columns)');

export function repairOrderRoutes(router: ApiRouter, orders: RepairOrdersService): void {
  router.route({
    method: 'get',
    path: '/repair-orders',
    tag: 'repair-orders',
    summary: "Repair orders, the most recently moved first: a shop's job board, an owner's or a fleet's orders",
    access: { permission: 'repair-orders:read', perResource: 'service' },
    query: z.object({
      status: statusList,
      partnerId: uuid.optional(),
      vehicleId: uuid.optional(),
      ...pageParams(REPAIR_ORDERS_LISTING),
    }),
    response: {
      status: 200,
      description: 'Repair orders; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ repairOrders: z.array(orderView), next: z.string().nullable() }),
    },
    handle: async (r) => {
      const { limit, cursor, ...filter } = r.query;
      const page = await orders.list(callerOf(r), filter, { limit, cursor });
      return { repairOrders: page.items, next: page.next };
    },
  });

  router.route({
    method: 'get',
    path: '/repair-orders/:id',
    tag: 'repair-orders',
    summary: 'One repair order with its timeline and the moves the caller may make next',
    access: { permission: 'repair-orders:read', perResource: 'service' },
    params: z.object({ id: uuid }),
    response: { status: 200, description: 'The repair order', schema: detailView },
    errors: ['REPAIR_ORDER_NOT_FOUND'],
    handle: (r) => orders.get(callerOf(r), r.params.id),
  });

  router.route({
    method: 'post',
    path: '/repair-orders/:id/transitions',
    tag: 'repair-orders',
    summary:
      'Move a repair order (the plain moves: diagnosis, in_progress, waiting_*, sublet, quality_check, ready_for_pickup, delivered, closed, delivered_without_repair, no_show); moves with their own route are refused with TRANSITION_HAS_OWN_ROUTE',
    access: { permission: 'repair-orders:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    body: z.strictObject({ to: status, note: z.string().max(2000).optional() }),
    response: { status: 200, description: 'The repair order after the move', schema: detailView },
    errors: ['REPAIR_ORDER_NOT_FOUND', 'INVALID_TRANSITION', 'TRANSITION_HAS_OWN_ROUTE'],
    handle: (r) => orders.transition(callerOf(r), r.params.id, r.body),
  });

  router.route({
    method: 'post',
    path: '/repair-orders/:id/resume',
    tag: 'repair-orders',
    summary:
      "The customer tells the shop to go on (waiting_customer -> in_progress), with an optional answer to the shop's question",
    access: { permission: 'bookings:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    body: z.strictObject({ note: z.string().max(2000).optional() }),
    response: { status: 200, description: 'The repair order after the move', schema: detailView },
    errors: ['REPAIR_ORDER_NOT_FOUND', 'INVALID_TRANSITION'],
    handle: (r) => orders.resume(callerOf(r), r.params.id, r.body),
  });
}
