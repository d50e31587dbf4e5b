// The access matrix's marketplace: shops, bookings, repair orders and what hangs off them, one set per
// principal so every marketplace route has an "own" and a "foreign" resource (only imported by tests).
// Written as the platform (the fixture's owner connection) straight into the tables: the matrix tests
// who may reach a resource, not how it came to be; the lifecycle is walked through the status gate.
import type { Database, Queryable } from '@clutch/db';

/** The marketplace resources a principal calls its own. */
export interface MarketplaceBundle {
  partnerId: string;
  serviceId: string;
  resourceId: string;
  partId: string;
  photoId: string;
  bookingId: string;
  repairOrderId: string;
  estimateId: string;
  checkInPhotoId: string;
  partsOrderId: string;
  reviewId: string;
  /** The delivered booking `reviewId` reviews. */
  reviewedBookingId: string;
  /** Each bundle's own throwaways, for the routes that delete or cancel: a photo, a resource, a booking. */
  dropPhotoId: string;
  dropResourceId: string;
  dropBookingId: string;
  /** The parts shop both shops order from, and a part of its catalogue. */
  supplierPartnerId: string;
  supplierPartId: string;
}

interface Shop {
  partnerId: string;
  serviceId: string;
  resourceId: string;
  partId: string;
  photoId: string;
}

interface Order {
  bookingId: string;
  repairOrderId: string;
  estimateId: string;
  checkInPhotoId: string;
}

/** A 1x1 PNG: a photo the API serves back. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cfc0f01f0005000201e1b2f4a20000000049454e44ae426082',
  'hex',
);

const one = async (q: Queryable, sql: string, params: unknown[]): Promise<string> =>
  (await q.query<{ id: string }>(sql, params)).rows[0]!.id;

async function shop(q: Queryable, tenantId: string, name: string, lat: number): Promise<Shop> {
  const partnerId = await one(
    q,
    `INSERT INTO partners (tenant_id, name, kinds, time_zone, currency, labour_rate_minor, lat, lon, status)
     VALUES ($1, $2, ARRAY['repair_center', 'parts_shop'], 'Europe/Berlin', 'EUR', 9000, $3, 13.4, 'active')
     RETURNING id::text AS id`,
    [tenantId, name, lat],
  );
  for (let weekday = 1; weekday <= 7; weekday++)
    await q.query(
      `INSERT INTO partner_opening_hours (tenant_id, partner_id, weekday, opens, closes) VALUES ($1, $2, $3, '00:00', '23:59')`,
      [tenantId, partnerId, weekday],
    );
  const serviceId = await one(
    q,
    `INSERT INTO partner_services (tenant_id, partner_id, code, name, price_kind, price_minor, currency, duration_minutes)
     VALUES ($1, $2, 'diagnostics', 'Diagnostics', 'fixed', 5000, 'EUR', 60) RETURNING id::text AS id`,
    [tenantId, partnerId],
  );
  const resourceId = await one(
    q,
    `INSERT INTO shop_resources (tenant_id, partner_id, kind, name) VALUES ($1, $2, 'technician', 'Tech') RETURNING id::text AS id`,
    [tenantId, partnerId],
  );
  await q.query(`INSERT INTO shop_resources (tenant_id, partner_id, kind, name) VALUES ($1, $2, 'bay', 'Bay 1')`, [
    tenantId,
    partnerId,
  ]);
  const partId = await one(
    q,
    `INSERT INTO partner_parts (tenant_id, partner_id, sku, name, price_minor, currency, stock)
     VALUES ($1, $2, 'SPARK-1', 'Spark plug', 900, 'EUR', 100) RETURNING id::text AS id`,
    [tenantId, partnerId],
  );
  const photoId = await one(
    q,
    `INSERT INTO partner_photos (tenant_id, partner_id, content_type, bytes) VALUES ($1, $2, 'image/png', $3) RETURNING id::text AS id`,
    [tenantId, partnerId, PNG],
  );
  return { partnerId, serviceId, resourceId, partId, photoId };
}

/** The lifecycle from `requested` to `to`, one allowed move at a time (the status gate checks each). */
const WALK = [
  'confirmed',
  'checked_in',
  'diagnosis',
  'estimate_sent',
  'approved',
  'in_progress',
  'quality_check',
  'ready_for_pickup',
  'delivered',
] as const;

type Step = (typeof WALK)[number];

/** Moves an order from `from` (`requested` when undefined) on to `to`. */
async function walk(q: Queryable, repairOrderId: string, to: Step, from?: Step): Promise<void> {
  for (const status of WALK.slice(from === undefined ? 0 : WALK.indexOf(from) + 1, WALK.indexOf(to) + 1))
    await q.query(`UPDATE repair_orders SET status = $2, status_changed_at = now() WHERE id = $1`, [
      repairOrderId,
      status,
    ]);
}

