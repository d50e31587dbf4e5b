import { randomUUID } from 'node:crypto';
import { generateSigningKeys } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOwnedVehicle, createTestShop, type TestShop } from '../bookings/test-shop.js';
import { transferId } from '../ledger/ids.js';
import { ledger } from '../ledger/ledger.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import { backends, call, expectProblem, startFixture, type Fixture, type Reply } from '../test-fixtures.js';

const EMAIL_OF = (u: TestUser, name: string) => `${name.toLowerCase()}-${u.userId.slice(0, 8)}@example.com`;

describe.each(backends('api_wallet'))('wallet on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let shop: TestShop;
  let alice: TestUser;
  let aliceMfa: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let pam: TestUser;
  const saved = { ...process.env };

  const api = (method: string, path: string, as: TestUser | undefined, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, `/api${path}`, {
      token: as?.token,
      ...(body !== undefined ? { body } : {}),
      headers: { 'x-requested-with': 'test' },
    });
  const ok = (res: Reply, status = 200): Record<string, unknown> => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return res.body;
  };
  /** A top-up as P3's captured wallet_topup payment makes it: provider_clearing -> customer_wallet. */
  const topUp = async (walletId: string, amountMinor: number) => {
    const clearing = await ledger.ensureAccount(fx.db, {
      tenantId: 'platform',
      ownerUserId: null,
      partnerId: null,
      qualifier: 'stripe',
      code: 'provider_clearing',
      currency: 'EUR',
    });
    const [r] = await ledger.createTransfers(fx.db, [
      {
        id: randomUUID(),
        debitAccountId: clearing.id,
        creditAccountId: walletId,
        amountMinor,
        currency: 'EUR',
        reason: 'wallet_topup',
        reference: 'payment:test',
      },
    ]);
    expect(r!.status).toBe('created');
  };

  beforeAll(async () => {
    // Small limits, so the test reaches them: 300.00 per transfer, 3 transfers or 500.00 a day, step-up above 100.00.
    process.env.CLUTCH_WALLET_TRANSFER_MAX = '300';
    process.env.CLUTCH_WALLET_DAILY_COUNT_MAX = '3';
    process.env.CLUTCH_WALLET_DAILY_SUM_MAX = '500';
    process.env.CLUTCH_WALLET_STEP_UP_ABOVE = '100';
    fx = await startFixture({
      requireAuth: true,
      identity: { signingKeys: keys },
      rateLimit: { enabled: false },
      ...(open ? { open } : {}),
    });
    alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
    aliceMfa = await signedInUser(fx.db, keys, {
      tenantId: 'consumers',
      userId: alice.userId,
      name: 'Alice',
      mfa: true,
    });
    bob = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bob' });
    carol = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Carol' });
    shop = await createTestShop(fx.db, {
      tenantId: 'wallet-shop',
      services: [{ code: 'oil_change', durationMinutes: 60, requiredSkill: 'oil_change', priceMinor: 8900 }],
      rules: { minLeadMinutes: 0, freeCancellationHours: 24, cancellationFeeMinor: 0, noShowFeeMinor: 0 },
    });
    pam = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['technician'], name: 'Pam' });
  });
  afterAll(async () => {
    process.env = saved;
    await fx?.close();
  });

  it('opens one wallet per person and currency, and shows its balance', async () => {
    const first = ok(await api('POST', '/wallet/create', alice, { currency: 'EUR' }), 201);
    const again = ok(await api('POST', '/wallet/create', alice, { currency: 'EUR' }), 201);
    expect(again.id).toBe(first.id);
    expect(first).toMatchObject({ currency: 'EUR', postedMinor: 0, availableMinor: 0, heldMinor: 0 });
    expectProblem(await api('GET', '/wallet/balance?currency=USD', alice), 404, 'WALLET_NOT_FOUND');
    expectProblem(await api('POST', '/wallet/create', alice, { currency: 'eur' }), 400, 'VALIDATION_FAILED');
    // A technician holds no wallet permission.
    expectProblem(await api('POST', '/wallet/create', pam, { currency: 'EUR' }), 403, 'FORBIDDEN');
    await topUp(first.id as string, 50_000);
    const balance = ok(await api('GET', '/wallet/balance', alice));
    expect(balance.wallets).toEqual([
      expect.objectContaining({ id: first.id, postedMinor: 50_000, availableMinor: 50_000 }),
    ]);
    // Bob sees only his own (none yet).
    expect(ok(await api('GET', '/wallet/balance', bob)).wallets).toEqual([]);
  });

  it('holds money for a shop, releases it (twice is harmless), and refuses more than is available', async () => {
    const held = ok(
      await api('POST', '/wallet/hold', alice, {
        amountMinor: 8_900,
        currency: 'EUR',
        partnerId: shop.partnerId,
        expiresInSeconds: 3600,
      }),
      201,
    );
    expect(held).toMatchObject({
      status: 'held',
      amountMinor: 8_900,
      partnerId: shop.partnerId,
      reference: `shop:${shop.partnerId}`,
    });
    expect(held.wallet).toMatchObject({ postedMinor: 50_000, availableMinor: 41_100, heldMinor: 8_900 });
    expectProblem(
      await api('POST', '/wallet/hold', alice, {
        amountMinor: 41_101,
        currency: 'EUR',
        partnerId: shop.partnerId,
        expiresInSeconds: 3600,
      }),
      422,
      'INSUFFICIENT_FUNDS',
    );
    // Not Bob's to release: it answers like a hold that does not exist.
    expectProblem(await api('POST', '/wallet/release', bob, { holdId: held.holdId }), 404, 'WALLET_NOT_FOUND');
    const released = ok(await api('POST', '/wallet/release', alice, { holdId: held.holdId }));
    expect(released).toMatchObject({ status: 'released', wallet: { availableMinor: 50_000, heldMinor: 0 } });
    ok(await api('POST', '/wallet/release', alice, { holdId: held.holdId }));
  });

  it('will not release a hold the shop captured', async () => {
    const held = ok(
      await api('POST', '/wallet/hold', alice, {
        amountMinor: 1_000,
        currency: 'EUR',
        partnerId: shop.partnerId,
        expiresInSeconds: 600,
      }),
      201,
    );
    const [captured] = await ledger.resolvePending(fx.db, [
      {
        id: transferId(`test-capture:${held.holdId as string}`),
        pendingId: held.holdId as string,
        action: 'post',
        amountMinor: 600,
      },
    ]);
    expect(captured!.status).toBe('created');
    expectProblem(await api('POST', '/wallet/release', alice, { holdId: held.holdId }), 409, 'HOLD_ALREADY_RESOLVED');
    const wallet = ok(await api('GET', '/wallet/balance?currency=EUR', alice)).wallets as Record<string, unknown>[];
    expect(wallet[0]).toMatchObject({ postedMinor: 49_400, availableMinor: 49_400, heldMinor: 0 });
  });

  it('sends money to another person within the limits, with a second factor above the threshold, audited', async () => {
    const small = ok(
      await api('POST', '/wallet/transfer', alice, {
        amountMinor: 5_000,
        currency: 'EUR',
        toEmail: EMAIL_OF(bob, 'Bob'),
      }),
      201,
    );
    expect(small).toMatchObject({ amountMinor: 5_000, recipientUserId: bob.userId, wallet: { postedMinor: 44_400 } });
    expect(ok(await api('GET', '/wallet/balance', bob)).wallets).toEqual([
      expect.objectContaining({ postedMinor: 5_000 }),
    ]);

    expectProblem(
      await api('POST', '/wallet/transfer', alice, { amountMinor: 15_000, currency: 'EUR', toUserId: bob.userId }),
      403,
      'MFA_STEP_UP_REQUIRED',
    );
    expectProblem(
      await api('POST', '/wallet/transfer', aliceMfa, { amountMinor: 30_001, currency: 'EUR', toUserId: bob.userId }),
      422,
      'TRANSFER_LIMIT_EXCEEDED',
    );
    ok(
      await api('POST', '/wallet/transfer', aliceMfa, { amountMinor: 30_000, currency: 'EUR', toUserId: carol.userId }),
      201,
    );
    // 350.00 sent today; 150.01 more passes 500.00.
    const overSum = await api('POST', '/wallet/transfer', aliceMfa, {
      amountMinor: 15_001,
      currency: 'EUR',
      toUserId: bob.userId,
    });
    expectProblem(overSum, 422, 'TRANSFER_LIMIT_EXCEEDED');
    expect(overSum.body.limit).toBe('daily_sum');
    ok(await api('POST', '/wallet/transfer', alice, { amountMinor: 100, currency: 'EUR', toUserId: bob.userId }), 201);
    const overCount = await api('POST', '/wallet/transfer', alice, {
      amountMinor: 100,
      currency: 'EUR',
      toUserId: bob.userId,
    });
    expectProblem(overCount, 422, 'TRANSFER_LIMIT_EXCEEDED');
    expect(overCount.body.limit).toBe('daily_count');

    // Bob cannot overdraw: his wallet holds 51.00.
    expectProblem(
      await api('POST', '/wallet/transfer', bob, { amountMinor: 5_101, currency: 'EUR', toUserId: alice.userId }),
      422,
      'INSUFFICIENT_FUNDS',
    );
    expectProblem(
      await api('POST', '/wallet/transfer', bob, { amountMinor: 100, currency: 'EUR', toUserId: bob.userId }),
      400,
      'BAD_REQUEST',
    );
    const audit = await fx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'wallet.transfer' AND actor = $1`,
      [`user:${alice.userId}`],
    );
    expect(audit.rows[0]!.n).toBe(3);
  });

  it("pages the wallet's history newest first, with reasons and references", async () => {
    const first = ok(await api('GET', '/wallet/history?currency=EUR&limit=3', alice));
    const items = first.items as Record<string, unknown>[];
    expect(items).toHaveLength(3);
    expect(items[0]).toMatchObject({ direction: 'out', reason: 'wallet_transfer', amountMinor: 100 });
    expect(typeof first.next).toBe('string');
    const rest = ok(await api('GET', `/wallet/history?currency=EUR&limit=50&cursor=${first.next as string}`, alice));
    const all = [...items, ...(rest.items as Record<string, unknown>[])];
    expect(rest.next).toBeNull();
    expect(all.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['wallet_topup', 'wallet_hold', 'wallet_release', 'wallet_transfer']),
    );
    expect(all.at(-1)).toMatchObject({ direction: 'in', reason: 'wallet_topup', reference: 'payment:test' });
    // The ledger still balances.
    const verdict = await fx.db.transaction((q) => ledger.verify(q));
    expect(verdict.problems).toEqual([]);
  });

  it("holds a booking's price for its shop, with the booking as the reference", async () => {
    // Dave, not Alice: the risk check counts one payer's attempts, and Alice makes many below.
    const dave = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Dave' });
    const wallet = ok(await api('POST', '/wallet/create', dave, { currency: 'EUR' }), 201);
    await topUp(wallet.id as string, 10_000);
    const car = await createOwnedVehicle(fx.db, dave.userId, 'Dave wallet car');
    const d = new Date();
    const startsAt = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 3, 9, 0));
    const booking = ok(
      await api('POST', '/bookings', dave, {
        partnerId: shop.partnerId,
        serviceId: shop.services.oil_change,
        vehicleId: car,
        startsAt: startsAt.toISOString(),
      }),
      201,
    );
    const held = ok(
      await api('POST', '/wallet/hold', dave, {
        amountMinor: 8_900,
        currency: 'EUR',
        bookingId: booking.id,
        expiresInSeconds: 600,
      }),
      201,
    );
    expect(held).toMatchObject({ partnerId: shop.partnerId, reference: `booking:${booking.id as string}` });
    // Carol cannot hold for Dave's booking: she does not see it.
    ok(await api('POST', '/wallet/create', carol, { currency: 'EUR' }), 201);
    expectProblem(
      await api('POST', '/wallet/hold', carol, {
        amountMinor: 1,
        currency: 'EUR',
        bookingId: booking.id,
        expiresInSeconds: 600,
      }),
      404,
      'BOOKING_NOT_FOUND',
    );
    ok(await api('POST', '/wallet/release', dave, { holdId: held.holdId }));
  });
});
