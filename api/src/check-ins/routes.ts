import { z } from 'zod';
import type { ApiRouter, RouteRequest } from '../http/route.js';
import { uuid } from '../shared/schemas.js';
import { PHOTO_MAX_BYTES, PHOTOS_PER_REQUEST } from './images.js';
import type { CheckInsService, RepairWorkActor } from './service.js';
import { marketplaceScope } from '../bookings/access.js';

const photoInput = z.strictObject({
  data: z
    .string()
    .min(1)
    .max(Math.ceil((PHOTO_MAX_BYTES * 4) / 3) + 8)
    .describe(`Base64 of a JPEG, PNG or WebP image (checked by its bytes), at most ${PHOTO_MAX_BYTES} bytes`),
});

const checkInView = z.object({
  id: z.string(),
  repairOrderId: z.string(),
  partnerId: z.string(),
  vehicleId: z.string().nullable(),
  odometerKm: z.number().int(),
  notes: z.string(),
  snapshot: z
    .object({
      takenAt: z.string(),
      vehicleId: z.string().nullable(),
      health: z.record(z.string(), z.unknown()).nullable(),
      telematicsOdometerKm: z.number().nullable(),
      unavailable: z.string().optional(),
    })
    .loose()
    .describe("The car's health and trouble codes as telematics reported them at check-in"),
  photos: z.array(z.object({ id: z.string(), contentType: z.string(), size: z.number().int(), url: z.string() })),
  checkedInBy: z.string(),
  createdAt: z.string(),
});

export const actorOf = (r: RouteRequest<unknown, unknown, unknown>): RepairWorkActor => ({
  principal: r.principal,
  policy: r.policy,
  scope: marketplaceScope(r),
  administer: r.administer,
});

export function checkInRoutes(router: ApiRouter, checkIns: CheckInsService): void {
  router.route({
    method: 'post',
    path: '/repair-orders/:id/check-in',
    tag: 'repair-orders',
    summary:
      "Check a confirmed repair order's vehicle in: odometer, photos, and a snapshot of its trouble codes and health from telematics; the order moves to checked_in",
    access: { permission: 'repair-orders:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    body: z.strictObject({
      odometerKm: z
        .number()
        .int()
        .min(0)
        .max(2_000_000)
        .describe("Kilometres; never below the vehicle's last known odometer"),
      notes: z.string().max(2000).optional(),
      photos: z.array(photoInput).max(PHOTOS_PER_REQUEST).optional(),
    }),
    response: { status: 201, description: 'The check-in', schema: checkInView },
    errors: [
      'REPAIR_ORDER_NOT_FOUND',
      'INVALID_TRANSITION',
      'CHECK_IN_EXISTS',
      'ODOMETER_INVALID',
      'PHOTO_INVALID',
      'PAYLOAD_TOO_LARGE',
    ],
    handle: (r) => checkIns.checkIn(actorOf(r), r.params.id, r.body),
  });

  router.route({
    method: 'get',
    path: '/repair-orders/:id/check-in',
    tag: 'repair-orders',
    summary: "A repair order's check-in (the shop and the customer)",
    access: { permission: 'repair-orders:read', perResource: 'service' },
    params: z.object({ id: uuid }),
    response: { status: 200, description: 'The check-in', schema: checkInView },
    errors: ['REPAIR_ORDER_NOT_FOUND', 'CHECK_IN_NOT_FOUND'],
    handle: (r) => checkIns.get(actorOf(r), r.params.id),
  });

  router.route({
    method: 'post',
    path: '/repair-orders/:id/check-in/photos',
    tag: 'repair-orders',
    summary: 'Add photos to a check-in (at most 12 in all)',
    access: { permission: 'repair-orders:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    body: z.strictObject({ photos: z.array(photoInput).min(1).max(PHOTOS_PER_REQUEST) }),
    response: { status: 201, description: 'The check-in with its photos', schema: checkInView },
    errors: [
      'REPAIR_ORDER_NOT_FOUND',
      'CHECK_IN_NOT_FOUND',
      'PHOTO_INVALID',
      'PHOTO_LIMIT_REACHED',
      'PAYLOAD_TOO_LARGE',
    ],
    handle: (r) => checkIns.addPhotos(actorOf(r), r.params.id, r.body),
  });

  router.route({
    method: 'get',
    path: '/repair-orders/:id/check-in/photos/:photoId',
    tag: 'repair-orders',
    summary: 'One check-in photo, as stored (image/jpeg, image/png or image/webp)',
    access: { permission: 'repair-orders:read', perResource: 'service' },
    params: z.object({ id: uuid, photoId: uuid }),
    response: { status: 200, description: 'The image bytes' },
    errors: ['REPAIR_ORDER_NOT_FOUND', 'PHOTO_NOT_FOUND'],
    handle: async (r) => {
      const photo = await checkIns.photo(actorOf(r), r.params.id, r.params.photoId);
      r.ctx.type = photo.contentType;
      r.ctx.set('X-Content-Type-Options', 'nosniff');
      return photo.bytes;
    },
  });
}