/** A booking of `customer` at `at`, its repair order moved to `to`, with a check-in and a sent estimate. */
async function order(
  q: Queryable,
  at: Shop & { tenantId: string },
  customer: { tenantId: string; userId: string; vehicleId: string },
  dayOffset: number,
  to: (typeof WALK)[number],
): Promise<Order> {
  const bookingId = await one(
    q,
    `INSERT INTO bookings (tenant_id, partner_id, customer_tenant_id, customer_user_id, vehicle_id, service_id,
                           service_code, service_name, status, starts_at, ends_at, currency, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, 'diagnostics', 'Diagnostics', 'confirmed',
             now() + make_interval(days => $7), now() + make_interval(days => $7, hours => 1), 'EUR', 'matrix')
     RETURNING id::text AS id`,
    [at.tenantId, at.partnerId, customer.tenantId, customer.userId, customer.vehicleId, at.serviceId, dayOffset],
  );
  const repairOrderId = await one(
    q,
    `INSERT INTO repair_orders (tenant_id, partner_id, booking_id, customer_tenant_id, customer_user_id, vehicle_id, status)
     VALUES ($1, $2, $3, $4, $5, $6, 'requested') RETURNING id::text AS id`,
    [at.tenantId, at.partnerId, bookingId, customer.tenantId, customer.userId, customer.vehicleId],
  );
  if (to === 'confirmed') {
    await walk(q, repairOrderId, 'confirmed');
    return { bookingId, repairOrderId, estimateId: '', checkInPhotoId: '' };
  }
  await walk(q, repairOrderId, 'checked_in');
  const checkInId = await one(
    q,
    `INSERT INTO check_ins (tenant_id, partner_id, repair_order_id, customer_tenant_id, customer_user_id, vehicle_id,
                            odometer_km, snapshot, checked_in_by)
     VALUES ($1, $2, $3, $4, $5, $6, 42000, '{}', 'matrix') RETURNING id::text AS id`,
    [at.tenantId, at.partnerId, repairOrderId, customer.tenantId, customer.userId, customer.vehicleId],
  );
  const checkInPhotoId = await one(
    q,
    `INSERT INTO check_in_photos (tenant_id, check_in_id, customer_tenant_id, customer_user_id, position, content_type, bytes)
     VALUES ($1, $2, $3, $4, 0, 'image/png', $5) RETURNING id::text AS id`,
    [at.tenantId, checkInId, customer.tenantId, customer.userId, PNG],
  );
  const estimateId = await one(
    q,
    `INSERT INTO estimates (tenant_id, partner_id, repair_order_id, customer_tenant_id, customer_user_id, currency, created_by,
                           status, sent_at)
     VALUES ($1, $2, $3, $4, $5, 'EUR', 'matrix', 'sent', now()) RETURNING id::text AS id`,
    [at.tenantId, at.partnerId, repairOrderId, customer.tenantId, customer.userId],
  );
  if (to !== 'checked_in') await walk(q, repairOrderId, to, 'checked_in');
  return { bookingId, repairOrderId, estimateId, checkInPhotoId };
}

async function review(
  q: Queryable,
  at: Shop & { tenantId: string },
  customer: { tenantId: string; userId: string; vehicleId: string },
  dayOffset: number,
): Promise<{ reviewId: string; bookingId: string }> {
  const delivered = await order(q, at, customer, dayOffset, 'delivered');
  const reviewId = await one(
    q,
    `INSERT INTO reviews (tenant_id, partner_id, booking_id, repair_order_id, customer_tenant_id, customer_user_id, author_name, rating, text)
     VALUES ($1, $2, $3, $4, $5, $6, 'Matrix', 5, 'Fine') RETURNING id::text AS id`,
    [at.tenantId, at.partnerId, delivered.bookingId, delivered.repairOrderId, customer.tenantId, customer.userId],
  );
  return { reviewId, bookingId: delivered.bookingId };
}

/** A photo, a resource and a booking of `at` that one bundle's delete or cancel may use up. */
async function throwaways(
  q: Queryable,
  at: Shop & { tenantId: string },
  customer: { tenantId: string; userId: string; vehicleId: string },
  dayOffset: number,
): Promise<{ dropPhotoId: string; dropResourceId: string; dropBookingId: string }> {
  const dropPhotoId = await one(
    q,
    `INSERT INTO partner_photos (tenant_id, partner_id, content_type, bytes) VALUES ($1, $2, 'image/png', $3) RETURNING id::text AS id`,
    [at.tenantId, at.partnerId, PNG],
  );
  const dropResourceId = await one(
    q,
    `INSERT INTO shop_resources (tenant_id, partner_id, kind, name) VALUES ($1, $2, 'equipment', 'Spare') RETURNING id::text AS id`,
    [at.tenantId, at.partnerId],
  );
  const { bookingId } = await order(q, at, customer, dayOffset, 'confirmed');
  return { dropPhotoId, dropResourceId, dropBookingId: bookingId };
}

