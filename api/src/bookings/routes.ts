import { z } from 'zod';
import { pageParams } from '../http/pagination.js';
import type { ApiRouter, RouteRequest } from '../http/route.js';
import { isoTime, uuid, commaList } from '../shared/schemas.js';
import { BOOKINGS_LISTING } from './repository.js';
import type { ShopResourcesService } from './resources.js';
import type { BookingCaller, BookingsService } from './service.js';
import { marketplaceScope } from './access.js';
import { riskContextOf } from '../fraud/request-context.js';

const callerOf = (r: RouteRequest<unknown, unknown, unknown>): BookingCaller => ({
  scope: marketplaceScope(r),
  principal: r.principal,
  policy: r.policy,
  request: riskContextOf(r.ctx),
});

const BOOKING_STATUSES = ['held', 'requested', 'confirmed', 'cancelled', 'expired', 'no_show'] as const;
const RESOURCE_KINDS = ['bay', 'lift', 'technician', 'equipment'] as const;

const skill = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, { error: 'must be 1-64 characters of a-z 0-9 _' });

const sourceSchema = z
  .strictObject({
    kind: z.enum(['manual', 'dtc', 'alert']),
    codes: z
      .array(z.string().regex(/^[PCBU][0-9A-F]{4}$/i, { error: 'must be an OBD-II trouble code like P0301' }))
      .max(50)
      .optional(),
    freezeFrame: z.record(z.string(), z.unknown()).optional(),
    alertId: z.string().min(1).max(128).optional(),
    explanation: z.string().max(4000).optional(),
  })
  .describe('Why the car is booked in: manual, or the trouble codes / alert it came from (M4)');

const resourceView = z.object({
  id: z.string(),
  kind: z.string(),
  name: z.string().nullable().describe("Null on the customer's side"),
});

export const bookingView = z.object({
  id: z.string(),
  partnerId: z.string(),
  customerTenantId: z.string(),
  customerUserId: z.string().nullable(),
  vehicleId: z.string().nullable(),
  serviceId: z.string().nullable(),
  serviceCode: z.string(),
  serviceName: z.string(),
  status: z.enum(BOOKING_STATUSES),
  startsAt: z.string(),
  endsAt: z.string(),
  holdExpiresAt: z.string().nullable(),
  source: z.record(z.string(), z.unknown()),
  notes: z.string().nullable(),
  priceMinor: z.number().int().nullable(),
  currency: z.string(),
  cancellationFeeMinor: z.number().int(),
  noShowFeeMinor: z.number().int(),
  cancelledAt: z.string().nullable(),
  cancelledBy: z.string().nullable(),
  cancelReason: z.string().nullable(),
  rescheduleCount: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  repairOrderId: z.string().nullable(),
  repairOrderStatus: z.string().nullable(),
  resources: z.array(resourceView).describe('What the booking reserved (technician, workplace, equipment)'),
});

