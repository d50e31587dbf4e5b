import { z } from 'zod';
import { decodeCursor, pageParams } from '../http/pagination.js';
import type { ApiRouter, RouteRequest } from '../http/route.js';
import { isoTime, segmentId, uuid } from '../shared/schemas.js';
import { CLOCK_TIME } from './hours.js';
import { NEARBY_LISTINGS } from './nearby.js';
import { MAX_PHOTO_BYTES } from './photos.js';
import { PARTNERS_LISTING, PARTS_LISTING } from './repository.js';
import { SERVICE_CODES } from './service-catalogue.js';
import { NEARBY_PAGE, PART_PAGE, PARTNER_PAGE, type PartnersActor, type PartnersService } from './service.js';

const TAG = 'partners';
const actorOf = (r: RouteRequest<unknown, unknown, unknown>): PartnersActor => ({
  principal: r.principal,
  policy: r.policy,
  scope: r.scope,
  administer: r.administer,
});

const booleanQuery = z.enum(['true', 'false']).transform((v) => v === 'true');
const minor = z.number().int().min(0).max(2_000_000_000);
const clock = z.string().regex(CLOCK_TIME, { error: 'must be HH:MM (24:00 for the end of the day)' });
const serviceCode = z.enum(SERVICE_CODES);
const kind = z.enum(['repair_center', 'parts_shop']);
const text = (max: number) => z.string().trim().max(max);

const address = z
  .strictObject({
    line1: text(200).optional(),
    line2: text(200).optional(),
    postalCode: text(20).optional(),
    city: text(100).optional(),
    region: text(100).optional(),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, { error: 'must be an ISO 3166-1 alpha-2 code' })
      .optional(),
  })
  .describe('Postal address; country as ISO 3166-1 alpha-2');

const profileFields = {
  name: text(200).min(1),
  description: text(4000),
  kinds: z
    .array(kind)
    .min(1)
    .max(2)
    .transform((k) => [...new Set(k)]),
  timeZone: z.string().max(64).describe('IANA time zone, e.g. Europe/Berlin: opening hours are in it'),
  labourRateMinor: minor.nullable().describe('Labour per hour in minor units of the currency; null: quoted'),
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  address: address.nullable(),
  phone: z
    .string()
    .regex(/^\+?[0-9 ()-]{3,40}$/, { error: 'must be a phone number' })
    .nullable(),
  email: z.email().max(254).nullable(),
  website: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .nullable(),
};