async function partsOrder(
  q: Queryable,
  from: Shop & { tenantId: string },
  supplier: Shop & { tenantId: string },
): Promise<string> {
  const id = await one(
    q,
    `INSERT INTO parts_orders (tenant_id, partner_id, supplier_tenant_id, supplier_partner_id, currency, total_minor, created_by)
     VALUES ($1, $2, $3, $4, 'EUR', 900, 'matrix') RETURNING id::text AS id`,
    [from.tenantId, from.partnerId, supplier.tenantId, supplier.partnerId],
  );
  await q.query(
    `INSERT INTO parts_order_lines (tenant_id, supplier_tenant_id, parts_order_id, part_id, sku, name, quantity, unit_price_minor)
     VALUES ($1, $2, $3, $4, 'SPARK-1', 'Spark plug', 1, 900)`,
    [from.tenantId, supplier.tenantId, id, supplier.partId],
  );
  return id;
}

export interface MarketplaceParties {
  /** Each principal's tenant, user and vehicle (the fixture's bundles). */
  ownerA: { tenantId: string; userId: string; vehicleId: string };
  ownerB: { tenantId: string; userId: string; vehicleId: string };
  fleet: { tenantId: string; userId: string; vehicleId: string };
  /** The partner tenants of shop X and shop Y, and a third organisation's parts shop. */
  shopX: string;
  shopY: string;
  supplier: string;
}

/**
 * Shop X and shop Y (repair centers and parts shops, listed), a parts supplier, and:
 * owner A's booking at shop X, owner B's at shop Y, the fleet's at shop X (each with its repair order
 * checked in, a check-in photo and a draft estimate), a delivered and reviewed repair for owners A
 * (shop X) and B (shop Y), and a parts order of each shop to the supplier.
 *
 * "Own" per principal: owners and the fleet their bookings; shop X's admin shop X and owner A's
 * booking there; shop Y's technician shop Y and owner B's booking; the platform admin the fleet's.
 */
export async function seedMarketplace(
  db: Database,
  p: MarketplaceParties,
): Promise<Record<'ownerA' | 'ownerB' | 'staffX' | 'techY' | 'fleet' | 'platform', MarketplaceBundle>> {
  return db.transaction(async (q) => {
    const x = { tenantId: p.shopX, ...(await shop(q, p.shopX, 'Shop X', 52.5)) };
    const y = { tenantId: p.shopY, ...(await shop(q, p.shopY, 'Shop Y', 52.6)) };
    const s = { tenantId: p.supplier, ...(await shop(q, p.supplier, 'Supplier', 52.7)) };
    const a = await order(q, x, p.ownerA, 1, 'estimate_sent');
    const b = await order(q, y, p.ownerB, 2, 'estimate_sent');
    const f = await order(q, x, p.fleet, 3, 'estimate_sent');
    const reviewA = await review(q, x, p.ownerA, 4);
    const reviewB = await review(q, y, p.ownerB, 5);
    const poX = await partsOrder(q, x, s);
    const poY = await partsOrder(q, y, s);
    const bundle = async (
      at: Shop & { tenantId: string },
      o: Order,
      partsOrderId: string,
      reviewed: { reviewId: string; bookingId: string },
      customer: { tenantId: string; userId: string; vehicleId: string },
      day: number,
    ): Promise<MarketplaceBundle> => ({
      partnerId: at.partnerId,
      serviceId: at.serviceId,
      resourceId: at.resourceId,
      partId: at.partId,
      photoId: at.photoId,
      ...o,
      partsOrderId,
      reviewId: reviewed.reviewId,
      reviewedBookingId: reviewed.bookingId,
      ...(await throwaways(q, at, customer, day)),
      supplierPartnerId: s.partnerId,
      supplierPartId: s.partId,
    });
    return {
      ownerA: await bundle(x, a, poX, reviewA, p.ownerA, 6),
      ownerB: await bundle(y, b, poY, reviewB, p.ownerB, 7),
      staffX: await bundle(x, a, poX, reviewA, p.ownerA, 8),
      techY: await bundle(y, b, poY, reviewB, p.ownerB, 9),
      fleet: await bundle(x, f, poX, reviewA, p.fleet, 10),
      platform: await bundle(x, f, poX, reviewA, p.fleet, 11),
    };
  });
}
