import { startStripeEmulator, type StripeEmulator } from '@clutch/emulators';
import { generateSigningKeys } from '@clutch/identity';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOwnedVehicle, createTestShop, type TestShop } from '../bookings/test-shop.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import { liveSockets } from '../realtime/test-sockets.js';
import { backends, call, startFixture, type Fixture, type Reply } from '../test-fixtures.js';
import { createStripeProvider } from './providers/stripe.js';

/**
 * `payment_notification` through the whole path: a payment changes over REST, the trigger on
 * payments appends `payment.updated` in that transaction, the relay puts it on the bus, and the
 * gateway emits it to the payer's and the shop's rooms joined at the handshake (payments:read).
 */
describe.each(backends('api_payments_live'))('payment notifications on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let em: StripeEmulator;
  let shop: TestShop;
  let alice: TestUser;
  let bob: TestUser;
  let pam: TestUser;
  let tina: TestUser;
  let aliceCar: string;
  const sockets = liveSockets(() => fx.api.url);
  const live = (token: string): Promise<Socket> => sockets.live(token);

  const api = (method: string, path: string, as: TestUser, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, `/api${path}`, {
      token: as.token,
      body: body ?? {},
      headers: { 'x-requested-with': 'test' },
    });

  /** The first matching payment_notification, already received or the next one. */
  const arrival = (socket: Socket, match: (p: Record<string, unknown>) => boolean, ms = 5000) =>
    sockets.arrival(socket, 'payment_notification', match, ms);

  beforeAll(async () => {
    em = await startStripeEmulator({ webhookMode: 'manual' });
    const stripe = createStripeProvider({ secretKey: em.secretKey, webhookSecret: em.webhookSecret, apiBase: em.url });
    fx = await startFixture({
      requireAuth: true,
      identity: { signingKeys: keys },
      rateLimit: { enabled: false },
      payments: { providers: new Map([['stripe', stripe]]) },
      ...(open ? { open } : {}),
    });
    alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
    bob = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bob' });
    aliceCar = await createOwnedVehicle(fx.db, alice.userId, 'Alice hatchback');
    shop = await createTestShop(fx.db, {
      tenantId: 'payments-live-shop',
      services: [{ code: 'oil_change', durationMinutes: 60, requiredSkill: null, priceMinor: 4200 }],
      resources: [
        { name: 'Bay 1', kind: 'bay' },
        { name: 'Tech 1', kind: 'technician' },
      ],
      rules: { minLeadMinutes: 0 },
    });
    pam = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['partner-admin'], name: 'Pam' });
    tina = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['technician'], name: 'Tina' });
  });
  afterAll(async () => {
    sockets.closeAll();
    await fx?.close();
    await em?.close();
  });

  it('tells the payer and the shop, and nobody without payments:read on it', async () => {
    const [aliceLive, pamLive, tinaLive, bobLive] = await Promise.all(
      [alice, pam, tina, bob].map((u) => live(u.token)),
    );
    const d = new Date();
    const booked = await api('POST', '/bookings', alice, {
      partnerId: shop.partnerId,
      serviceId: shop.services.oil_change,
      vehicleId: aliceCar,
      startsAt: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 2, 10)).toISOString(),
    });
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);
    const paid = await api('POST', '/payments/process', alice, {
      bookingId: booked.body.id,
      provider: 'stripe',
      paymentMethod: 'pm_card_visa',
    });
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    const id = paid.body.id as string;
    for (const socket of [aliceLive, pamLive])
      expect(await arrival(socket, (p) => p.paymentId === id && p.status === 'authorized')).toMatchObject({
        purpose: 'booking',
        bookingId: booked.body.id,
        partnerId: shop.partnerId,
        customerUserId: alice.userId,
        amountMinor: 4200,
        capturedMinor: 0,
        currency: 'EUR',
      });
    // The shop captures: both hear it.
    expect((await api('POST', `/payments/${id}/capture`, pam, {})).status).toBe(200);
    for (const socket of [aliceLive, pamLive])
      await arrival(socket, (p) => p.paymentId === id && p.status === 'captured');

    // Events are relayed in order: once Bob hears of his own payment, Alice's would have reached him already.
    const bobCar = await createOwnedVehicle(fx.db, bob.userId, 'Bob estate');
    const bobBooking = await api('POST', '/bookings', bob, {
      partnerId: shop.partnerId,
      serviceId: shop.services.oil_change,
      vehicleId: bobCar,
      startsAt: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 2, 12)).toISOString(),
    });
    const bobPaid = await api('POST', '/payments/process', bob, {
      bookingId: bobBooking.body.id,
      provider: 'stripe',
      paymentMethod: 'pm_card_visa',
    });
    await arrival(bobLive, (p) => p.paymentId === bobPaid.body.id);
    await arrival(pamLive, (p) => p.paymentId === bobPaid.body.id && p.status === 'authorized');
    expect(sockets.received(bobLive).filter((r) => r.payload.paymentId === id)).toEqual([]);
    expect(sockets.received(aliceLive).filter((r) => r.payload.paymentId === bobPaid.body.id)).toEqual([]);
    // A technician holds no payment permission: no payment events at all.
    expect(sockets.received(tinaLive).filter((r) => r.event === 'payment_notification')).toEqual([]);
  });
});
