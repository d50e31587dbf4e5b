import { startStripeEmulator, type StripeEmulator } from '@clutch/emulators';
import { generateSigningKeys } from '@clutch/identity';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOwnedVehicle, createTestShop, type TestShop } from '../bookings/test-shop.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import { backends, call, startFixture, type Fixture, type Reply } from '../test-fixtures.js';
import { createStripeProvider } from './providers/stripe.js';

interface Received {
  event: string;
  payload: Record<string, unknown>;
}

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
  const sockets: Socket[] = [];
  const inbox = new Map<Socket, Received[]>();

  const api = (method: string, path: string, as: TestUser, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, `/api${path}`, {
      token: as.token,
      body: body ?? {},
      headers: { 'x-requested-with': 'test' },
    });

  async function live(token: string): Promise<Socket> {
    const socket = connect(fx.api.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token },
    });
    sockets.push(socket);
    const got: Received[] = [];
    inbox.set(socket, got);
    socket.onAny((event: string, payload: Record<string, unknown>) => got.push({ event, payload }));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return socket;
  }

  /** The first matching event, already received or the next one; fails when none comes within `ms`. */
  function arrival(socket: Socket, match: (p: Record<string, unknown>) => boolean, ms = 5000) {
    const got = inbox.get(socket)!;
    const found = () => got.find((r) => r.event === 'payment_notification' && match(r.payload));
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const hit = found();
      if (hit) return resolve(hit.payload);
      const timer = setTimeout(() => {
        socket.offAny(check);
        reject(new Error(`no payment_notification within ${ms} ms`));
      }, ms);
      const check = (): void => {
        const r = found();
        if (!r) return;
        clearTimeout(timer);
        socket.offAny(check);
        resolve(r.payload);
      };
      socket.onAny(check);
    });
  }

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
    for (const s of sockets) s.disconnect();
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
    expect(inbox.get(bobLive)!.filter((r) => r.payload.paymentId === id)).toEqual([]);
    expect(inbox.get(aliceLive)!.filter((r) => r.payload.paymentId === bobPaid.body.id)).toEqual([]);
    // A technician holds no payment permission: no payment events at all.
    expect(inbox.get(tinaLive)!.filter((r) => r.event === 'payment_notification')).toEqual([]);
  });
});
