import { signalByKey } from '@clutch/contracts';
import { generateSigningKeys } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import {
  backends,
  call,
  expectProblem,
  outboxPayloads,
  startFixture,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';
import { createOwnedVehicle, createTestShop, type TestShop } from './test-shop.js';

const sid = (key: string): number => signalByKey(key)!.id;

describe.each(backends('api_bookings_from_alert'))('POST /api/bookings/from-alert on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let alice: TestUser;
  let bob: TestUser;
  let tina: TestUser;
  let pam: TestUser;
  let oscar: TestUser;
  let aliceCar: string;
  let bobCar: string;
  let shop: TestShop;
  let alertId: string;
  let bobAlertId: string;
  const reportedAt = new Date(Date.now() - 3600_000);

  const api = (
    method: string,
    path: string,
    as: TestUser,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Reply> =>
    call(fx.api.url, method, `/api${path}`, {
      token: as.token,
      ...(body !== undefined ? { body } : {}),
      headers: { 'x-requested-with': 'test', ...headers },
    });
  const fromAlert = (as: TestUser, body: Record<string, unknown>, headers?: Record<string, string>) =>
    api(
      'POST',
      '/bookings/from-alert',
      as,
      { partnerId: shop.partnerId, serviceId: shop.services.ignition, ...body },
      headers,
    );
  let slots = 0;
  /** A fresh slot for each booking (the shop has one technician): 08:00-20:00 UTC two days ahead, then the next day. */
  const slot = (): string => {
    const n = slots++;
    const d = new Date();
    return new Date(
      Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 2 + Math.floor(n / 6), 8 + 2 * (n % 6)),
    ).toISOString();
  };
  const shares = async (vehicleId: string): Promise<{ booking_id: string | null; revoked_at: Date | null }[]> =>
    (
      await fx.db.query<{ booking_id: string | null; revoked_at: Date | null }>(
        'SELECT booking_id::text AS booking_id, revoked_at FROM vehicle_shares WHERE vehicle_id = $1 ORDER BY created_at',
        [vehicleId],
      )
    ).rows;

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
      tenantId: 'from-alert-shop',
      services: [{ code: 'ignition', durationMinutes: 60, requiredSkill: null }],
      resources: [
        { name: 'Bay 1', kind: 'bay' },
        { name: 'Tech 1', kind: 'technician' },
      ],
      rules: { minLeadMinutes: 0 },
    });
    tina = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['technician'], name: 'Tina' });
    pam = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['partner-admin'], name: 'Pam' });
    await createTestShop(fx.db, { tenantId: 'from-alert-other-shop' });
    oscar = await signedInUser(fx.db, keys, {
      tenantId: 'from-alert-other-shop',
      roles: ['partner-admin'],
      name: 'Oscar',
    });
    // Alice's car: a misfire and a lean mixture in its latest report, and the engine at that moment.
    await fx.db.query(
      `INSERT INTO dtc_events (time, tenant_id, vehicle_id, code, kind) VALUES
         ($1, 'consumers', $2, 'P0301', 'stored'), ($1, 'consumers', $2, 'P0171', 'pending')`,
      [reportedAt, aliceCar],
    );
    await fx.db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES
         ($1, 'consumers', $2, $3, 2400), ($1, 'consumers', $2, $4, 92), ($5, 'consumers', $2, $3, 800)`,
      [
        new Date(reportedAt.getTime() - 5000),
        aliceCar,
        sid('engine.rpm'),
        sid('engine.coolant_temp'),
        new Date(reportedAt.getTime() - 3600_000),
      ],
    );
    const alerts = await fx.db.query<{ id: string }>(
      `INSERT INTO alerts (time, tenant_id, vehicle_id, kind, severity, title, explanation) VALUES
         ($1, 'consumers', $2, 'coolant_overheat', 'critical', 'Engine overheating', 'Coolant above 110 °C while driving'),
         ($1, 'consumers', $3, 'anomaly', 'warning', 'Unusual idle', 'Idle rpm drifted')
       RETURNING id::text AS id`,
      [reportedAt, aliceCar, bobCar],
    );
    [alertId, bobAlertId] = alerts.rows.map((r) => r.id) as [string, string];
  });
  afterAll(async () => {
    await fx?.close();
  });

  it("books from the car's current trouble codes: codes, freeze frame and explanation on the booking, the car shared with the shop", async () => {
    expect((await api('GET', `/vehicles/${aliceCar}`, tina)).status).toBe(404);
    const res = await fromAlert(alice, { vehicleId: aliceCar, codes: ['p0301'], startsAt: slot() });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const booking = res.body.booking as Record<string, unknown>;
    expect(booking).toMatchObject({
      status: 'requested',
      vehicleId: aliceCar,
      partnerId: shop.partnerId,
      repairOrderStatus: 'requested',
    });
    expect(booking.source).toEqual({
      kind: 'dtc',
      codes: ['P0301'],
      explanation: 'P0301 Cylinder 1 Misfire Detected (stored)',
      freezeFrame: {
        source: 'telemetry',
        at: reportedAt.toISOString(),
        code: 'P0301',
        // The reading just before the report, not the hour-old idle.
        values: { 'engine.rpm': 2400, 'engine.coolant_temp': 92 },
      },
    });
    const share = res.body.share as Record<string, unknown>;
    expect(share).toMatchObject({
      granteeTenantId: shop.tenantId,
      permissions: ['vehicles:read', 'telemetry:read', 'dtc:read', 'status:read'],
      validUntil: new Date(Date.parse(booking.endsAt as string) + 72 * 3600_000).toISOString(),
    });
    // The shop now sees the car's health; another shop does not.
    expect((await api('GET', `/vehicles/${aliceCar}`, tina)).status).toBe(200);
    const diagnostics = await api('GET', `/obd2/diagnostics/${aliceCar}`, tina);
    expect((diagnostics.body.current as { code: string }[]).map((c) => c.code)).toEqual(['P0171', 'P0301']);
    expectProblem(await api('GET', `/vehicles/${aliceCar}`, oscar), 404, 'VEHICLE_NOT_FOUND');
    // Not where the car is: location is not shared (a partner admin holds location:read, but not on this car).
    expectProblem(await api('GET', `/telematics/history?vehicleId=${aliceCar}`, pam), 404, 'VEHICLE_NOT_FOUND');
    expect((await api('GET', `/vehicles/${aliceCar}`, pam)).status).toBe(200);
    // The shop's side of the booking carries the same source.
    const seen = await api('GET', `/bookings/${booking.id as string}`, tina);
    expect((seen.body.source as { kind: string }).kind).toBe('dtc');
  });

  it("books from an alert: the alert's explanation travels with the booking", async () => {
    const res = await fromAlert(alice, { vehicleId: aliceCar, alertId, startsAt: slot() });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect((res.body.booking as { source: unknown }).source).toMatchObject({
      kind: 'alert',
      alertId,
      explanation: 'Engine overheating: Coolant above 110 °C while driving',
      freezeFrame: { source: 'telemetry', alert: { kind: 'coolant_overheat', severity: 'critical' } },
    });
  });

  it('the share follows the booking: cancelled, the shop loses the car at once', async () => {
    const res = await fromAlert(alice, { vehicleId: aliceCar, codes: ['P0171'], startsAt: slot() });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const booking = res.body.booking as { id: string };
    const before = (await shares(aliceCar)).filter((s) => s.booking_id === booking.id);
    expect(before).toEqual([{ booking_id: booking.id, revoked_at: null }]);
    expect((await api('POST', `/bookings/${booking.id}/cancel`, alice, {})).status).toBe(200);
    const after = (await shares(aliceCar)).find((s) => s.booking_id === booking.id)!;
    expect(after.revoked_at).not.toBeNull();
    // The other two bookings still hold their shares, so the shop still sees the car; the gateway is told to re-check.
    expect((await outboxPayloads(fx.db, 'rbac.roles-changed')).at(-1)).toEqual({ vehicleId: aliceCar });
  });

  it('a refused booking leaves no share behind (one transaction)', async () => {
    const startsAt = slot();
    expect(
      (
        await api('POST', '/bookings', bob, {
          partnerId: shop.partnerId,
          serviceId: shop.services.ignition,
          vehicleId: bobCar,
          startsAt,
        })
      ).status,
    ).toBe(201);
    const before = (await shares(aliceCar)).length;
    expectProblem(await fromAlert(alice, { vehicleId: aliceCar, codes: ['P0301'], startsAt }), 409, 'SLOT_UNAVAILABLE');
    expect((await shares(aliceCar)).length).toBe(before);
  });

  it("refuses codes the car does not report, another owner's car or alert, and a request without a source", async () => {
    const startsAt = slot();
    expectProblem(
      await fromAlert(alice, { vehicleId: aliceCar, codes: ['P0420'], startsAt }),
      422,
      'BOOKING_SOURCE_INVALID',
    );
    expectProblem(
      await fromAlert(alice, { vehicleId: bobCar, alertId: bobAlertId, startsAt }),
      404,
      'VEHICLE_NOT_FOUND',
    );
    expectProblem(
      await fromAlert(alice, { vehicleId: aliceCar, alertId: bobAlertId, startsAt }),
      404,
      'ALERT_NOT_FOUND',
    );
    expectProblem(await fromAlert(bob, { vehicleId: aliceCar, codes: ['P0301'], startsAt }), 404, 'VEHICLE_NOT_FOUND');
    expectProblem(await fromAlert(alice, { vehicleId: aliceCar, startsAt }), 400, 'VALIDATION_FAILED');
    expectProblem(
      await fromAlert(alice, { vehicleId: aliceCar, codes: ['P03011'], startsAt }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(await fromAlert(alice, { vehicleId: aliceCar, codes: ['P0301'] }), 400, 'VALIDATION_FAILED');
    // A shop's technician has no car of its own to book from.
    expect((await fromAlert(tina, { vehicleId: aliceCar, codes: ['P0301'], startsAt })).status).toBeGreaterThanOrEqual(
      403,
    );
    expect(await shares(bobCar)).toEqual([]);
  });

  it('answers a repeated request with the same booking (Idempotency-Key), one share', async () => {
    const body = { vehicleId: aliceCar, codes: ['P0301'], startsAt: slot() };
    const first = await fromAlert(alice, body, { 'Idempotency-Key': 'from-alert-once' });
    const again = await fromAlert(alice, body, { 'Idempotency-Key': 'from-alert-once' });
    expect(first.status).toBe(201);
    expect(again.body).toEqual(first.body);
    const id = (first.body.booking as { id: string }).id;
    expect((await shares(aliceCar)).filter((s) => s.booking_id === id)).toHaveLength(1);
  });
});
