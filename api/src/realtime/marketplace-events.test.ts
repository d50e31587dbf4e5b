import { generateSigningKeys } from '@clutch/identity';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOwnedVehicle, createTestShop, type TestShop } from '../bookings/test-shop.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import { backends, call, startFixture, type Fixture, type Reply } from '../test-fixtures.js';
import { liveSockets, type Received } from './test-sockets.js';

const ADMIN = 'admin-token-for-marketplace-live-tests';

/** hh:00 UTC two days from now: inside the test shops' opening hours whatever the time of the run. */
const inTwoDays = (hour: number): string => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 2, hour)).toISOString();
};

/**
 * `booking_update` and `service_status_change` through the whole path: the booking or repair order
 * changes over REST, its outbox event commits, the relay puts it on the bus, and the gateway emits it
 * to the rooms the sockets joined at the handshake (the policy function's decision).
 */
describe.each(backends('api_marketplace_live'))('marketplace live events on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let shop: TestShop;
  let otherShop: TestShop;
  let alice: TestUser;
  let bob: TestUser;
  let pam: TestUser;
  let tina: TestUser;
  let oscar: TestUser;
  let aliceCar: string;
  let bobCar: string;
  const sockets = liveSockets(() => fx.api.url);
  const live = (token: string): Promise<Socket> => sockets.live(token);
  const arrival = sockets.arrival;

  const api = (method: string, path: string, as: TestUser, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, `/api${path}`, {
      token: as.token,
      body: body ?? {},
      headers: { 'x-requested-with': 'test' },
    });

  const eventsAbout = (socket: Socket, ids: readonly string[]): Received[] =>
    sockets
      .received(socket)
      .filter((r) => ids.includes(r.payload.bookingId as string) || ids.includes(r.payload.repairOrderId as string));

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      adminToken: ADMIN,
      identity: { signingKeys: keys },
      rateLimit: { enabled: false },
      ...(open ? { open } : {}),
    });
    alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
    bob = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bob' });
    aliceCar = await createOwnedVehicle(fx.db, alice.userId, 'Alice hatchback');
    bobCar = await createOwnedVehicle(fx.db, bob.userId, 'Bob estate');
    const options = {
      services: [{ code: 'ignition', durationMinutes: 60, requiredSkill: null }],
      resources: [
        { name: 'Bay 1', kind: 'bay' as const },
        { name: 'Tech 1', kind: 'technician' as const },
      ],
      rules: { minLeadMinutes: 0 },
    };
    shop = await createTestShop(fx.db, { tenantId: 'live-shop', ...options });
    otherShop = await createTestShop(fx.db, { tenantId: 'live-other-shop', ...options });
    pam = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['partner-admin'], name: 'Pam' });
    tina = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['technician'], name: 'Tina' });
    oscar = await signedInUser(fx.db, keys, { tenantId: otherShop.tenantId, roles: ['partner-admin'], name: 'Oscar' });
    await fx.db.query(
      `INSERT INTO dtc_events (time, tenant_id, vehicle_id, code, kind) VALUES (now(), 'consumers', $1, 'P0301', 'stored')`,
      [aliceCar],
    );
  });
  afterAll(async () => {
    sockets.closeAll();
    await fx?.close();
  });

  it("reaches the owner's and the shop's sockets on every booking and repair-order change, and nobody else's", async () => {
    const [aliceLive, pamLive, tinaLive, bobLive, oscarLive, adminLive] = await Promise.all(
      [alice.token, pam.token, tina.token, bob.token, oscar.token, ADMIN].map(live),
    );

    // The owner books from the car: booking requested, its repair order created in `requested`.
    const booked = await api('POST', '/bookings/from-alert', alice, {
      vehicleId: aliceCar,
      codes: ['P0301'],
      partnerId: shop.partnerId,
      serviceId: shop.services.ignition,
      startsAt: inTwoDays(10),
    });
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);
    const booking = booked.body.booking as { id: string; repairOrderId: string };
    const requested = (p: Record<string, unknown>) => p.bookingId === booking.id && p.status === 'requested';
    for (const socket of [aliceLive, pamLive, tinaLive, adminLive]) {
      expect(await arrival(socket, 'booking_update', requested)).toMatchObject({
        partnerId: shop.partnerId,
        customerTenantId: 'consumers',
        customerUserId: alice.userId,
        vehicleId: aliceCar,
      });
      expect(
        await arrival(socket, 'service_status_change', (p) => p.repairOrderId === booking.repairOrderId),
      ).toMatchObject({
        from: null,
        to: 'requested',
      });
    }

    // The shop confirms: both events again, to the same sockets.
    expect((await api('POST', `/bookings/${booking.id}/confirm`, pam)).status).toBe(200);
    for (const socket of [aliceLive, pamLive, tinaLive]) {
      await arrival(socket, 'booking_update', (p) => p.bookingId === booking.id && p.status === 'confirmed');
      expect(
        await arrival(
          socket,
          'service_status_change',
          (p) => p.repairOrderId === booking.repairOrderId && p.to === 'confirmed',
        ),
      ).toMatchObject({ from: 'requested', bookingId: booking.id });
    }
    // The payload never names the tenant the outbox row belonged to.
    expect(Object.keys(await arrival(aliceLive, 'booking_update', requested))).not.toContain('tenantId');

    // Bob books at the other shop. The outbox delivers in order, so once Bob and Oscar have their own
    // events, any of Alice's that had been sent to them would already be there.
    const other = await api('POST', '/bookings', bob, {
      partnerId: otherShop.partnerId,
      serviceId: otherShop.services.ignition,
      vehicleId: bobCar,
      startsAt: inTwoDays(10),
    });
    expect(other.status, JSON.stringify(other.body)).toBe(201);
    const bobBooking = other.body as { id: string; repairOrderId: string };
    for (const socket of [bobLive, oscarLive, adminLive])
      await arrival(socket, 'service_status_change', (p) => p.repairOrderId === bobBooking.repairOrderId);
    expect(eventsAbout(bobLive, [booking.id, booking.repairOrderId])).toEqual([]);
    expect(eventsAbout(oscarLive, [booking.id, booking.repairOrderId])).toEqual([]);
    // ... and Alice's shop never hears of Bob's booking, nor does Alice.
    await api('POST', `/bookings/${booking.id}/cancel`, alice, {});
    for (const socket of [aliceLive, pamLive, tinaLive])
      await arrival(socket, 'booking_update', (p) => p.bookingId === booking.id && p.status === 'cancelled');
    for (const socket of [aliceLive, pamLive, tinaLive])
      expect(eventsAbout(socket, [bobBooking.id, bobBooking.repairOrderId])).toEqual([]);
  });

  it('a socket with no marketplace permission for a shop joins none of its rooms (the policy decides per shop)', async () => {
    // A technician bound to the other shop's location only (a grant bound to a resource).
    const { rows } = await fx.db.query<{ id: string }>(
      `SELECT id::text AS id FROM roles WHERE tenant_id = 'platform' AND key = 'technician'`,
    );
    const bound = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, name: 'Bound' });
    await fx.db.query(
      `INSERT INTO role_grants (tenant_id, user_id, role_id, resource_type, resource_id, valid_from, granted_by)
       VALUES ($1, $2, $3, 'shop', $4, now() - interval '1 minute', 'test')`,
      [shop.tenantId, bound.userId, rows[0]!.id, '11111111-1111-4111-8111-111111111111'],
    );
    const boundLive = await live(bound.token);
    const pamLive = await live(pam.token);
    const res = await api('POST', '/bookings', alice, {
      partnerId: shop.partnerId,
      serviceId: shop.services.ignition,
      vehicleId: aliceCar,
      startsAt: inTwoDays(14),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const id = (res.body as { id: string }).id;
    await arrival(pamLive, 'booking_update', (p) => p.bookingId === id);
    // Bound to a location that is not this shop: it connects (vehicle scopes), but hears nothing of it.
    // The round trip after Pam's event: anything sent to it with that event would be in by now.
    await boundLive.timeout(2000).emitWithAck('unsubscribe', { vehicleId: aliceCar });
    expect(eventsAbout(boundLive, [id])).toEqual([]);
  });
});
