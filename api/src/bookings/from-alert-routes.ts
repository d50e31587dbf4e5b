import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { DTC_FORMAT } from '../error-codes/knowledge.js';
import { isoTime, uuid } from '../shared/schemas.js';
import { BOOKING_SHARE_PERMISSIONS, SHARE_MARGIN_HOURS, type BookFromAlertService } from './from-alert.js';
import { bookingView } from './routes.js';

const troubleCode = z
  .string()
  .trim()
  .toUpperCase()
  .regex(DTC_FORMAT, { error: 'must be an SAE J2012 trouble code like P0301' });

export function bookFromAlertRoutes(router: ApiRouter, service: BookFromAlertService): void {
  router.route({
    method: 'post',
    path: '/bookings/from-alert',
    tag: 'bookings',
    summary:
      "Book from the car in one step: a booking request for current trouble codes or an alert of your vehicle, carrying the codes, a freeze frame and the alert's explanation, and a time-boxed share of the car with the shop",
    description: `The booking is M2's booking request (\`POST /api/bookings\`: a slot, or your hold) with \`source\` filled from the vehicle's data; in the same transaction the shop's organisation gets a share of the vehicle (${BOOKING_SHARE_PERMISSIONS.join(', ')}) until the booking's end plus ${SHARE_MARGIN_HOURS} hours. The share moves with a reschedule and ends when the booking is cancelled, expires or is a no-show.`,
    access: { permission: 'bookings:write', perResource: 'service' },
    body: z
      .strictObject({
        vehicleId: uuid,
        codes: z
          .array(troubleCode)
          .min(1)
          .max(20)
          .optional()
          .describe("Trouble codes from the vehicle's latest report (GET /api/obd2/diagnostics/:vehicleId, `current`)"),
        alertId: z
          .string()
          .regex(/^[1-9][0-9]{0,17}$/, { error: 'must be an alert id' })
          .optional()
          .describe('An alert of the vehicle (GET /api/vehicles/:id/alerts); with codes too, both are carried'),
        partnerId: uuid.optional(),
        serviceId: uuid.optional(),
        startsAt: isoTime.optional(),
        holdId: uuid.optional().describe('A hold of yours for this vehicle; the slot fields may then be left out'),
        notes: z.string().max(2000).optional(),
      })
      .refine((b) => b.codes !== undefined || b.alertId !== undefined, { message: 'needs codes or alertId' })
      .refine((b) => b.holdId !== undefined || (b.partnerId && b.serviceId && b.startsAt), {
        message: 'needs holdId, or partnerId, serviceId and startsAt',
      }),
    response: {
      status: 201,
      description: 'The booking request and the share the shop got',
      schema: z.object({
        booking: bookingView,
        share: z.object({
          id: z.string(),
          granteeTenantId: z.string(),
          permissions: z.array(z.string()),
          validFrom: z.string(),
          validUntil: z.string(),
        }),
      }),
    },
    errors: [
      'VEHICLE_NOT_FOUND',
      'ALERT_NOT_FOUND',
      'BOOKING_SOURCE_INVALID',
      'PERMISSION_ESCALATION',
      'PARTNER_NOT_FOUND',
      'PARTNER_SERVICE_NOT_FOUND',
      'SLOT_UNAVAILABLE',
      'HOLD_EXPIRED',
      'BOOKING_NOT_FOUND',
      'BOOKING_STATE_CONFLICT',
    ],
    handle: (r) => service.book({ scope: r.scope, principal: r.principal, policy: r.policy }, r.body),
  });
}
