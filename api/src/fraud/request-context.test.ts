import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { generateSigningKeys } from '@clutch/identity';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOwnedVehicle, createTestShop, type TestShop } from '../bookings/test-shop.js';
import { ledger } from '../ledger/ledger.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import { backends, call, startFixture, type Fixture, type Reply } from '../test-fixtures.js';
import { assess } from './assess.js';
import { riskContextOf } from './request-context.js';
import type { RiskReason, RiskSubjectKind } from './types.js';

const contextOf = (proxy: boolean, headers: Record<string, string>, socket = '192.0.2.7') => {
  const app = new Koa();
  app.proxy = proxy;
  const req = {
    headers,
    socket: { remoteAddress: socket },
    url: '/',
    method: 'POST',
  } as unknown as IncomingMessage;
  return app.createContext(req, {} as ServerResponse);
};

describe('riskContextOf', () => {
  const headers = {
    'x-forwarded-for': '203.0.113.9',
    'cf-ipcountry': 'ru',
    'x-device-id': ' laptop-1 ',
  };

  it('trusts the proxy’s address and country only when the app is configured to', () => {
    expect(riskContextOf(contextOf(true, headers))).toEqual({
      ip: '203.0.113.9',
      ipCountry: 'ru',
      deviceId: 'laptop-1',
    });
    // Without a trusted proxy a client could claim any country and address: the socket's counts.
    expect(riskContextOf(contextOf(false, headers))).toEqual({
      ip: '192.0.2.7',
      ipCountry: undefined,
      deviceId: 'laptop-1',
    });
  });

  it('treats an unknown country and an oversized device id as absent', () => {
    const ctx = contextOf(true, { 'cf-ipcountry': 'XX', 'x-device-id': 'd'.repeat(201) });
    expect(riskContextOf(ctx)).toEqual({ ip: '192.0.2.7', ipCountry: undefined, deviceId: undefined });
  });

  it('passes no address that cannot be a client’s: an untrusted proxy’s, a local one', () => {
    for (const socket of ['127.0.0.1', '::ffff:127.0.0.1', '::1', '10.1.2.3', '172.20.0.5', '192.168.1.9', 'fd00::1'])
      expect(riskContextOf(contextOf(false, {}, socket)).ip, socket).toBeUndefined();
    for (const socket of ['::ffff:203.0.113.9', '2001:db8::1', '8.8.8.8'])
      expect(riskContextOf(contextOf(false, {}, socket)).ip, socket).toBe(socket.replace('::ffff:', ''));
  });
});

interface StoredAssessment {
  score: number;
  decision: string;
  reasons: RiskReason[];
  ip: string | null;
  ip_country: string | null;
  device_id: string | null;
}

const dayAt = (days: number, hhmm: string): string => {
  const d = new Date();
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + days, h, m)).toISOString();
};

/**
 * Bookings and wallet transfers pass the request's address, its country (from the trusted proxy's
 * geo header) and the device to the inline risk check: a new device or a foreign country on an
 * established account raises the score with its reasons.
 */
