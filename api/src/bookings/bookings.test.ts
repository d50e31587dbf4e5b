import { generateSigningKeys } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import {
  auditLog,
  backends,
  call,
  expectProblem,
  outboxPayloads,
  startFixture,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';
import { transitionRepairOrder } from '../repair-orders/lifecycle.js';
import { hasAvailability } from './availability.js';
import { expireHolds, markNoShows } from './no-show.js';
import { createOwnedVehicle, createTestShop, type TestShop } from './test-shop.js';

/** `days` days from today (UTC) at hh:mm UTC. */
const dayAt = (days: number, hhmm: string): string => {
  const d = new Date();
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + days, h, m)).toISOString();
};

describe.each(backends('api_bookings'))('bookings on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let alice: TestUser;
  let bob: TestUser;
  let pam: TestUser;
  let tina: TestUser;
  let oscar: TestUser;
  let aliceCar: string;
  let bobCar: string;
  let shop: TestShop;

  const api = (method: string, path: string, as: TestUser | undefined, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, `/api${path}`, {
      token: as?.token,
      ...(body !== undefined ? { body } : method === 'GET' ? {} : { headers: { 'x-requested-with': 'test' } }),
    });
  const ok = (res: Reply, status = 200): Record<string, unknown> => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return res.body;
  };
  const book = (as: TestUser, vehicleId: string, startsAt: string, service = 'oil_change', s = shop) =>
    api('POST', '/bookings', as, { partnerId: s.partnerId, serviceId: s.services[service], vehicleId, startsAt });

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      identity: { signingKeys: keys },
      rateLimit: { enabled: false },
      ...(open ? { open } : {}),
    });
    alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
    bob = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bob' });
    aliceCar = await createOwnedVehicle(fx.db, alice.userId, 'Alice hatchback');
    bobCar = await createOwnedVehicle(fx.db, bob.userId, 'Bob estate');
    shop = await createTestShop(fx.db, {
      tenantId: 'bookings-shop',
      services: [
        { code: 'oil_change', durationMinutes: 60, requiredSkill: 'oil_change', bufferAfter: 15 },
        { code: 'brakes', durationMinutes: 90, requiredSkill: 'brakes', needsLift: true },
        { code: 'air_conditioning', durationMinutes: 30, requiredSkill: null, equipment: ['ac_station'] },
      ],
      resources: [
        { name: 'Bay 1', kind: 'bay' },
        { name: 'Lift 1', kind: 'lift' },
        { name: 'Tina', kind: 'technician', skills: ['oil_change', 'brakes'] },
        { name: 'Tom', kind: 'technician', skills: ['oil_change'] },
        { name: 'AC station', kind: 'equipment', skills: ['ac_station'] },
      ],
      rules: { minLeadMinutes: 0, freeCancellationHours: 24, cancellationFeeMinor: 2500, rescheduleNoticeHours: 12 },
    });
    pam = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['partner-admin'], name: 'Pam' });
    tina = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['technician'], name: 'Tina' });
    await createTestShop(fx.db, { tenantId: 'other-shop' });
    oscar = await signedInUser(fx.db, keys, { tenantId: 'other-shop', roles: ['partner-admin'], name: 'Oscar' });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('offers slots inside opening hours with a technician of the skill, a workplace and equipment', async () => {
    const from = dayAt(2, '00:00');
    const body = ok(
      await api(
        'GET',
        `/partners/${shop.partnerId}/availability?serviceId=${shop.services.brakes}&from=${from}&days=1`,
        alice,
      ),
    );
    const slots = body.slots as { startsAt: string; endsAt: string; capacity: number }[];
    // Brakes need a lift and Tina (the only brakes technician): one at a time, 90 minutes inside 00:00-23:45.
    expect(slots[0]).toMatchObject({ startsAt: dayAt(2, '00:00'), endsAt: dayAt(2, '01:30'), capacity: 1 });
    expect(slots.at(-1)!.endsAt <= dayAt(2, '23:45')).toBe(true);
    expect(body.timeZone).toBe('UTC');
    // Oil changes: two technicians, two workplaces (a bay, or the lift): capacity 2.
    const oil = ok(
      await api(
        'GET',
        `/partners/${shop.partnerId}/availability?serviceId=${shop.services.oil_change}&from=${from}&days=1`,
        bob,
      ),
    );
    expect((oil.slots as { capacity: number }[])[0]!.capacity).toBe(2);
    expectProblem(
      await api('GET', `/partners/${shop.partnerId}/availability?serviceId=${shop.services.oil_change}&days=99`, alice),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('answers nearby search whether a shop has a slot within N days', async () => {
    const closed = await createTestShop(fx.db, { tenantId: 'closed-shop', hours: {} });
    const ask = (partnerId: string, code: string | undefined) =>
      fx.db.withTenant('consumers', (q) => hasAvailability(q, partnerId, code, 3, Date.now()));
    expect(await ask(shop.partnerId, 'brakes')).toBe(true);
    expect(await ask(shop.partnerId, undefined)).toBe(true);
    expect(await ask(shop.partnerId, 'tyres')).toBe(false); // not offered
    expect(await ask(closed.partnerId, 'oil_change')).toBe(false); // never open
  });

  it('books a slot with its technician, workplace and equipment, and creates the repair order', async () => {
    const startsAt = dayAt(3, '10:00');
    const res = ok(await book(alice, aliceCar, startsAt, 'air_conditioning'), 201);
    expect(res).toMatchObject({
      status: 'requested',
      startsAt,
      endsAt: dayAt(3, '10:30'),
      repairOrderStatus: 'requested',
    });
    const kinds = (res.resources as { kind: string; name: string | null }[]).map((r) => r.kind).sort();
    expect(kinds).toEqual(['bay', 'equipment', 'technician']);
    // The customer does not see the shop's resource names; the shop does.
    expect((res.resources as { name: string | null }[]).every((r) => r.name === null)).toBe(true);
    const asShop = ok(await api('GET', `/bookings/${res.id as string}`, pam));
    expect((asShop.resources as { name: string | null }[]).map((r) => r.name).sort()).toEqual(
      expect.arrayContaining(['AC station']),
    );
    // The AC station is taken: a second AC booking at the same time finds no equipment.
    expectProblem(await book(bob, bobCar, startsAt, 'air_conditioning'), 409, 'SLOT_UNAVAILABLE');
    // Availability says so too.
    const avail = ok(
      await api(
        'GET',
        `/partners/${shop.partnerId}/availability?serviceId=${shop.services.air_conditioning}&from=${dayAt(3, '00:00')}&days=1`,
        bob,
      ),
    );
    expect((avail.slots as { startsAt: string }[]).map((s) => s.startsAt)).not.toContain(startsAt);
    const events = await outboxPayloads(fx.db, 'booking.updated');
    expect(events.find((e) => e.bookingId === res.id)).toMatchObject({
      status: 'requested',
      partnerId: shop.partnerId,
    });
    const orders = await outboxPayloads(fx.db, 'repair-order.status-changed');
    expect(orders.find((e) => e.bookingId === res.id)).toMatchObject({ from: null, to: 'requested' });
  });

  it('refuses starts off the grid or outside opening hours, and other owners’ vehicles', async () => {
    expectProblem(await book(alice, aliceCar, dayAt(3, '10:07')), 409, 'SLOT_UNAVAILABLE');
    expectProblem(await book(alice, aliceCar, dayAt(3, '23:30')), 409, 'SLOT_UNAVAILABLE');
    expectProblem(await book(alice, aliceCar, dayAt(-1, '10:00')), 409, 'SLOT_UNAVAILABLE');
    expectProblem(await book(alice, bobCar, dayAt(3, '12:00')), 404, 'VEHICLE_NOT_FOUND');
    // A technician has no bookings:write.
    expectProblem(await book(tina, aliceCar, dayAt(3, '12:00')), 403, 'FORBIDDEN');
  });

  it('stores exactly the capacity of one slot under hundreds of parallel attempts', async () => {
    const big = await createTestShop(fx.db, {
      tenantId: 'race-shop',
      services: [{ code: 'oil_change', durationMinutes: 60, requiredSkill: 'oil_change' }],
      resources: [
        ...[1, 2, 3].map((i) => ({ name: `Bay ${i}`, kind: 'bay' as const })),
        ...[1, 2, 3].map((i) => ({ name: `Tech ${i}`, kind: 'technician' as const, skills: ['oil_change'] })),
        // Unqualified technicians and equipment must not add capacity.
        { name: 'Apprentice', kind: 'technician', skills: ['tyres'] },
      ],
      rules: { minLeadMinutes: 0 },
    });
    const owners = [alice, bob];
    const cars = [aliceCar, bobCar];
    const startsAt = dayAt(5, '09:00');
    const attempts = 240;
    const replies = await Promise.all(
      Array.from({ length: attempts }, (_, i) => book(owners[i % 2]!, cars[i % 2]!, startsAt, 'oil_change', big)),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 409)).toHaveLength(attempts - 3);
    for (const r of replies.filter((x) => x.status === 409)) expect(r.body.code).toBe('SLOT_UNAVAILABLE');
    const stored = await fx.db.query<{ n: number; bays: number; techs: number }>(
      `SELECT count(DISTINCT b.id)::int AS n,
              count(DISTINCT r.resource_id) FILTER (WHERE r.resource_kind = 'bay')::int AS bays,
              count(DISTINCT r.resource_id) FILTER (WHERE r.resource_kind = 'technician')::int AS techs
         FROM bookings b JOIN booking_reservations r ON r.booking_id = b.id AND r.released_at IS NULL
        WHERE b.partner_id = $1 AND b.starts_at = $2`,
      [big.partnerId, startsAt],
    );
    expect(stored.rows[0]).toEqual({ n: 3, bays: 3, techs: 3 });
    // Nothing half-booked: every failed attempt left no booking behind.
    const all = await fx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM bookings WHERE partner_id = $1`, [
      big.partnerId,
    ]);
    expect(all.rows[0]!.n).toBe(3);
  }, 180_000); // hundreds of real transactions: minutes on a loaded machine (no timing is asserted)

  it('refuses overlapping reservations of one resource in the database itself', async () => {
    const b = ok(await book(alice, aliceCar, dayAt(6, '08:00')), 201);
    const reservation = await fx.db.query<{ resource_id: string }>(
      `SELECT resource_id FROM booking_reservations WHERE booking_id = $1 LIMIT 1`,
      [b.id],
    );
    await expect(
      fx.db.query(
        `INSERT INTO booking_reservations (tenant_id, booking_id, partner_id, resource_id, resource_kind, customer_tenant_id, during)
         SELECT tenant_id, booking_id, partner_id, resource_id, resource_kind, customer_tenant_id,
                tstzrange(lower(during) + interval '30 minutes', upper(during) + interval '30 minutes', '[)')
           FROM booking_reservations WHERE booking_id = $1 AND resource_id = $2`,
        [b.id, reservation.rows[0]!.resource_id],
      ),
    ).rejects.toThrow(/booking_reservations_no_overlap|conflicting key/);
  });

  it('holds a slot, lets it expire, and books it for someone else then', async () => {
    const startsAt = dayAt(7, '14:00');
    const hold = ok(
      await api('POST', '/bookings/holds', alice, {
        partnerId: shop.partnerId,
        serviceId: shop.services.brakes,
        vehicleId: aliceCar,
        startsAt,
      }),
      201,
    );
    expect(hold.status).toBe('held');
    expect(Date.parse(hold.holdExpiresAt as string)).toBeGreaterThan(Date.now());
    expect(hold.repairOrderId).toBeNull();
    // While held, the only lift and brakes technician are taken.
    const bobTry = () =>
      api('POST', '/bookings', bob, {
        partnerId: shop.partnerId,
        serviceId: shop.services.brakes,
        vehicleId: bobCar,
        startsAt,
      });
    expectProblem(await bobTry(), 409, 'SLOT_UNAVAILABLE');
    // The hold's time runs out (moved into the past as the clock would).
    await fx.db.query(`UPDATE bookings SET hold_expires_at = now() - interval '1 second' WHERE id = $1`, [hold.id]);
    await fx.db.query(
      `UPDATE booking_reservations SET hold_expires_at = now() - interval '1 second' WHERE booking_id = $1`,
      [hold.id],
    );
    // Bob's attempt ends the expired hold on those resources in its own transaction and books.
    const bobs = ok(await bobTry(), 201);
    expect(bobs.status).toBe('requested');
    expect(ok(await api('GET', `/bookings/${hold.id as string}`, alice)).status).toBe('expired');
    expectProblem(await api('POST', '/bookings', alice, { holdId: hold.id }), 409, 'HOLD_EXPIRED');
  });

  it('turns a live hold into a request, and the sweeper ends expired holds', async () => {
    const hold = ok(
      await api('POST', '/bookings/holds', alice, {
        partnerId: shop.partnerId,
        serviceId: shop.services.oil_change,
        vehicleId: aliceCar,
        startsAt: dayAt(8, '09:00'),
      }),
      201,
    );
    expectProblem(await api('POST', '/bookings', bob, { holdId: hold.id }), 404, 'BOOKING_NOT_FOUND');
    const req = ok(
      await api('POST', '/bookings', alice, {
        holdId: hold.id,
        source: { kind: 'dtc', codes: ['P0301'] },
        notes: 'misfire',
      }),
      201,
    );
    expect(req).toMatchObject({
      id: hold.id,
      status: 'requested',
      source: { kind: 'dtc', codes: ['P0301'] },
      notes: 'misfire',
    });
    expect(req.repairOrderId).toEqual(expect.any(String));

    const stale = ok(
      await api('POST', '/bookings/holds', bob, {
        partnerId: shop.partnerId,
        serviceId: shop.services.oil_change,
        vehicleId: bobCar,
        startsAt: dayAt(8, '12:00'),
      }),
      201,
    );
    await fx.db.query(`UPDATE bookings SET hold_expires_at = now() - interval '1 second' WHERE id = $1`, [stale.id]);
    await fx.db.query(
      `UPDATE booking_reservations SET hold_expires_at = now() - interval '1 second' WHERE booking_id = $1`,
      [stale.id],
    );
    expect(await expireHolds(fx.db)).toBeGreaterThanOrEqual(1);
    expect(await expireHolds(fx.db)).toBe(0);
    const after = ok(await api('GET', `/bookings/${stale.id as string}`, bob));
    expect(after).toMatchObject({ status: 'expired', resources: [] });
  });

  it('lets the shop confirm, and answers other shops and owners with 404', async () => {
    const b = ok(await book(bob, bobCar, dayAt(9, '10:00')), 201);
    expectProblem(await api('POST', `/bookings/${b.id as string}/confirm`, bob), 403, 'FORBIDDEN');
    expectProblem(await api('GET', `/bookings/${b.id as string}`, alice), 404, 'BOOKING_NOT_FOUND');
    expectProblem(await api('GET', `/bookings/${b.id as string}`, oscar), 404, 'BOOKING_NOT_FOUND');
    expectProblem(await api('POST', `/bookings/${b.id as string}/confirm`, oscar), 404, 'BOOKING_NOT_FOUND');
    // A technician reads the shop's bookings but does not confirm them.
    expect(ok(await api('GET', `/bookings/${b.id as string}`, tina)).id).toBe(b.id);
    expectProblem(await api('POST', `/bookings/${b.id as string}/confirm`, tina), 403, 'FORBIDDEN');
    const confirmed = ok(await api('POST', `/bookings/${b.id as string}/confirm`, pam));
    expect(confirmed).toMatchObject({ status: 'confirmed', repairOrderStatus: 'confirmed' });
    // Confirming again changes nothing.
    expect(ok(await api('POST', `/bookings/${b.id as string}/confirm`, pam)).status).toBe('confirmed');
    const mine = ok(await api('GET', '/bookings?order=asc', bob));
    expect(
      (mine.bookings as { id: string; customerUserId: string }[]).every((x) => x.customerUserId === bob.userId),
    ).toBe(true);
    const calendar = ok(await api('GET', `/bookings?partnerId=${shop.partnerId}&status=confirmed`, pam));
    expect((calendar.bookings as { id: string }[]).map((x) => x.id)).toContain(b.id);
    expect(ok(await api('GET', '/bookings', oscar)).bookings).toEqual([]);
  });

  it('charges the cancellation fee only inside the window, and never the shop', async () => {
    // Brakes: one lift and one brakes technician, so a freed slot shows at once.
    const early = ok(await book(alice, aliceCar, dayAt(10, '10:00'), 'brakes'), 201);
    const free = ok(await api('POST', `/bookings/${early.id as string}/cancel`, alice, { reason: 'sold the car' }));
    expect(free).toMatchObject({
      status: 'cancelled',
      cancelledBy: 'customer',
      cancelReason: 'sold the car',
      cancellationFeeMinor: 0,
      repairOrderStatus: 'cancelled',
      resources: [],
    });
    ok(await book(bob, bobCar, dayAt(10, '10:00'), 'brakes'), 201);

    // The shop widens its free-cancellation window to 30 days: the same cancellation now costs the fee.
    ok(await api('PUT', `/partners/${shop.partnerId}/booking-rules`, pam, { freeCancellationHours: 720 }));
    const late = ok(await book(alice, aliceCar, dayAt(10, '13:00'), 'brakes'), 201);
    const charged = ok(await api('POST', `/bookings/${late.id as string}/cancel`, alice, {}));
    expect(charged).toMatchObject({ status: 'cancelled', cancellationFeeMinor: 2500, currency: 'EUR' });
    const byShop = ok(await book(alice, aliceCar, dayAt(10, '15:00'), 'brakes'), 201);
    expect(ok(await api('POST', `/bookings/${byShop.id as string}/cancel`, pam, { reason: 'flooded' }))).toMatchObject({
      cancelledBy: 'shop',
      cancellationFeeMinor: 0,
    });
    expectProblem(
      await api('POST', `/bookings/${late.id as string}/reschedule`, alice, { startsAt: dayAt(11, '10:00') }),
      409,
      'BOOKING_STATE_CONFLICT',
    );
    ok(await api('PUT', `/partners/${shop.partnerId}/booking-rules`, pam, { freeCancellationHours: 24 }));
  });

  it('reschedules within the notice period (customer) or any time (shop), all or nothing', async () => {
    const b = ok(await book(alice, aliceCar, dayAt(12, '10:00'), 'brakes'), 201);
    const moved = ok(
      await api('POST', `/bookings/${b.id as string}/reschedule`, alice, { startsAt: dayAt(12, '12:00') }),
    );
    expect(moved).toMatchObject({ startsAt: dayAt(12, '12:00'), endsAt: dayAt(12, '13:30'), rescheduleCount: 1 });
    // The old time is free again, the new one taken.
    ok(await book(bob, bobCar, dayAt(12, '10:00'), 'brakes'), 201);
    expectProblem(await book(bob, bobCar, dayAt(12, '12:00'), 'brakes'), 409, 'SLOT_UNAVAILABLE');
    // Moving another booking onto a taken time fails and leaves it where it was, with its reservations.
    const c = ok(await book(alice, aliceCar, dayAt(12, '15:00'), 'brakes'), 201);
    expectProblem(
      await api('POST', `/bookings/${c.id as string}/reschedule`, alice, { startsAt: dayAt(12, '12:30') }),
      409,
      'SLOT_UNAVAILABLE',
    );
    const still = ok(await api('GET', `/bookings/${c.id as string}`, alice));
    expect(still).toMatchObject({ startsAt: dayAt(12, '15:00'), rescheduleCount: 0 });
    expect((still.resources as unknown[]).length).toBe(2);

    ok(await api('PUT', `/partners/${shop.partnerId}/booking-rules`, pam, { rescheduleNoticeHours: 720 }));
    expectProblem(
      await api('POST', `/bookings/${c.id as string}/reschedule`, alice, { startsAt: dayAt(12, '17:00') }),
      409,
      'RESCHEDULE_TOO_LATE',
    );
    const byShop = ok(
      await api('POST', `/bookings/${c.id as string}/reschedule`, pam, { startsAt: dayAt(12, '17:00') }),
    );
    expect(byShop.startsAt).toBe(dayAt(12, '17:00'));
    ok(await api('PUT', `/partners/${shop.partnerId}/booking-rules`, pam, { rescheduleNoticeHours: 12 }));
  });

  it('marks a confirmed booking a no-show after the grace period, through the lifecycle', async () => {
    ok(
      await api('PUT', `/partners/${shop.partnerId}/booking-rules`, pam, {
        noShowFeeMinor: 1500,
        noShowGraceMinutes: 20,
      }),
    );
    const b = ok(await book(alice, aliceCar, dayAt(13, '10:00')), 201);
    const pending = ok(await book(bob, bobCar, dayAt(13, '12:00')), 201);
    ok(await api('POST', `/bookings/${b.id as string}/confirm`, pam));
    // Time passes: both start 10 minutes ago, within the grace period: nothing happens.
    const startAgo = (minutes: number, id: unknown) =>
      fx.db.query(
        `UPDATE bookings SET starts_at = now() - make_interval(mins => $2), ends_at = now() - make_interval(mins => $2) + interval '1 hour' WHERE id = $1`,
        [id, minutes],
      );
    await startAgo(10, b.id);
    await startAgo(10, pending.id);
    expect(await markNoShows(fx.db)).toBe(0);
    await startAgo(25, b.id);
    await startAgo(25, pending.id);
    expect(await markNoShows(fx.db)).toBe(1);
    expect(await markNoShows(fx.db)).toBe(0);
    const after = ok(await api('GET', `/bookings/${b.id as string}`, alice));
    expect(after).toMatchObject({
      status: 'no_show',
      noShowFeeMinor: 1500,
      repairOrderStatus: 'no_show',
      resources: [],
    });
    const order = ok(await api('GET', `/repair-orders/${after.repairOrderId as string}`, pam));
    expect((order.events as { to: string; actor: string }[]).at(-1)).toMatchObject({ to: 'no_show', actor: 'system' });
    // Not confirmed: not a no-show (the shop never accepted it).
    expect(ok(await api('GET', `/bookings/${pending.id as string}`, bob)).status).toBe('requested');
  });

  it('lets the customer tell a waiting shop to go on, and nobody else', async () => {
    const b = ok(await book(alice, aliceCar, dayAt(17, '10:00')), 201);
    const orderId = b.repairOrderId as string;
    ok(await api('POST', `/bookings/${b.id as string}/confirm`, pam));
    const move = (to: Parameters<typeof transitionRepairOrder>[1]['to'], side: 'shop' | 'customer') =>
      fx.db.transaction((q) => transitionRepairOrder(q, { repairOrderId: orderId, to, actor: 'test', side }));
    await move('checked_in', 'shop');
    await move('estimate_sent', 'shop');
    await move('approved', 'customer');
    await move('in_progress', 'shop');
    // Before the shop asks, there is nothing to answer.
    expectProblem(await api('POST', `/repair-orders/${orderId}/resume`, alice, {}), 409, 'INVALID_TRANSITION');
    await move('waiting_customer', 'shop');
    const waiting = ok(await api('GET', `/repair-orders/${orderId}`, alice));
    expect(waiting.transitions).toEqual([
      { to: 'in_progress', route: 'resume', path: 'POST /api/repair-orders/:id/resume' },
    ]);
    // Another owner and the shop's own staff cannot answer for the customer (a technician holds no
    // bookings:write at all; the shop's admin does, but not as this order's customer).
    expectProblem(await api('POST', `/repair-orders/${orderId}/resume`, bob, {}), 404, 'REPAIR_ORDER_NOT_FOUND');
    expectProblem(await api('POST', `/repair-orders/${orderId}/resume`, tina, {}), 403, 'FORBIDDEN');
    expectProblem(await api('POST', `/repair-orders/${orderId}/resume`, pam, {}), 404, 'REPAIR_ORDER_NOT_FOUND');
    const resumed = ok(await api('POST', `/repair-orders/${orderId}/resume`, alice, { note: 'Yes, replace both' }));
    expect(resumed).toMatchObject({ status: 'in_progress', side: 'customer' });
    const last = (resumed.events as { from: string | null; to: string; actor: string; note: string | null }[]).at(-1);
    expect(last).toMatchObject({ from: 'waiting_customer', to: 'in_progress', actor: `user:${alice.userId}` });
    expectProblem(await api('POST', `/repair-orders/${orderId}/resume`, alice, {}), 409, 'INVALID_TRANSITION');
  });

  it("lets support read any organisation's bookings and orders, audited, but not act on them", async () => {
    const b = ok(await book(alice, aliceCar, dayAt(18, '10:00')), 201);
    const sam = await signedInUser(fx.db, keys, { tenantId: 'platform', roles: ['support'], name: 'Sam' });
    expect(ok(await api('GET', `/bookings/${b.id as string}`, sam)).id).toBe(b.id);
    const order = ok(await api('GET', `/repair-orders/${b.repairOrderId as string}`, sam));
    expect(order).toMatchObject({ id: b.repairOrderId, status: 'requested' });
    expect(
      (await auditLog(fx.db)).find(
        (a) => a.action === 'marketplace.get' && a.target === `/api/bookings/${b.id as string}`,
      ),
    ).toMatchObject({
      actor: `user:${sam.userId}`,
    });
    // Support holds the reads only.
    expectProblem(await api('POST', `/bookings/${b.id as string}/confirm`, sam, {}), 403, 'FORBIDDEN');
  });

  it('manages resources: partner admins of the shop only', async () => {
    const created = ok(
      await api('POST', `/partners/${shop.partnerId}/resources`, pam, {
        kind: 'technician',
        name: 'Theo',
        skills: ['brakes'],
        userId: tina.userId,
      }),
      201,
    );
    expect(created).toMatchObject({ kind: 'technician', skills: ['brakes'], userId: tina.userId, active: true });
    expectProblem(
      await api('POST', `/partners/${shop.partnerId}/resources`, pam, { kind: 'bay', name: 'B', userId: tina.userId }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api('POST', `/partners/${shop.partnerId}/resources`, pam, {
        kind: 'technician',
        name: 'X',
        userId: alice.userId,
      }),
      404,
      'USER_NOT_FOUND',
    );
    expectProblem(await api('GET', `/partners/${shop.partnerId}/resources`, oscar), 404, 'PARTNER_NOT_FOUND');
    expectProblem(await api('GET', `/partners/${shop.partnerId}/resources`, alice), 403, 'FORBIDDEN');
    expectProblem(await api('GET', `/partners/${shop.partnerId}/resources`, tina), 403, 'FORBIDDEN');
    const list = ok(await api('GET', `/partners/${shop.partnerId}/resources`, pam));
    expect((list.resources as { name: string }[]).map((r) => r.name)).toContain('Theo');
    // A resource without upcoming reservations is retired; one with them is not.
    expect((await api('DELETE', `/partners/${shop.partnerId}/resources/${created.id as string}`, pam)).status).toBe(
      204,
    );
    ok(await book(alice, aliceCar, dayAt(15, '10:00'), 'air_conditioning'), 201);
    expectProblem(
      await api('DELETE', `/partners/${shop.partnerId}/resources/${shop.resources['AC station']!}`, pam),
      409,
      'SHOP_RESOURCE_IN_USE',
    );
    const updated = ok(
      await api('PUT', `/partners/${shop.partnerId}/resources/${created.id as string}`, pam, {
        kind: 'technician',
        name: 'Theo',
        skills: ['brakes', 'tyres'],
        active: true,
      }),
    );
    expect(updated).toMatchObject({ skills: ['brakes', 'tyres'], active: true, userId: null });
  });

  it('shows the job board and the timeline, and makes the plain moves of the lifecycle', async () => {
    const b = ok(await book(alice, aliceCar, dayAt(16, '10:00')), 201);
    const orderId = b.repairOrderId as string;
    ok(await api('POST', `/bookings/${b.id as string}/confirm`, pam));
    // Check-in is M3's route: here the move is made as that route would, through the lifecycle.
    await fx.db.transaction((q) =>
      transitionRepairOrder(q, {
        repairOrderId: orderId,
        to: 'checked_in',
        actor: `user:${tina.userId}`,
        side: 'shop',
      }),
    );
    const board = ok(await api('GET', `/repair-orders?status=checked_in&partnerId=${shop.partnerId}`, tina));
    expect((board.repairOrders as { id: string }[]).map((o) => o.id)).toContain(orderId);
    const moved = ok(
      await api('POST', `/repair-orders/${orderId}/transitions`, tina, { to: 'diagnosis', note: 'on the lift' }),
    );
    expect(moved).toMatchObject({ status: 'diagnosis', side: 'shop' });
    expect((moved.events as { from: string | null; to: string }[]).map((e) => [e.from, e.to])).toEqual([
      [null, 'requested'],
      ['requested', 'confirmed'],
      ['confirmed', 'checked_in'],
      ['checked_in', 'diagnosis'],
    ]);
    expect(moved.transitions).toEqual(
      expect.arrayContaining([
        { to: 'estimate_sent', route: 'estimate-send', path: expect.any(String) },
        { to: 'delivered_without_repair', route: 'transitions', path: 'POST /api/repair-orders/:id/transitions' },
      ]),
    );
    const own = await api('POST', `/repair-orders/${orderId}/transitions`, tina, { to: 'estimate_sent' });
    expectProblem(own, 409, 'TRANSITION_HAS_OWN_ROUTE');
    expect(own.body).toMatchObject({ route: 'estimate-send' });
    const skip = await api('POST', `/repair-orders/${orderId}/transitions`, tina, { to: 'ready_for_pickup' });
    expectProblem(skip, 409, 'INVALID_TRANSITION');
    expect(skip.body).toMatchObject({ from: 'diagnosis', to: 'ready_for_pickup' });
    // The owner follows the order (and sees no moves of their own here); another owner and shop do not see it.
    const mine = ok(await api('GET', `/repair-orders/${orderId}`, alice));
    expect(mine).toMatchObject({ status: 'diagnosis', side: 'customer', transitions: [] });
    expectProblem(
      await api('POST', `/repair-orders/${orderId}/transitions`, alice, { to: 'delivered_without_repair' }),
      403,
      'FORBIDDEN',
    );
    expectProblem(await api('GET', `/repair-orders/${orderId}`, bob), 404, 'REPAIR_ORDER_NOT_FOUND');
    expectProblem(await api('GET', `/repair-orders/${orderId}`, oscar), 404, 'REPAIR_ORDER_NOT_FOUND');
    expect(
      (ok(await api('GET', '/repair-orders', bob)).repairOrders as { id: string }[]).map((o) => o.id),
    ).not.toContain(orderId);
    expect(
      ok(await api('POST', `/repair-orders/${orderId}/transitions`, pam, { to: 'delivered_without_repair' })).status,
    ).toBe('delivered_without_repair');
    const changes = (await outboxPayloads(fx.db, 'repair-order.status-changed')).filter(
      (e) => e.repairOrderId === orderId,
    );
    expect(changes.map((e) => e.to)).toEqual([
      'requested',
      'confirmed',
      'checked_in',
      'diagnosis',
      'delivered_without_repair',
    ]);
  });
});