const partnerView = z.object({
  id: z.string(),
  tenantId: z.string(),
  name: z.string(),
  description: z.string(),
  kinds: z.array(z.string()),
  timeZone: z.string(),
  currency: z.string(),
  labourRateMinor: z.number().nullable(),
  lat: z.number().nullable(),
  lon: z.number().nullable(),
  address: z.record(z.string(), z.unknown()).nullable(),
  phone: z.string().nullable(),
  email: z.string().nullable(),
  website: z.string().nullable(),
  status: z.string(),
  ratingAvg: z.number().nullable(),
  ratingCount: z.number(),
  openNow: z
    .boolean()
    .describe("Open at the request's moment (or `at`), in the shop's time zone, special days included"),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const interval = z.object({ weekday: z.number(), opens: z.string(), closes: z.string() });
const specialDayView = z.object({
  day: z.string(),
  opens: z.string().nullable(),
  closes: z.string().nullable(),
  note: z.string(),
});
const serviceView = z.object({
  id: z.string(),
  partnerId: z.string(),
  code: z.string(),
  name: z.string(),
  priceKind: z.enum(['fixed', 'hourly', 'quote']),
  priceMinor: z.number().nullable(),
  currency: z.string(),
  durationMinutes: z.number(),
  requiredSkill: z.string().nullable(),
  bufferBeforeMinutes: z.number(),
  bufferAfterMinutes: z.number(),
  active: z.boolean(),
});
const partView = z.object({
  id: z.string(),
  partnerId: z.string(),
  sku: z.string(),
  name: z.string(),
  brand: z.string(),
  priceMinor: z.number(),
  currency: z.string(),
  stock: z.number(),
  active: z.boolean(),
});
const photoView = z.object({
  id: z.string(),
  partnerId: z.string(),
  contentType: z.string(),
  size: z.number(),
  caption: z.string(),
  createdAt: z.string(),
  path: z.string().describe('Below the API prefix: GET it for the image'),
});
const partnerDetail = partnerView.extend({
  openingHours: z.array(interval),
  specialDays: z.array(specialDayView).describe("From today (the shop's date) on"),
  services: z.array(serviceView).describe('Active services'),
  photos: z.array(photoView),
});
const nearbyView = z.object({
  id: z.string(),
  tenantId: z.string(),
  name: z.string(),
  kinds: z.array(z.string()),
  lat: z.number(),
  lon: z.number(),
  distanceM: z.number().describe('Great-circle distance in metres (sphere of radius 6371008.8 m)'),
  address: z.record(z.string(), z.unknown()).nullable(),
  timeZone: z.string(),
  currency: z.string(),
  labourRateMinor: z.number().nullable(),
  ratingAvg: z.number().nullable(),
  ratingCount: z.number(),
  openNow: z.boolean(),
  serviceId: z.string().nullable().describe('With `service`: the cheapest active offer of it'),
  priceKind: z
    .string()
    .nullable()
    .describe('With `service`: its price kind; without: hourly (the labour rate) or null'),
  priceMinor: z.number().nullable(),
});

const shopParams = z.object({ id: uuid });
const PARTNER_ERRORS = ['PARTNER_NOT_FOUND'] as const;
const WRITE = { permission: 'partners:write' } as const;

export function partnerRoutes(router: ApiRouter, partners: PartnersService): void {
  router.route({
    method: 'get',
    path: '/partners',
    tag: TAG,
    summary: "Shops by name: every listed (active) shop, and your organisation's own in any status",
    access: 'authenticated',
    query: z.object({
      kind: kind.optional(),
      tenantId: segmentId.optional().describe("One organisation's shops"),
      ...pageParams(PARTNERS_LISTING, PARTNER_PAGE),
    }),
    response: {
      status: 200,
      description: 'Shops; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ partners: z.array(partnerView), next: z.string().nullable() }),
    },
    handle: (r) => partners.list(actorOf(r), { kind: r.query.kind, tenantId: r.query.tenantId }, r.query),
  });

  router.route({
    method: 'post',
    path: '/partners',
    tag: TAG,
    summary: 'Create a shop of your organisation (platform staff: of `tenantId`); `draft` until set `active`',
    access: WRITE,
    body: z
      .strictObject({
        tenantId: segmentId.optional().describe('Platform staff only: the partner organisation'),
        ...profileFields,
        description: profileFields.description.optional(),
        labourRateMinor: profileFields.labourRateMinor.optional(),
        lat: profileFields.lat.optional(),
        lon: profileFields.lon.optional(),
        address: profileFields.address.optional(),
        phone: profileFields.phone.optional(),
        email: profileFields.email.optional(),
        website: profileFields.website.optional(),
        currency: z
          .string()
          .regex(/^[A-Z]{3}$/, { error: 'must be an ISO 4217 code' })
          .describe('Fixed once created'),
        status: z.enum(['draft', 'active', 'suspended']).optional(),
      })
      .refine((b) => (b.lat === undefined) === (b.lon === undefined), {
        error: 'give lat and lon together',
        path: ['lon'],
      }),
    response: { status: 201, description: 'The shop', schema: partnerDetail },
    errors: ['TENANT_NOT_FOUND'],
    handle: (r) => partners.create(actorOf(r), r.body),
  });

  router.route({
    method: 'get',
    path: '/partners/:id',
    tag: TAG,
    summary: 'A shop with its opening hours, upcoming special days, active services and photos',
    access: 'authenticated',
    params: shopParams,
    query: z.object({ at: isoTime.optional().describe('The moment `openNow` is judged at (default now)') }),
    response: { status: 200, description: 'The shop', schema: partnerDetail },
    errors: PARTNER_ERRORS,
    handle: (r) => partners.get(actorOf(r), r.params.id, r.query.at),
  });

  router.route({
    method: 'patch',
    path: '/partners/:id',
    tag: TAG,
    summary: "Change a shop's profile (the fields given); `status` active lists it, draft unlists it",
    access: WRITE,
    params: shopParams,
    body: z
      .strictObject({
        name: profileFields.name.optional(),
        description: profileFields.description.optional(),
        kinds: profileFields.kinds.optional(),
        timeZone: profileFields.timeZone.optional(),
        labourRateMinor: profileFields.labourRateMinor.optional(),
        lat: profileFields.lat.optional(),
        lon: profileFields.lon.optional(),
        address: profileFields.address.optional(),
        phone: profileFields.phone.optional(),
        email: profileFields.email.optional(),
        website: profileFields.website.optional(),
        status: z.enum(['draft', 'active', 'suspended']).optional().describe('suspended: platform staff only'),
      })
      .refine((b) => (b.lat === undefined) === (b.lon === undefined), {
        error: 'give lat and lon together',
        path: ['lon'],
      }),
    response: { status: 200, description: 'The shop', schema: partnerDetail },
    errors: PARTNER_ERRORS,
    handle: (r) => partners.update(actorOf(r), r.params.id, r.body),
  });

  router.route({
    method: 'put',
    path: '/partners/:id/opening-hours',
    tag: TAG,
    summary: "Replace a shop's weekly opening hours (local time; several intervals a day, none overnight)",
    access: WRITE,
    params: shopParams,
    body: z.strictObject({
      hours: z
        .array(
          z.strictObject({
            weekday: z.number().int().min(1).max(7).describe('ISO: Monday = 1'),
            opens: clock,
            closes: clock,
          }),
        )
        .max(7 * 12),
    }),
    response: { status: 200, description: 'The hours as stored', schema: z.object({ hours: z.array(interval) }) },
    errors: PARTNER_ERRORS,
    handle: async (r) => ({ hours: await partners.replaceOpeningHours(actorOf(r), r.params.id, r.body.hours) }),
  });

  router.route({
    method: 'put',
    path: '/partners/:id/special-days',
    tag: TAG,
    summary: "Replace a shop's holidays and special days: no times = closed all day, else the day's hours",
    access: WRITE,
    params: shopParams,
    body: z.strictObject({
      days: z
        .array(
          z.strictObject({
            day: z.string().describe("YYYY-MM-DD, the shop's local date"),
            opens: clock.nullable().optional(),
            closes: clock.nullable().optional(),
            note: text(200).optional(),
          }),
        )
        .max(1000),
    }),
    response: { status: 200, description: 'The days as stored', schema: z.object({ days: z.array(specialDayView) }) },
    errors: PARTNER_ERRORS,
    handle: async (r) => ({ days: await partners.replaceSpecialDays(actorOf(r), r.params.id, r.body.days) }),
  });

  router.route({
    method: 'get',
    path: '/partners/:id/services',
    tag: TAG,
    summary: "A shop's services (`includeInactive` for the shop's own staff)",
    access: 'authenticated',
    params: shopParams,
    query: z.object({ includeInactive: booleanQuery.optional() }),
    response: { status: 200, description: 'Services', schema: z.object({ services: z.array(serviceView) }) },
    errors: PARTNER_ERRORS,
    handle: (r) => partners.services(actorOf(r), r.params.id, r.query.includeInactive ?? false),
  });

  const priceFields = {
    priceKind: z.enum(['fixed', 'hourly', 'quote']),
    priceMinor: minor.describe('fixed: the price; hourly: per hour (omitted: the labour rate); quote: none'),
    durationMinutes: z
      .number()
      .int()
      .min(5)
      .max(7 * 24 * 60),
    requiredSkill: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, { error: 'must be a skill name (a-z 0-9 _ -)' }),
    bufferBeforeMinutes: z.number().int().min(0).max(480),
    bufferAfterMinutes: z.number().int().min(0).max(480),
  };

  router.route({
    method: 'post',
    path: '/partners/:id/services',
    tag: TAG,
    summary: 'Offer a service of the catalogue at a shop, with its price and duration',
    access: WRITE,
    params: shopParams,
    body: z.strictObject({
      code: serviceCode,
      name: text(200).min(1),
      priceKind: priceFields.priceKind,
      priceMinor: priceFields.priceMinor.optional(),
      durationMinutes: priceFields.durationMinutes,
      requiredSkill: priceFields.requiredSkill.optional(),
      bufferBeforeMinutes: priceFields.bufferBeforeMinutes.optional(),
      bufferAfterMinutes: priceFields.bufferAfterMinutes.optional(),
    }),
    response: { status: 201, description: "The service (in the shop's currency)", schema: serviceView },
    errors: PARTNER_ERRORS,
    handle: (r) => partners.createService(actorOf(r), r.params.id, r.body),
  });

  router.route({
    method: 'patch',
    path: '/partners/:id/services/:serviceId',
    tag: TAG,
    summary: 'Change a service (price, duration, buffers, skill) or withdraw it (`active` false)',
    access: WRITE,
    params: z.object({ id: uuid, serviceId: uuid }),
    body: z.strictObject({
      name: text(200).min(1).optional(),
      priceKind: priceFields.priceKind.optional(),
      priceMinor: priceFields.priceMinor.nullable().optional(),
      durationMinutes: priceFields.durationMinutes.optional(),
      requiredSkill: priceFields.requiredSkill.nullable().optional(),
      bufferBeforeMinutes: priceFields.bufferBeforeMinutes.optional(),
      bufferAfterMinutes: priceFields.bufferAfterMinutes.optional(),
      active: z.boolean().optional(),
    }),
    response: { status: 200, description: 'The service', schema: serviceView },
    errors: ['PARTNER_NOT_FOUND', 'PARTNER_SERVICE_NOT_FOUND'],
    handle: (r) => partners.updateService(actorOf(r), r.params.id, r.params.serviceId, r.body),
  });

  router.route({
    method: 'get',
    path: '/partners/:id/parts',
    tag: TAG,
    summary: "A shop's parts catalogue by SKU, with stock",
    access: 'authenticated',
    params: shopParams,
    query: z.object({ includeInactive: booleanQuery.optional(), ...pageParams(PARTS_LISTING, PART_PAGE) }),
    response: {
      status: 200,
      description: 'Parts; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ parts: z.array(partView), next: z.string().nullable() }),
    },
    errors: PARTNER_ERRORS,
    handle: (r) => partners.parts(actorOf(r), r.params.id, r.query.includeInactive ?? false, r.query),
  });

  router.route({
    method: 'post',
    path: '/partners/:id/parts',
    tag: TAG,
    summary: "Add a part to a shop's catalogue (price in the shop's currency)",
    access: WRITE,
    params: shopParams,
    body: z.strictObject({
      sku: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/, { error: 'must be 1-64 characters of A-Z a-z 0-9 . _ / -' }),
      name: text(200).min(1),
      brand: text(100).optional(),
      priceMinor: minor,
      stock: z.number().int().min(0).max(1_000_000).optional(),
    }),
    response: { status: 201, description: 'The part', schema: partView },
    errors: ['PARTNER_NOT_FOUND', 'PART_SKU_TAKEN'],
    handle: (r) => partners.createPart(actorOf(r), r.params.id, r.body),
  });

  router.route({
    method: 'patch',
    path: '/partners/:id/parts/:partId',
    tag: TAG,
    summary: 'Change a part (name, brand, price) or withdraw it (`active` false); stock changes through /stock',
    access: WRITE,
    params: z.object({ id: uuid, partId: uuid }),
    body: z.strictObject({
      name: text(200).min(1).optional(),
      brand: text(100).optional(),
      priceMinor: minor.optional(),
      active: z.boolean().optional(),
    }),
    response: { status: 200, description: 'The part', schema: partView },
    errors: ['PARTNER_NOT_FOUND', 'PART_NOT_FOUND'],
    handle: (r) => partners.updatePart(actorOf(r), r.params.id, r.params.partId, r.body),
  });

  router.route({
    method: 'post',
    path: '/partners/:id/parts/:partId/stock',
    tag: TAG,
    summary: "Add to (positive `delta`) or take from (negative) a part's stock, atomically; never below zero",
    description: 'Send an Idempotency-Key: a retried request then changes the stock once.',
    access: WRITE,
    params: z.object({ id: uuid, partId: uuid }),
    body: z.strictObject({
      delta: z
        .number()
        .int()
        .min(-1_000_000)
        .max(1_000_000)
        .refine((d) => d !== 0, { error: 'must not be 0' }),
    }),
    response: { status: 200, description: 'The part with its new stock', schema: partView },
    errors: ['PART_NOT_FOUND', 'STOCK_INSUFFICIENT'],
    handle: (r) => partners.adjustStock(actorOf(r), r.params.id, r.params.partId, r.body.delta),
  });

  router.route({
    method: 'get',
    path: '/partners/:id/photos',
    tag: TAG,
    summary: "A shop's photos (metadata; each `path` serves the image)",
    access: 'authenticated',
    params: shopParams,
    response: { status: 200, description: 'Photos, oldest first', schema: z.object({ photos: z.array(photoView) }) },
    errors: PARTNER_ERRORS,
    handle: (r) => partners.photos(actorOf(r), r.params.id),
  });

  router.route({
    method: 'post',
    path: '/partners/:id/photos',
    tag: TAG,
    summary: `Add a photo: a JPEG, PNG or WebP image (checked by its bytes), base64, at most ${MAX_PHOTO_BYTES / 1024} KiB`,
    access: WRITE,
    params: shopParams,
    body: z.strictObject({
      data: z
        .string()
        .min(4)
        .regex(/^[A-Za-z0-9+/]+={0,2}$/, { error: 'must be base64' })
        .describe('The image, base64'),
      caption: text(200).optional(),
    }),
    response: { status: 201, description: 'The photo', schema: photoView },
    errors: ['PARTNER_NOT_FOUND', 'PHOTO_LIMIT_REACHED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'],
    handle: (r) => partners.addPhoto(actorOf(r), r.params.id, r.body),
  });

  router.route({
    method: 'get',
    path: '/partners/:id/photos/:photoId',
    tag: TAG,
    summary: 'The image, with its content type',
    access: 'authenticated',
    params: z.object({ id: uuid, photoId: uuid }),
    response: { status: 200, description: 'image/jpeg, image/png or image/webp' },
    errors: ['PHOTO_NOT_FOUND'],
    handle: async (r) => {
      const photo = await partners.photo(actorOf(r), r.params.id, r.params.photoId);
      r.ctx.type = photo.contentType;
      r.ctx.set('X-Content-Type-Options', 'nosniff');
      return photo.bytes;
    },
  });

  router.route({
    method: 'delete',
    path: '/partners/:id/photos/:photoId',
    tag: TAG,
    summary: 'Remove a photo',
    access: WRITE,
    params: z.object({ id: uuid, photoId: uuid }),
    response: { status: 204, description: 'Removed' },
    errors: ['PARTNER_NOT_FOUND', 'PHOTO_NOT_FOUND'],
    handle: async (r) => {
      await partners.deletePhoto(actorOf(r), r.params.id, r.params.photoId);
      return undefined;
    },
  });

  router.route({
    method: 'get',
    path: '/location/nearby-services',
    tag: TAG,
    summary:
      'Listed shops near a position: by service, open now, rating and availability; by distance, rating or price',
    description:
      'Distances are great-circle metres on a sphere of radius 6371008.8 m, the same on every database. ' +
      '`availableWithinDays` keeps shops with a bookable slot within that many days; with it a page may hold fewer ' +
      'than `limit` shops while `next` is not null: follow `next` until null.',
    access: 'authenticated',
    query: z.object({
      lat: z.coerce.number().min(-90).max(90),
      lon: z.coerce.number().min(-180).max(180),
      radius: z.coerce
        .number()
        .int()
        .min(100)
        .max(100_000)
        .default(10_000)
        .describe('Metres (100 to 100000, default 10000)'),
      service: serviceCode.optional().describe('A service of the catalogue the shop offers'),
      openNow: booleanQuery.optional(),
      at: isoTime.optional().describe('The moment open now (and availability) is judged at; default now'),
      minRating: z.coerce.number().min(0).max(5).optional(),
      availableWithinDays: z.coerce.number().int().min(1).max(60).optional(),
      sort: z.enum(['distance', 'rating', 'price']).default('distance'),
      // One cursor shape for all three orders: each cursor names its order, and a cursor of another order is refused.
      limit: pageParams(NEARBY_LISTINGS.distance, NEARBY_PAGE).limit,
      cursor: z.string().optional().describe('Opaque cursor: the `next` of the previous page'),
    }),
    response: {
      status: 200,
      description: 'Shops; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ shops: z.array(nearbyView), next: z.string().nullable() }),
    },
    handle: async (r) => {
      const { cursor, limit, radius, ...filters } = r.query;
      const result = await partners.nearby(
        actorOf(r),
        { ...filters, radiusM: radius },
        { limit, cursor: cursor === undefined ? undefined : decodeNearbyCursor(filters.sort, cursor) },
      );
      return { shops: result.shops, next: result.next };
    },
  });
}

function decodeNearbyCursor(sort: keyof typeof NEARBY_LISTINGS, cursor: string) {
  return decodeCursor(NEARBY_LISTINGS[sort], cursor);
}