describe.each(backends('api_fraud_request'))('request context in risk checks on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let shop: TestShop;
  let bea: TestUser;
  let ben: TestUser;
  let wes: TestUser;
  let beaCar: string;

  const from = (ip: string, country: string, device: string) => ({
    'x-requested-with': 'test',
    'x-forwarded-for': ip,
    'cf-ipcountry': country,
    'x-device-id': device,
  });
  const api = (method: string, path: string, as: TestUser, body: unknown, headers: Record<string, string>) =>
    call(fx.api.url, method, `/api${path}`, { token: as.token, body, headers });
  const latest = async (userId: string, kind: RiskSubjectKind): Promise<StoredAssessment> => {
    const { rows } = await fx.db.query<StoredAssessment>(
      `SELECT score, decision, reasons, ip, ip_country, device_id FROM risk_assessments
        WHERE user_id = $1 AND kind = $2 ORDER BY created_at DESC, id LIMIT 1`,
      [userId, kind],
    );
    return rows[0]!;
  };
  const codes = (a: StoredAssessment) => a.reasons.map((r) => r.code);
  /** Three allowed attempts two days ago from the user's phone at home: an established account. */
  const history = async (
    user: TestUser,
    name: string,
    kind: RiskSubjectKind,
    amountMinor: number,
    currency: string,
  ) => {
    for (let i = 0; i < 3; i++)
      await assess(fx.db, {
        kind,
        tenantId: 'consumers',
        userId: user.userId,
        amountMinor,
        currency,
        ip: '198.51.100.20',
        ipCountry: 'EG',
        deviceId: `${name}-phone`,
        at: new Date(Date.now() - 48 * 3600_000 + i * 3600_000),
      });
  };

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      trustProxy: true,
      identity: { signingKeys: keys },
      rateLimit: { enabled: false },
      ...(open ? { open } : {}),
    });
    bea = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bea' });
    ben = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Ben' });
    wes = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Wes' });
    beaCar = await createOwnedVehicle(fx.db, bea.userId, 'Bea hatchback');
    shop = await createTestShop(fx.db, {
      tenantId: 'fraud-request-shop',
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

  it('scores a booking from a new device abroad above one from the usual phone at home', async () => {
    await history(bea, 'Bea', 'booking', 8_000, 'EUR');
    const book = (startsAt: string, headers: Record<string, string>) =>
      api(
        'POST',
        '/bookings',
        bea,
        { partnerId: shop.partnerId, serviceId: shop.services.oil_change, vehicleId: beaCar, startsAt },
        headers,
      );

    const home = await book(dayAt(2, '09:00'), from('198.51.100.20', 'EG', 'Bea-phone'));
    expect(home.status, JSON.stringify(home.body)).toBe(201);
    const usual = await latest(bea.userId, 'booking');
    expect(usual).toMatchObject({ ip: '198.51.100.20', ip_country: 'EG', device_id: 'Bea-phone' });
    expect(codes(usual)).not.toContain('new_device');
    expect(codes(usual)).not.toContain('country_mismatch');

    const away = await book(dayAt(2, '10:00'), from('203.0.113.50', 'RU', 'unknown-laptop'));
    expect(away.status, JSON.stringify(away.body)).toBe(201);
    const odd = await latest(bea.userId, 'booking');
    expect(odd).toMatchObject({ ip: '203.0.113.50', ip_country: 'RU', device_id: 'unknown-laptop' });
    expect(odd.reasons).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'new_device', detail: { establishedAccount: true, abroad: true } }),
        expect.objectContaining({ code: 'country_mismatch', detail: { ipVsHome: true } }),
      ]),
    );
    expect(odd.score).toBeGreaterThan(usual.score);
  });

  it('scores a wallet transfer from a new device abroad above one from the usual phone at home', async () => {
    const wallet = await api('POST', '/wallet/create', ben, { currency: 'EUR' }, from('198.51.100.20', 'EG', 'x'));
    expect(wallet.status, JSON.stringify(wallet.body)).toBe(201);
    const clearing = await ledger.ensureAccount(fx.db, {
      tenantId: 'platform',
      ownerUserId: null,
      partnerId: null,
      qualifier: 'stripe',
      code: 'provider_clearing',
      currency: 'EUR',
    });
    const [topUp] = await ledger.createTransfers(fx.db, [
      {
        id: randomUUID(),
        debitAccountId: clearing.id,
        creditAccountId: wallet.body.id as string,
        amountMinor: 50_000,
        currency: 'EUR',
        reason: 'wallet_topup',
        reference: 'payment:test',
      },
    ]);
    expect(topUp!.status).toBe('created');
    await history(ben, 'Ben', 'wallet_transfer', 5_000, 'EUR');
    const send = (headers: Record<string, string>): Promise<Reply> =>
      api('POST', '/wallet/transfer', ben, { amountMinor: 5_000, currency: 'EUR', toUserId: wes.userId }, headers);

    const home = await send(from('198.51.100.20', 'EG', 'Ben-phone'));
    expect(home.status, JSON.stringify(home.body)).toBe(201);
    const usual = await latest(ben.userId, 'wallet_transfer');
    expect(usual).toMatchObject({ ip: '198.51.100.20', ip_country: 'EG', device_id: 'Ben-phone' });
    expect(codes(usual)).not.toContain('new_device');
    expect(codes(usual)).not.toContain('country_mismatch');

    const away = await send(from('203.0.113.50', 'RU', 'unknown-laptop'));
    expect(away.status, JSON.stringify(away.body)).toBe(201);
    const odd = await latest(ben.userId, 'wallet_transfer');
    expect(odd).toMatchObject({ ip: '203.0.113.50', ip_country: 'RU', device_id: 'unknown-laptop' });
    expect(odd.reasons).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'new_device', detail: { establishedAccount: true, abroad: true } }),
        expect.objectContaining({ code: 'country_mismatch', detail: { ipVsHome: true } }),
      ]),
    );
    expect(odd.score).toBeGreaterThan(usual.score);
    expect(away.body.riskDecision).toBe(odd.decision);
  });
});
