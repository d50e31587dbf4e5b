import { generateSigningKeys } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import {
  backends,
  call,
  expectProblem,
  OTHER_TENANT,
  startFixture,
  TENANT,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';

const ADMIN = 'admin-token-for-error-code-tests-0123';
const ALICE_CAR = 'a11ce0ca-0000-4000-8000-0000000000e1';
const BOB_CAR = 'b0b000ca-0000-4000-8000-0000000000e2';
const SHOP_VAN = '5e0b0a00-0000-4000-8000-0000000000e3';
// Munich centre; the shops around it.
const HOME = { lat: 48.137, lon: 11.575 };

describe.each(backends('api_error_codes'))('POST /api/obd2/error-codes on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let alice: TestUser;
  let bob: TestUser;
  let tina: TestUser;
  const post = (as: TestUser | string, body: unknown): Promise<Reply> =>
    call(fx.api.url, 'POST', '/api/obd2/error-codes', { token: typeof as === 'string' ? as : as.token, body });

  /** A listed shop of `tenant` at (lat, lon) offering `services` (code, kind, price, minutes). */
  const shop = async (
    tenant: string,
    at: { lat: number; lon: number },
    services: [string, 'fixed' | 'hourly' | 'quote', number | null, number][],
    options: { status?: string; labour?: number | null; currency?: string } = {},
  ): Promise<void> => {
    const currency = options.currency ?? 'EUR';
    const { rows } = await fx.db.query<{ id: string }>(
      `INSERT INTO partners (tenant_id, name, kinds, time_zone, currency, labour_rate_minor, lat, lon, status)
       VALUES ($1, 'Shop', ARRAY['repair_center'], 'Europe/Berlin', $2, $3, $4, $5, $6) RETURNING id::text AS id`,
      [tenant, currency, options.labour ?? null, at.lat, at.lon, options.status ?? 'active'],
    );
    for (const [code, kind, price, minutes] of services)
      await fx.db.query(
        `INSERT INTO partner_services (tenant_id, partner_id, code, name, price_kind, price_minor, currency, duration_minutes)
         VALUES ($1, $2, $3, $3, $4, $5, $6, $7)`,
        [tenant, rows[0]!.id, code, kind, price, currency, minutes],
      );
  };

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      adminToken: ADMIN,
      identity: { signingKeys: keys },
      ...(open ? { open } : {}),
    });
    alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
    bob = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bob' });
    tina = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['technician'], name: 'Tina' });
    await fx.db.query(
      `INSERT INTO vehicles (id, tenant_id, name, make, owner_user_id) VALUES
         ($1, 'consumers', 'Alice hatchback', 'Fiat', $3), ($2, 'consumers', 'Bob estate', 'Volvo', $4)`,
      [ALICE_CAR, BOB_CAR, alice.userId, bob.userId],
    );
    await fx.db.query(
      `INSERT INTO dtc_events (time, tenant_id, vehicle_id, code, kind) VALUES
         (now() - interval '1 hour', 'consumers', $1, 'P0301', 'stored'),
         (now() - interval '1 hour', 'consumers', $1, 'P0171', 'pending')`,
      [ALICE_CAR],
    );
    // Alice's car was last seen ~1 km from the centre.
    await fx.db.query(
      `INSERT INTO locations (time, tenant_id, vehicle_id, lat, lon) VALUES (now() - interval '2 hours', 'consumers', $1, 0, 0),
         (now() - interval '10 minutes', 'consumers', $1, $2, $3)`,
      [ALICE_CAR, HOME.lat + 0.009, HOME.lon],
    );
    // Two shops close by price ignition work: 120.00 fixed, and 90.00/h for 90 minutes = 135.00.
    await shop(TENANT, { lat: HOME.lat + 0.02, lon: HOME.lon }, [
      ['ignition', 'fixed', 12000, 60],
      ['diagnostics', 'fixed', 4900, 30],
    ]);
    await shop(
      OTHER_TENANT,
      { lat: HOME.lat, lon: HOME.lon - 0.05 },
      [
        ['ignition', 'hourly', 9000, 90],
        ['exhaust', 'quote', null, 120],
        // Hourly without its own rate: the shop's labour rate (80.00/h) for 45 minutes = 60.00.
        ['diagnostics', 'hourly', null, 45],
      ],
      { labour: 8000 },
    );
    // Not counted: far away (Berlin), not listed, or a quote.
    await shop(TENANT, { lat: 52.52, lon: 13.405 }, [['ignition', 'fixed', 1000, 60]]);
    await shop(TENANT, { lat: HOME.lat, lon: HOME.lon }, [['ignition', 'fixed', 100, 60]], { status: 'draft' });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it("interprets an owner's codes with severity, causes, repair and the price range of shops nearby", async () => {
    const res = await post(alice, {
      codes: ['p0301', 'P0420', 'P1604', 'P3999', 'P0301'],
      position: { ...HOME, radiusKm: 10 },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const codes = res.body.codes as Record<string, unknown>[];
    expect(codes.map((c) => c.code)).toEqual(['P0301', 'P0420', 'P1604', 'P3999']);
    expect(codes[0]).toMatchObject({
      known: true,
      matchedBy: 'code',
      severity: 'high',
      system: 'powertrain',
      services: [
        { code: 'ignition', cost: { currency: 'EUR', minMinor: 12000, maxMinor: 13500, shops: 2 } },
        { code: 'diagnostics', cost: { currency: 'EUR', minMinor: 4900, maxMinor: 6000, shops: 2 } },
      ],
      cost: { service: 'ignition', currency: 'EUR', minMinor: 12000, maxMinor: 13500, shops: 2 },
      onVehicle: null,
    });
    expect(codes[0]!.description).toBe('Cylinder 1 Misfire Detected');
    expect((codes[0]!.causes as string[]).length).toBeGreaterThan(0);
    expect(codes[0]!.repair).toMatch(/spark plug/i);
    // The catalyst: exhaust work, only quoted nearby, so the price comes from the diagnostics offer.
    expect(codes[1]).toMatchObject({
      severity: 'medium',
      services: [{ code: 'exhaust', cost: null }, { code: 'diagnostics' }],
      cost: { service: 'diagnostics' },
    });
    expect(codes[2]).toMatchObject({ known: true, definedBy: 'manufacturer', matchedBy: 'family' });
    expect(codes[3]).toMatchObject({ known: false, severity: 'unknown', causes: [], repair: null });
    expect(res.body.position).toEqual({ ...HOME, radiusKm: 10, from: 'request' });
  });

  it("with the owner's vehicle: says which codes it reports and prices around its last position", async () => {
    const res = await post(alice, { codes: ['P0301', 'P0420', 'P0171'], vehicleId: ALICE_CAR });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const codes = res.body.codes as Record<string, unknown>[];
    expect(codes.map((c) => c.onVehicle && (c.onVehicle as { kind: string }).kind)).toEqual([
      'stored',
      null,
      'pending',
    ]);
    expect(res.body.position).toMatchObject({ lat: HOME.lat + 0.009, lon: HOME.lon, radiusKm: 25, from: 'vehicle' });
    expect(codes[0]!.cost).toMatchObject({ minMinor: 12000, maxMinor: 13500 });
  });

  it('a wider radius takes in the far shop; no position and no vehicle: no prices', async () => {
    const wide = await post(alice, { codes: ['P0301'], position: { ...HOME, radiusKm: 200 } });
    expect((wide.body.codes as { cost: unknown }[])[0]!.cost).toMatchObject({ minMinor: 12000, shops: 2 });
    const far = await post(alice, { codes: ['P0301'], position: { lat: 52.5, lon: 13.4, radiusKm: 10 } });
    expect((far.body.codes as { cost: unknown }[])[0]!.cost).toMatchObject({
      minMinor: 1000,
      maxMinor: 1000,
      shops: 1,
    });
    const none = await post(alice, { codes: ['P0301'] });
    expect(none.body.position).toBeNull();
    expect((none.body.codes as { cost: unknown }[])[0]!.cost).toBeNull();
  });

  it("answers another owner's vehicle exactly like a missing one", async () => {
    expectProblem(await post(bob, { codes: ['P0301'], vehicleId: ALICE_CAR }), 404, 'VEHICLE_NOT_FOUND');
    expectProblem(await post(tina, { codes: ['P0301'], vehicleId: ALICE_CAR }), 404, 'VEHICLE_NOT_FOUND');
    expect((await post(bob, { codes: ['P0301'], vehicleId: BOB_CAR })).status).toBe(200);
    // A shop's technician (dtc:read) interprets codes without a vehicle.
    expect((await post(tina, { codes: ['P0301'] })).status).toBe(200);
  });

  it("prices around the vehicle's position only for callers who may see where it is", async () => {
    // Tina's shop's own car, last seen in the centre: a technician holds dtc:read but no location:read.
    await fx.db.query(`INSERT INTO vehicles (id, tenant_id, name) VALUES ($1, $2, 'Shop van')`, [SHOP_VAN, TENANT]);
    await fx.db.query(`INSERT INTO locations (time, tenant_id, vehicle_id, lat, lon) VALUES (now(), $1, $2, $3, $4)`, [
      TENANT,
      SHOP_VAN,
      HOME.lat,
      HOME.lon,
    ]);
    const res = await post(tina, { codes: ['P0301'], vehicleId: SHOP_VAN });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.position).toBeNull();
    expect((res.body.codes as { cost: unknown }[])[0]!.cost).toBeNull();
    // Named in the request, the position is the caller's own input.
    const given = await post(tina, { codes: ['P0301'], vehicleId: SHOP_VAN, position: HOME });
    expect(given.body.position).toMatchObject({ ...HOME, from: 'request' });
  });

  it('refuses malformed codes, too many codes, a bad position and anonymous callers', async () => {
    for (const body of [
      { codes: [] },
      { codes: ['P03011'] },
      { codes: ['X0301'] },
      { codes: ['P4301'] },
      { codes: Array.from({ length: 21 }, (_, i) => `P03${String(i).padStart(2, '0')}`) },
      { codes: ['P0301'], position: { lat: 91, lon: 0 } },
      { codes: ['P0301'], position: { ...HOME, radiusKm: 5000 } },
      { codes: ['P0301'], vehicleId: 'not-a-uuid' },
      { codes: ['P0301'], extra: true },
    ])
      expectProblem(await post(alice, body), 400, 'VALIDATION_FAILED');
    expectProblem(await post('', { codes: ['P0301'] }), 401, 'UNAUTHENTICATED');
  });
});
