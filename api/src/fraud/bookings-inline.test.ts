import { generateSigningKeys } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOwnedVehicle, createTestShop, type TestShop } from '../bookings/test-shop.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import { backends, call, expectProblem, startFixture, type Fixture, type Reply } from '../test-fixtures.js';

const ADMIN = 'admin-token-for-fraud-bookings-0123';

const dayAt = (days: number, hhmm: string): string => {
  const d = new Date();
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + days, h, m)).toISOString();
};

/** The inline check in bookings (api/src/bookings/service.ts): every booking is assessed; a block stores none. */
describe.each(backends('api_fraud_bookings'))('risk check of bookings on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let alice: TestUser;
  let mallory: TestUser;
  let admin: TestUser;
  let aliceCar: string;
  let malloryCar: string;
  let shop: TestShop;
  const api = (method: string, path: string, as: TestUser | string | undefined, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, `/api${path}`, {
      token: typeof as === 'string' ? as : as?.token,
      ...(body !== undefined ? { body } : method === 'GET' ? {} : { headers: { 'x-requested-with': 'test' } }),
    });
  const book = (as: TestUser, vehicleId: string, startsAt: string) =>
    api('POST', '/bookings', as, {
      partnerId: shop.partnerId,
      serviceId: shop.services.oil_change,
      vehicleId,
      startsAt,
    });

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      adminToken: ADMIN,
      identity: { signingKeys: keys },
      rateLimit: { enabled: false },
      ...(open ? { open } : {}),
    });
    alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
    mallory = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Mallory' });
    admin = await signedInUser(fx.db, keys, { tenantId: 'platform', roles: ['platform-admin'], mfa: true });
    aliceCar = await createOwnedVehicle(fx.db, alice.userId, 'Alice hatchback');
    malloryCar = await createOwnedVehicle(fx.db, mallory.userId, 'Mallory van');
    shop = await createTestShop(fx.db, {
      tenantId: 'fraud-shop',
      services: [{ code: 'oil_change', durationMinutes: 30, requiredSkill: null, priceMinor: 8_000 }],
      resources: [
        { name: 'Bay 1', kind: 'bay' },
        { name: 'Tom', kind: 'technician', skills: ['oil_change'] },
      ],
      rules: { minLeadMinutes: 0 },
    });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('assesses an ordinary booking and stores it as the customer’s', async () => {
    const res = await book(alice, aliceCar, dayAt(2, '09:00'));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const { rows } = await fx.db.query<{ tenant_id: string; user_id: string; kind: string; decision: string }>(
      `SELECT tenant_id, user_id, kind, decision FROM risk_assessments WHERE user_id = $1`,
      [alice.userId],
    );
    expect(rows).toEqual([{ tenant_id: 'consumers', user_id: alice.userId, kind: 'booking', decision: 'allow' }]);
  });

  it('refuses a blocked user’s booking with 403 RISK_BLOCKED: no booking, the assessment and its alert kept', async () => {
    const blocked = await api('POST', '/security/fraud/block', admin, {
      subject: 'user',
      tenantId: 'consumers',
      value: mallory.userId,
      minutes: 60,
      reason: 'confirmed account takeover',
    });
    expect(blocked.status, JSON.stringify(blocked.body)).toBe(201);
    const res = await book(mallory, malloryCar, dayAt(2, '10:00'));
    expectProblem(res, 403, 'RISK_BLOCKED');
    const assessmentId = res.body.assessmentId as string;
    const bookings = await fx.db.query('SELECT 1 FROM bookings WHERE customer_user_id = $1', [mallory.userId]);
    expect(bookings.rows).toHaveLength(0);
    const kept = await fx.db.query<{ decision: string; alert: string | null }>(
      `SELECT r.decision, a.status AS alert FROM risk_assessments r LEFT JOIN fraud_alerts a ON a.assessment_id = r.id
        WHERE r.id = $1`,
      [assessmentId],
    );
    expect(kept.rows).toEqual([{ decision: 'block', alert: 'open' }]);
    // Alice, unblocked, books on.
    expect((await book(alice, aliceCar, dayAt(2, '11:00'))).status).toBe(201);
  });

  it('never blocks a booking for velocity alone: many quick bookings are at worst reviewed', async () => {
    const decisions: number[] = [];
    for (let i = 0; i < 10; i++)
      decisions.push((await book(alice, aliceCar, dayAt(3, `${String(6 + i).padStart(2, '0')}:00`))).status);
    expect(decisions.every((s) => s === 201)).toBe(true);
    const { rows } = await fx.db.query<{ decision: string }>(
      `SELECT decision FROM risk_assessments WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1`,
      [alice.userId],
    );
    expect(rows[0]!.decision).toBe('review');
  });
});
