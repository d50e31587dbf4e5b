import { generateSigningKeys } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import {
  auditLog,
  backends,
  call,
  expectProblem,
  OTHER_TENANT,
  startFixture,
  TENANT,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';
import { MAX_PHOTO_BYTES } from './photos.js';

const ADMIN = 'admin-token-for-partner-tests-0123456789';
// The smallest files each type's magic bytes recognise (the server checks bytes, never the claim).
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from('IHDR-fake-rest'),
]);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('JFIF-rest')]);

describe.each(backends('api_partners'))('shops of partner organisations on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let acmeAdmin: TestUser;
  let globexAdmin: TestUser;
  let tech: TestUser;
  let owner: TestUser;
  let staff: TestUser;
  const api = (method: string, path: string, as: TestUser | string | undefined, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, `/api${path}`, {
      token: typeof as === 'string' ? as : as?.token,
      ...(body !== undefined ? { body } : method === 'GET' ? {} : { headers: { 'x-requested-with': 'test' } }),
    });
  const ok = (res: Reply, status = 200): Record<string, unknown> => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return res.body;
  };
  const count = async (table: string): Promise<number> =>
    Number((await fx.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
  const newShop = async (as: TestUser, extra: Record<string, unknown> = {}): Promise<string> =>
    ok(
      await api('POST', '/partners', as, {
        name: 'Garage Nord',
        kinds: ['repair_center'],
        timeZone: 'Europe/Berlin',
        currency: 'EUR',
        lat: 52.52,
        lon: 13.405,
        ...extra,
      }),
      201,
    ).id as string;

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      adminToken: ADMIN,
      identity: { signingKeys: keys },
      ...(open ? { open } : {}),
    });
    acmeAdmin = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['partner-admin'], name: 'Ada' });
    globexAdmin = await signedInUser(fx.db, keys, { tenantId: OTHER_TENANT, roles: ['partner-admin'], name: 'Gus' });
    tech = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['technician'], name: 'Tim' });
    owner = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Olga' });
    staff = await signedInUser(fx.db, keys, { tenantId: 'platform', roles: ['platform-admin'], name: 'Pia' });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it("lets a partner admin build its shop's listing, and shows it to customers once active", async () => {
    const id = await newShop(acmeAdmin, { address: { line1: 'Hauptstr. 1', city: 'Berlin', country: 'DE' } });
    // A draft: its own organisation sees it, a customer does not.
    expect(ok(await api('GET', `/partners/${id}`, acmeAdmin))).toMatchObject({ status: 'draft', tenantId: TENANT });
    expectProblem(await api('GET', `/partners/${id}`, owner), 404, 'PARTNER_NOT_FOUND');

    const hours = [1, 2, 3, 4, 5].flatMap((weekday) => [
      { weekday, opens: '08:00', closes: '12:00' },
      { weekday, opens: '13:00', closes: '18:00' },
    ]);
    expect(ok(await api('PUT', `/partners/${id}/opening-hours`, acmeAdmin, { hours })).hours).toHaveLength(10);
    ok(
      await api('PUT', `/partners/${id}/special-days`, acmeAdmin, {
        days: [
          { day: '2099-12-25', note: 'Christmas' },
          { day: '2099-12-24', opens: '09:00', closes: '12:00' },
        ],
      }),
    );
    const service = ok(
      await api('POST', `/partners/${id}/services`, acmeAdmin, {
        code: 'oil_change',
        name: 'Oil change with filter',
        priceKind: 'fixed',
        priceMinor: 8900,
        durationMinutes: 45,
        bufferAfterMinutes: 10,
      }),
      201,
    );
    expect(service).toMatchObject({ code: 'oil_change', currency: 'EUR', priceMinor: 8900, active: true });
    const part = ok(
      await api('POST', `/partners/${id}/parts`, acmeAdmin, {
        sku: 'OF-123',
        name: 'Oil filter',
        priceMinor: 1250,
        stock: 4,
      }),
      201,
    );
    expect(part).toMatchObject({ sku: 'OF-123', currency: 'EUR', stock: 4 });
    expectProblem(
      await api('POST', `/partners/${id}/parts`, acmeAdmin, { sku: 'OF-123', name: 'Again', priceMinor: 1 }),
      409,
      'PART_SKU_TAKEN',
    );
    ok(
      await api('PATCH', `/partners/${id}`, acmeAdmin, {
        status: 'active',
        labourRateMinor: 9500,
        name: 'Garage Nord GmbH',
      }),
    );

    const seen = ok(await api('GET', `/partners/${id}`, owner));
    expect(seen).toMatchObject({
      name: 'Garage Nord GmbH',
      status: 'active',
      labourRateMinor: 9500,
      address: { line1: 'Hauptstr. 1', city: 'Berlin', country: 'DE' },
      ratingAvg: null,
      ratingCount: 0,
    });
    expect(seen.openingHours).toEqual(hours.sort((a, b) => a.weekday - b.weekday || a.opens.localeCompare(b.opens)));
    expect(seen.specialDays).toEqual([
      { day: '2099-12-24', opens: '09:00', closes: '12:00', note: '' },
      { day: '2099-12-25', opens: null, closes: null, note: 'Christmas' },
    ]);
    expect((seen.services as { id: string }[]).map((s) => s.id)).toEqual([service.id]);
    expect(ok(await api('GET', `/partners/${id}/parts`, owner)).parts).toEqual([part]);
    const listed = ok(await api('GET', `/partners?tenantId=${TENANT}`, owner)).partners as { id: string }[];
    expect(listed.map((p) => p.id)).toContain(id);

    // A withdrawn service leaves the listing but stays for the shop.
    ok(await api('PATCH', `/partners/${id}/services/${service.id as string}`, acmeAdmin, { active: false }));
    expect(ok(await api('GET', `/partners/${id}/services`, owner)).services).toEqual([]);
    expect(ok(await api('GET', `/partners/${id}/services?includeInactive=true`, acmeAdmin)).services).toHaveLength(1);
  });

  it("refuses another organisation's shop with 404 and changes nothing of it", async () => {
    const id = await newShop(acmeAdmin, { status: 'active' });
    const part = ok(
      await api('POST', `/partners/${id}/parts`, acmeAdmin, {
        sku: 'BP-1',
        name: 'Brake pads',
        priceMinor: 4000,
        stock: 3,
      }),
      201,
    );
    const before = ok(await api('GET', `/partners/${id}`, acmeAdmin));
    // Globex reads the listing, like every customer...
    expect(ok(await api('GET', `/partners/${id}`, globexAdmin)).id).toBe(id);
    // ...but every write answers exactly like a missing shop.
    expectProblem(await api('PATCH', `/partners/${id}`, globexAdmin, { name: 'Taken over' }), 404, 'PARTNER_NOT_FOUND');
    expectProblem(
      await api('PUT', `/partners/${id}/opening-hours`, globexAdmin, {
        hours: [{ weekday: 1, opens: '00:00', closes: '01:00' }],
      }),
      404,
      'PARTNER_NOT_FOUND',
    );
    expectProblem(
      await api('POST', `/partners/${id}/services`, globexAdmin, {
        code: 'brakes',
        name: 'Brakes',
        priceKind: 'quote',
        durationMinutes: 60,
      }),
      404,
      'PARTNER_NOT_FOUND',
    );
    expectProblem(
      await api('POST', `/partners/${id}/parts/${part.id as string}/stock`, globexAdmin, { delta: -3 }),
      404,
      'PART_NOT_FOUND',
    );
    expectProblem(
      await api('POST', `/partners/${id}/photos`, globexAdmin, { data: PNG.toString('base64') }),
      404,
      'PARTNER_NOT_FOUND',
    );
    const after = ok(await api('GET', `/partners/${id}`, acmeAdmin));
    expect(after).toEqual(before);
    expect(ok(await api('GET', `/partners/${id}/parts`, acmeAdmin)).parts).toEqual([part]);
  });

  it('refuses writes to car owners and to staff without partners:write', async () => {
    const id = await newShop(acmeAdmin, { status: 'active' });
    for (const who of [owner, tech]) {
      const create = await api('POST', '/partners', who, {
        name: 'Mine',
        kinds: ['parts_shop'],
        timeZone: 'UTC',
        currency: 'EUR',
      });
      expectProblem(create, 403, 'FORBIDDEN');
      expect(create.body.requiredPermission).toBe('partners:write');
      expectProblem(await api('PATCH', `/partners/${id}`, who, { name: 'Mine now' }), 403, 'FORBIDDEN');
    }
    // Anonymous callers get nothing (the listing is for signed-in callers).
    expectProblem(await api('GET', `/partners/${id}`, undefined), 401, 'UNAUTHENTICATED');
  });

  it('answers bad input with 400 problem+json and stores nothing', async () => {
    const id = await newShop(acmeAdmin);
    const shopsBefore = await count('partners');
    const base = { name: 'X', kinds: ['repair_center'], timeZone: 'Europe/Berlin', currency: 'EUR' };
    for (const body of [
      { ...base, timeZone: 'Mars/Olympus_Mons' },
      { ...base, timeZone: '+01:00' },
      { ...base, kinds: ['car_wash'] },
      { ...base, kinds: [] },
      { ...base, currency: 'euro' },
      { ...base, lat: 91, lon: 0 },
      { ...base, lat: 10 },
      { ...base, status: 'active' },
      { ...base, labourRateMinor: 12.5 },
      { ...base, website: 'javascript:alert(1)' },
    ]) {
      const res = await api('POST', '/partners', acmeAdmin, body);
      expectProblem(res, 400, 'VALIDATION_FAILED');
    }
    expect(await count('partners')).toBe(shopsBefore);

    const hoursBefore = await count('partner_opening_hours');
    ok(
      await api('PUT', `/partners/${id}/opening-hours`, acmeAdmin, {
        hours: [{ weekday: 2, opens: '09:00', closes: '17:00' }],
      }),
    );
    for (const hours of [
      [
        { weekday: 1, opens: '09:00', closes: '12:00' },
        { weekday: 1, opens: '11:00', closes: '14:00' },
      ],
      [{ weekday: 1, opens: '22:00', closes: '02:00' }],
      [{ weekday: 8, opens: '09:00', closes: '10:00' }],
      [{ weekday: 1, opens: '9:00', closes: '10:00' }],
      [{ weekday: 1, opens: '24:00', closes: '24:00' }],
    ]) {
      expectProblem(await api('PUT', `/partners/${id}/opening-hours`, acmeAdmin, { hours }), 400, 'VALIDATION_FAILED');
    }
    expect(await count('partner_opening_hours')).toBe(hoursBefore + 1);
    for (const days of [
      [{ day: '2099-02-30' }],
      [{ day: '2099-05-01' }, { day: '2099-05-01', opens: '09:00', closes: '10:00' }],
      [{ day: '2099-05-01', opens: '09:00' }],
    ]) {
      expectProblem(await api('PUT', `/partners/${id}/special-days`, acmeAdmin, { days }), 400, 'VALIDATION_FAILED');
    }
    const servicesBefore = await count('partner_services');
    for (const body of [
      { code: 'teleportation', name: 'Beam', priceKind: 'fixed', priceMinor: 1, durationMinutes: 30 },
      { code: 'brakes', name: 'Brakes', priceKind: 'fixed', durationMinutes: 30 },
      { code: 'brakes', name: 'Brakes', priceKind: 'quote', priceMinor: 100, durationMinutes: 30 },
      { code: 'brakes', name: 'Brakes', priceKind: 'fixed', priceMinor: -1, durationMinutes: 30 },
      { code: 'brakes', name: 'Brakes', priceKind: 'fixed', priceMinor: 100, durationMinutes: 0 },
    ]) {
      expectProblem(await api('POST', `/partners/${id}/services`, acmeAdmin, body), 400, 'VALIDATION_FAILED');
    }
    expect(await count('partner_services')).toBe(servicesBefore);
    expectProblem(await api('GET', '/location/nearby-services?lat=95&lon=0', owner), 400, 'VALIDATION_FAILED');
    expectProblem(
      await api('GET', '/location/nearby-services?lat=52&lon=13&radius=5000000', owner),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api('GET', '/location/nearby-services?lat=52&lon=13&service=spa', owner),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api('GET', '/location/nearby-services?lat=52&lon=13&cursor=abc', owner),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('never takes stock below zero under concurrent decrements', async () => {
    const id = await newShop(acmeAdmin);
    const part = ok(
      await api('POST', `/partners/${id}/parts`, acmeAdmin, {
        sku: 'SP-4',
        name: 'Spark plug',
        priceMinor: 900,
        stock: 5,
      }),
      201,
    );
    const path = `/partners/${id}/parts/${part.id as string}/stock`;
    const results = await Promise.all(Array.from({ length: 24 }, () => api('POST', path, acmeAdmin, { delta: -1 })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    for (const r of results.filter((x) => x.status === 409)) expectProblem(r, 409, 'STOCK_INSUFFICIENT');
    const stocks = results.filter((r) => r.status === 200).map((r) => r.body.stock as number);
    expect(stocks.sort()).toEqual([0, 1, 2, 3, 4]);
    expect(ok(await api('GET', `/partners/${id}/parts`, acmeAdmin)).parts).toMatchObject([{ stock: 0 }]);
    // Restocking and taking more than is there.
    expect(ok(await api('POST', path, acmeAdmin, { delta: 3 })).stock).toBe(3);
    expectProblem(await api('POST', path, acmeAdmin, { delta: -4 }), 409, 'STOCK_INSUFFICIENT');
    expect(ok(await api('GET', `/partners/${id}/parts`, acmeAdmin)).parts).toMatchObject([{ stock: 3 }]);
  });

  it('stores photos checked by their bytes and serves them back with their content type', async () => {
    const id = await newShop(acmeAdmin, { status: 'active' });
    const png = ok(
      await api('POST', `/partners/${id}/photos`, acmeAdmin, { data: PNG.toString('base64'), caption: 'Front' }),
      201,
    );
    expect(png).toMatchObject({ contentType: 'image/png', size: PNG.length, caption: 'Front' });
    const jpeg = ok(await api('POST', `/partners/${id}/photos`, acmeAdmin, { data: JPEG.toString('base64') }), 201);
    expect(jpeg.contentType).toBe('image/jpeg');
    const res = await fetch(`${fx.api.url}/api${png.path as string}`, {
      headers: { authorization: `Bearer ${owner.token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(PNG);

    const before = await count('partner_photos');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    expectProblem(
      await api('POST', `/partners/${id}/photos`, acmeAdmin, { data: svg.toString('base64') }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    const big = Buffer.concat([PNG, Buffer.alloc(MAX_PHOTO_BYTES)]);
    const tooBig = await api('POST', `/partners/${id}/photos`, acmeAdmin, { data: big.toString('base64') });
    expect([413]).toContain(tooBig.status);
    expectProblem(
      await api('POST', `/partners/${id}/photos`, acmeAdmin, { data: '!!!not base64' }),
      400,
      'VALIDATION_FAILED',
    );
    expect(await count('partner_photos')).toBe(before);

    expect(ok(await api('GET', `/partners/${id}/photos`, owner)).photos).toHaveLength(2);
    expect((await api('DELETE', `/partners/${id}/photos/${jpeg.id as string}`, acmeAdmin)).status).toBe(204);
    expectProblem(await api('GET', `/partners/${id}/photos/${jpeg.id as string}`, owner), 404, 'PHOTO_NOT_FOUND');
  });

  it("computes open now in each shop's time zone, special days and daylight saving included", async () => {
    const berlin = await newShop(acmeAdmin, { status: 'active', timeZone: 'Europe/Berlin', lat: 52.5, lon: 13.4 });
    const newYork = await newShop(acmeAdmin, { status: 'active', timeZone: 'America/New_York', lat: 40.7, lon: -74 });
    const weekdays = [1, 2, 3, 4, 5].map((weekday) => ({ weekday, opens: '09:00', closes: '17:00' }));
    for (const id of [berlin, newYork])
      ok(await api('PUT', `/partners/${id}/opening-hours`, acmeAdmin, { hours: weekdays }));
    ok(
      await api('PUT', `/partners/${newYork}/special-days`, acmeAdmin, {
        days: [{ day: '2026-12-07', note: 'Closed' }],
      }),
    );
    ok(
      await api('PUT', `/partners/${berlin}/special-days`, acmeAdmin, {
        days: [{ day: '2026-12-08', opens: '10:00', closes: '12:00', note: 'Short day' }],
      }),
    );
    const openAt = async (id: string, at: string): Promise<boolean> =>
      ok(await api('GET', `/partners/${id}?at=${encodeURIComponent(at)}`, owner)).openNow as boolean;
    // Monday 2026-11-30, 15:00 UTC: 16:00 in Berlin (winter, UTC+1), 10:00 in New York (UTC-5).
    expect(await openAt(berlin, '2026-11-30T15:00:00Z')).toBe(true);
    expect(await openAt(newYork, '2026-11-30T15:00:00Z')).toBe(true);
    // 17:00 UTC: 18:00 in Berlin (closed), noon in New York.
    expect(await openAt(berlin, '2026-11-30T17:00:00Z')).toBe(false);
    expect(await openAt(newYork, '2026-11-30T17:00:00Z')).toBe(true);
    // Saturday: closed everywhere.
    expect(await openAt(newYork, '2026-12-05T17:00:00Z')).toBe(false);
    // New York's holiday (Monday 7 December): closed all day, in New York's date.
    expect(await openAt(newYork, '2026-12-07T17:00:00Z')).toBe(false);
    // ...which is still Sunday 6 December 23:30 there at 04:30 UTC on the 7th: closed anyway, and the
    // holiday is not applied to Berlin's Monday.
    expect(await openAt(berlin, '2026-12-07T09:00:00Z')).toBe(true);
    // Berlin's short day (Tuesday 8 December, 10:00-12:00 instead of 09:00-17:00).
    expect(await openAt(berlin, '2026-12-08T08:30:00Z')).toBe(false); // 09:30 local
    expect(await openAt(berlin, '2026-12-08T09:30:00Z')).toBe(true); // 10:30 local
    expect(await openAt(berlin, '2026-12-08T11:00:00Z')).toBe(false); // 12:00 local: closes is exclusive
    // Summer time: Monday 2026-06-01 07:30 UTC is 09:30 in Berlin (UTC+2) and open, 03:30 in New York.
    expect(await openAt(berlin, '2026-06-01T07:30:00Z')).toBe(true);
    expect(await openAt(berlin, '2026-06-01T06:30:00Z')).toBe(false);
    expect(await openAt(newYork, '2026-06-01T13:30:00Z')).toBe(true); // 09:30 EDT (UTC-4)
    expect(await openAt(newYork, '2026-06-01T12:30:00Z')).toBe(false); // 08:30 EDT

    // Nearby search's "open now" agrees, at the same moments.
    const openNearby = async (lat: number, lon: number, at: string): Promise<string[]> =>
      (
        ok(
          await api(
            'GET',
            `/location/nearby-services?lat=${lat}&lon=${lon}&radius=1000&openNow=true&at=${encodeURIComponent(at)}`,
            owner,
          ),
        ).shops as { id: string }[]
      ).map((s) => s.id);
    expect(await openNearby(52.5, 13.4, '2026-12-08T09:30:00Z')).toEqual([berlin]);
    expect(await openNearby(52.5, 13.4, '2026-12-08T08:30:00Z')).toEqual([]);
    expect(await openNearby(40.7, -74, '2026-12-07T17:00:00Z')).toEqual([]);
    expect(await openNearby(40.7, -74, '2026-11-30T17:00:00Z')).toEqual([newYork]);
  });

  it('keeps, with availableWithinDays, only shops that have a bookable slot in time', async () => {
    const hours = [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, opens: '08:00', closes: '18:00' }));
    const shops: string[] = [];
    for (const name of ['Staffed', 'Empty', 'Closed']) {
      const id = await newShop(acmeAdmin, {
        name,
        status: 'active',
        lat: -33.9,
        lon: 18.4,
        timeZone: 'Africa/Johannesburg',
      });
      ok(await api('PUT', `/partners/${id}/opening-hours`, acmeAdmin, { hours: name === 'Closed' ? [] : hours }));
      ok(
        await api('POST', `/partners/${id}/services`, acmeAdmin, {
          code: 'battery',
          name: 'Battery swap',
          priceKind: 'fixed',
          priceMinor: 5000,
          durationMinutes: 30,
        }),
        201,
      );
      shops.push(id);
    }
    // Only the first shop has people and a bay (bookings' resources; the closed one has them too).
    for (const id of [shops[0]!, shops[2]!])
      await fx.db.query(
        `INSERT INTO shop_resources (tenant_id, partner_id, kind, name) VALUES ($1, $2, 'technician', 'Tess'), ($1, $2, 'bay', 'Bay 1')`,
        [TENANT, id],
      );
    const search = async (extra: string): Promise<string[]> =>
      (
        ok(
          await api(
            'GET',
            `/location/nearby-services?lat=-33.9&lon=18.4&radius=1000&service=battery&at=2026-12-07T06:00:00Z${extra}`,
            owner,
          ),
        ).shops as { id: string }[]
      ).map((s) => s.id);
    expect((await search('')).sort()).toEqual([...shops].sort());
    expect(await search('&availableWithinDays=3')).toEqual([shops[0]]);
  });

  it("lets platform staff create and edit any organisation's shop, audited", async () => {
    const created = ok(
      await api('POST', '/partners', staff, {
        tenantId: OTHER_TENANT,
        name: 'Globex Tyres',
        kinds: ['parts_shop', 'repair_center'],
        timeZone: 'Europe/Paris',
        currency: 'EUR',
      }),
      201,
    );
    expect(created).toMatchObject({ tenantId: OTHER_TENANT, status: 'draft', kinds: ['parts_shop', 'repair_center'] });
    ok(await api('PATCH', `/partners/${created.id as string}`, staff, { status: 'suspended' }));
    // The organisation cannot lift a suspension itself.
    expectProblem(
      await api('PATCH', `/partners/${created.id as string}`, globexAdmin, { status: 'active' }),
      403,
      'FORBIDDEN',
    );
    expectProblem(
      await api('POST', '/partners', staff, { name: 'X', kinds: ['parts_shop'], timeZone: 'UTC', currency: 'EUR' }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api('POST', '/partners', staff, {
        tenantId: 'consumers',
        name: 'X',
        kinds: ['parts_shop'],
        timeZone: 'UTC',
        currency: 'EUR',
      }),
      400,
      'VALIDATION_FAILED',
    );
    const log = await auditLog(fx.db);
    expect(log.find((e) => e.action === 'partner.created' && e.actor === `user:${staff.userId}`)).toBeDefined();
    expect(log.find((e) => e.action === 'partner.updated' && e.target === created.id)).toBeDefined();
  });
});