const shopResourceView = z.object({
  id: z.string(),
  partnerId: z.string(),
  kind: z.enum(RESOURCE_KINDS),
  name: z.string(),
  skills: z.array(z.string()),
  userId: z.string().nullable(),
  active: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const shopResourceInput = z.strictObject({
  kind: z.enum(RESOURCE_KINDS),
  name: z.string().trim().min(1).max(100),
  skills: z.array(skill).max(32).optional().describe('Technicians: service skills; equipment: capabilities'),
  userId: uuid.nullable().optional().describe("A technician's account (a user of the shop's organisation)"),
  active: z.boolean().optional(),
});

const rulesView = z.object({
  slotStepMinutes: z.number().int(),
  minLeadMinutes: z.number().int(),
  holdMinutes: z.number().int(),
  freeCancellationHours: z.number().int(),
  cancellationFeeMinor: z.number().int(),
  rescheduleNoticeHours: z.number().int(),
  noShowGraceMinutes: z.number().int(),
  noShowFeeMinor: z.number().int(),
});

const rulesInput = z.strictObject({
  slotStepMinutes: z
    .union([5, 10, 15, 20, 30, 60].map((n) => z.literal(n)) as [z.ZodLiteral<number>, ...z.ZodLiteral<number>[]])
    .optional(),
  minLeadMinutes: z.number().int().min(0).max(10080).optional(),
  holdMinutes: z.number().int().min(1).max(30).optional(),
  freeCancellationHours: z.number().int().min(0).max(720).optional(),
  cancellationFeeMinor: z.number().int().min(0).max(100_000_000).optional(),
  rescheduleNoticeHours: z.number().int().min(0).max(720).optional(),
  noShowGraceMinutes: z.number().int().min(5).max(1440).optional(),
  noShowFeeMinor: z.number().int().min(0).max(100_000_000).optional(),
});

const slotSpec = {
  partnerId: uuid,
  serviceId: uuid,
  vehicleId: uuid,
  startsAt: isoTime.describe('A slot start from GET /partners/{id}/availability'),
};

const statusList = commaList(BOOKING_STATUSES, `Comma-separated: ${BOOKING_STATUSES.join(', ')}`);

export function bookingRoutes(router: ApiRouter, bookings: BookingsService, resources: ShopResourcesService): void {
  const partnerParams = z.object({ id: uuid });

  router.route({
    method: 'get',
    path: '/partners/:id/resources',
    tag: 'bookings',
    summary: "A shop's resources: bays, lifts, technicians (skills, account) and equipment",
    access: { permission: 'partners:write', perResource: 'service' },
    params: partnerParams,
    response: { status: 200, description: 'Resources', schema: z.object({ resources: z.array(shopResourceView) }) },
    errors: ['PARTNER_NOT_FOUND'],
    handle: async (r) => ({ resources: await resources.list(callerOf(r), r.params.id) }),
  });

  router.route({
    method: 'post',
    path: '/partners/:id/resources',
    tag: 'bookings',
    summary: 'Add a bay, lift, technician or piece of equipment to a shop',
    access: { permission: 'partners:write', perResource: 'service' },
    params: partnerParams,
    body: shopResourceInput,
    response: { status: 201, description: 'The resource', schema: shopResourceView },
    errors: ['PARTNER_NOT_FOUND', 'USER_NOT_FOUND'],
    handle: (r) => resources.create(callerOf(r), r.params.id, r.body),
  });

  router.route({
    method: 'put',
    path: '/partners/:id/resources/:resourceId',
    tag: 'bookings',
    summary: 'Change a resource (its kind stays)',
    access: { permission: 'partners:write', perResource: 'service' },
    params: z.object({ id: uuid, resourceId: uuid }),
    body: shopResourceInput,
    response: { status: 200, description: 'The resource', schema: shopResourceView },
    errors: ['PARTNER_NOT_FOUND', 'SHOP_RESOURCE_NOT_FOUND', 'USER_NOT_FOUND'],
    handle: (r) => resources.update(callerOf(r), r.params.id, r.params.resourceId, r.body),
  });

  router.route({
    method: 'delete',
    path: '/partners/:id/resources/:resourceId',
    tag: 'bookings',
    summary: 'Retire a resource (no new bookings); refused while it has upcoming reservations',
    access: { permission: 'partners:write', perResource: 'service' },
    params: z.object({ id: uuid, resourceId: uuid }),
    response: { status: 204, description: 'Retired' },
    errors: ['PARTNER_NOT_FOUND', 'SHOP_RESOURCE_NOT_FOUND', 'SHOP_RESOURCE_IN_USE'],
    handle: async (r) => {
      await resources.retire(callerOf(r), r.params.id, r.params.resourceId);
      return undefined;
    },
  });

  router.route({
    method: 'get',
    path: '/partners/:id/booking-rules',
    tag: 'bookings',
    summary: "A shop's booking rules: slot grid, lead time, hold length, cancellation and no-show fees",
    access: 'authenticated',
    params: partnerParams,
    response: { status: 200, description: 'The rules (defaults where the shop set none)', schema: rulesView },
    errors: ['PARTNER_NOT_FOUND'],
    handle: (r) => resources.rules(callerOf(r), r.params.id),
  });

  router.route({
    method: 'put',
    path: '/partners/:id/booking-rules',
    tag: 'bookings',
    summary: "Set a shop's booking rules (fields left out keep their value)",
    access: { permission: 'partners:write', perResource: 'service' },
    params: partnerParams,
    body: rulesInput,
    response: { status: 200, description: 'The rules', schema: rulesView },
    errors: ['PARTNER_NOT_FOUND'],
    handle: (r) => resources.setRules(callerOf(r), r.params.id, r.body),
  });

  router.route({
    method: 'get',
    path: '/partners/:id/availability',
    tag: 'bookings',
    summary:
      "Bookable slots of a shop's service: opening hours and special days in the shop's time zone, buffers, a technician with the skill, a free workplace and equipment",
    access: 'authenticated',
    params: partnerParams,
    query: z.object({
      serviceId: uuid,
      from: isoTime.optional().describe('Default: now'),
      days: z.coerce.number().int().min(1).max(28).default(7),
    }),
    response: {
      status: 200,
      description: 'Slots in time order; `capacity` is how many bookings the slot still takes',
      schema: z.object({
        partnerId: z.string(),
        serviceId: z.string(),
        timeZone: z.string(),
        stepMinutes: z.number().int(),
        slots: z.array(
          z.object({
            startsAt: z.string(),
            endsAt: z.string(),
            localStart: z.string().describe("Wall-clock start in the shop's time zone"),
            capacity: z.number().int(),
          }),
        ),
      }),
    },
    errors: ['PARTNER_NOT_FOUND', 'PARTNER_SERVICE_NOT_FOUND'],
    handle: (r) => bookings.availability(callerOf(r), r.params.id, r.query),
  });

  router.route({
    method: 'post',
    path: '/bookings/holds',
    tag: 'bookings',
    summary: 'Hold a slot for a few minutes while the customer checks out (expires by itself)',
    access: { permission: 'bookings:write', perResource: 'service' },
    body: z.strictObject(slotSpec),
    response: {
      status: 201,
      description: 'The hold (a booking in status held, with holdExpiresAt)',
      schema: bookingView,
    },
    errors: ['PARTNER_NOT_FOUND', 'PARTNER_SERVICE_NOT_FOUND', 'VEHICLE_NOT_FOUND', 'SLOT_UNAVAILABLE'],
    handle: (r) => bookings.hold(callerOf(r), r.body),
  });

  router.route({
    method: 'post',
    path: '/bookings',
    tag: 'bookings',
    summary:
      'Request a booking: onto a free slot, or by turning your hold into it (`holdId`). Creates its repair order in `requested`',
    access: { permission: 'bookings:write', perResource: 'service' },
    body: z
      .strictObject({
        partnerId: uuid.optional(),
        serviceId: uuid.optional(),
        vehicleId: uuid.optional(),
        startsAt: isoTime.optional(),
        holdId: uuid.optional().describe('A hold of yours; the other fields may then be left out'),
        source: sourceSchema.optional(),
        notes: z.string().max(2000).optional(),
      })
      .refine((b) => b.holdId !== undefined || (b.partnerId && b.serviceId && b.vehicleId && b.startsAt), {
        message: 'needs holdId, or partnerId, serviceId, vehicleId and startsAt',
      }),
    response: { status: 201, description: 'The booking request', schema: bookingView },
    errors: [
      'PARTNER_NOT_FOUND',
      'PARTNER_SERVICE_NOT_FOUND',
      'VEHICLE_NOT_FOUND',
      'SLOT_UNAVAILABLE',
      'HOLD_EXPIRED',
      'BOOKING_NOT_FOUND',
      'BOOKING_STATE_CONFLICT',
    ],
    handle: (r) => bookings.request(callerOf(r), r.body),
  });

  router.route({
    method: 'get',
    path: '/bookings',
    tag: 'bookings',
    summary: "Your bookings: a shop's calendar, an owner's own, a fleet's (filter by shop, status, time)",
    access: { permission: 'bookings:read', perResource: 'service' },
    query: z.object({
      partnerId: uuid.optional(),
      status: statusList,
      from: isoTime.optional().describe('Bookings ending after'),
      to: isoTime.optional().describe('Bookings starting before'),
      order: z.enum(['asc', 'desc']).default('desc').describe('By start time; asc for a calendar'),
      ...pageParams(BOOKINGS_LISTING),
    }),
    response: {
      status: 200,
      description: 'Bookings; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ bookings: z.array(bookingView), next: z.string().nullable() }),
    },
    handle: async (r) => {
      const { limit, cursor, ...filter } = r.query;
      const page = await bookings.list(callerOf(r), filter, { limit, cursor });
      return { bookings: page.items, next: page.next };
    },
  });

  router.route({
    method: 'get',
    path: '/bookings/:id',
    tag: 'bookings',
    summary: 'One booking, with what it reserved and its repair order',
    access: { permission: 'bookings:read', perResource: 'service' },
    params: z.object({ id: uuid }),
    response: { status: 200, description: 'The booking', schema: bookingView },
    errors: ['BOOKING_NOT_FOUND'],
    handle: (r) => bookings.get(callerOf(r), r.params.id),
  });

  router.route({
    method: 'post',
    path: '/bookings/:id/confirm',
    tag: 'bookings',
    summary: 'The shop accepts a booking request (its repair order moves to confirmed)',
    access: { permission: 'bookings:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    response: { status: 200, description: 'The booking', schema: bookingView },
    errors: ['BOOKING_NOT_FOUND', 'BOOKING_STATE_CONFLICT', 'INVALID_TRANSITION'],
    handle: (r) => bookings.confirm(callerOf(r), r.params.id),
  });

  router.route({
    method: 'post',
    path: '/bookings/:id/reschedule',
    tag: 'bookings',
    summary:
      "Move a booking to another slot (customer: up to the shop's notice period before it starts; the shop: any time)",
    access: { permission: 'bookings:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    body: z.strictObject({ startsAt: isoTime }),
    response: { status: 200, description: 'The booking at its new time', schema: bookingView },
    errors: ['BOOKING_NOT_FOUND', 'BOOKING_STATE_CONFLICT', 'RESCHEDULE_TOO_LATE', 'SLOT_UNAVAILABLE'],
    handle: (r) => bookings.reschedule(callerOf(r), r.params.id, r.body.startsAt),
  });

  router.route({
    method: 'post',
    path: '/bookings/:id/cancel',
    tag: 'bookings',
    summary:
      "Cancel a booking (the customer, late: the shop's cancellation fee, recorded on the booking; the shop: no fee)",
    access: { permission: 'bookings:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    body: z.strictObject({ reason: z.string().max(500).optional() }).optional(),
    response: { status: 200, description: 'The cancelled booking', schema: bookingView },
    errors: ['BOOKING_NOT_FOUND', 'BOOKING_STATE_CONFLICT', 'INVALID_TRANSITION'],
    handle: (r) => bookings.cancel(callerOf(r), r.params.id, r.body?.reason),
  });
}
