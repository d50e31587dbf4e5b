import { randomUUID } from 'node:crypto';
import { enterUserScope } from '@clutch/db';
import { generateSigningKeys } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transitionRepairOrder, TRANSITIONS, type RepairOrderStatus } from '../repair-orders/lifecycle.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import {
  auditLog,
  backends,
  call,
  expectProblem,
  OTHER_TENANT,
  outboxPayloads,
  startFixture,
  TENANT,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';

const ADMIN = 'admin-token-for-repair-work-tests-0123456789';
const PARTS_TENANT = 'partsco';
const ACME_SHOP = 'a0000000-0000-4000-8000-0000000000a1';
const GLOBEX_SHOP = 'a0000000-0000-4000-8000-0000000000b1';
const PARTS_SHOP = 'a0000000-0000-4000-8000-0000000000c1';
const ALICE_CAR = 'a11ce0ca-0000-4000-8000-0000000000aa';
const OIL_FILTER = 'b0000000-0000-4000-8000-0000000000f1'; // acme's own catalogue
const BRAKE_PADS = 'b0000000-0000-4000-8000-0000000000c1'; // the parts shop's, stock 5
const SPARK_PLUG = 'b0000000-0000-4000-8000-0000000000c2'; // the parts shop's, stock 3

/** The smallest valid PNG header and a JPEG start: what the sniffer checks. */
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]);

describe.each(backends('api_repair_work'))(
  'check-in, estimates, parts orders, warranty and reviews on %s',
  (_n, open) => {
    const keys = generateSigningKeys();
    let fx: Fixture;
    let alice: TestUser; // the car owner
    let aliceMfa: TestUser; // the same owner on a session that just passed MFA
    let bob: TestUser; // another owner
    let tina: TestUser; // technician of acme (the repair center)
    let acmeAdmin: TestUser;
    let gil: TestUser; // technician of globex, another repair center
    let globexAdmin: TestUser;
    let pat: TestUser; // parts clerk of partsco (the parts shop)

    const api = (method: string, path: string, as: TestUser | string, body?: unknown): Promise<Reply> =>
      call(fx.api.url, method, `/api${path}`, {
        token: typeof as === 'string' ? as : as.token,
        ...(method === 'GET' ? {} : { body: body ?? {} }),
      });
    const ok = (res: Reply, status = 200): Record<string, unknown> => {
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      return res.body;
    };
    const orderStatus = async (id: string): Promise<string> =>
      (await fx.db.query<{ status: string }>('SELECT status FROM repair_orders WHERE id = $1', [id])).rows[0]!.status;

    /** Moves an order along the lifecycle as the database allows (test set-up, not the routes under test). */
    const advance = async (id: string, ...path: RepairOrderStatus[]): Promise<void> => {
      for (const to of path)
        await fx.db.transaction(async (q) => {
          const from = (
            await q.query<{ status: RepairOrderStatus }>('SELECT status FROM repair_orders WHERE id = $1', [id])
          ).rows[0]!.status;
          const tr = TRANSITIONS.find((t) => t.from === from && t.to === to);
          if (!tr) throw new Error(`test set-up: no move ${from} -> ${to}`);
          await transitionRepairOrder(q, { repairOrderId: id, to, actor: 'test', side: tr.sides[0]! });
        });
    };

    /** A confirmed booking of Alice's car at acme, with its repair order; returns both ids. */
    const newOrder = async (
      customer: TestUser = alice,
      vehicle: string | null = ALICE_CAR,
    ): Promise<{ bookingId: string; orderId: string }> => {
      const bookingId = randomUUID();
      const orderId = randomUUID();
      const start = new Date(Date.now() + 86_400_000);
      await fx.db.query(
        `INSERT INTO bookings (id, tenant_id, partner_id, customer_tenant_id, customer_user_id, vehicle_id, service_code,
                             service_name, status, starts_at, ends_at, currency, created_by)
       VALUES ($1, $2, $3, 'consumers', $4, $5, 'brakes', 'Brakes', 'confirmed', $6, $7, 'EUR', 'test')`,
        [bookingId, TENANT, ACME_SHOP, customer.userId, vehicle, start, new Date(start.getTime() + 3600_000)],
      );
      await fx.db.query(
        `INSERT INTO repair_orders (id, tenant_id, partner_id, booking_id, customer_tenant_id, customer_user_id, vehicle_id, status)
       VALUES ($1, $2, $3, $4, 'consumers', $5, $6, 'requested')`,
        [orderId, TENANT, ACME_SHOP, bookingId, customer.userId, vehicle],
      );
      await advance(orderId, 'confirmed');
      return { bookingId, orderId };
    };

    const checkIn = (orderId: string, odometerKm: number, extra: Record<string, unknown> = {}) =>
      api('POST', `/repair-orders/${orderId}/check-in`, tina, { odometerKm, ...extra });

    /** Labour 1.5 h at the shop's rate (80.00), 2 oil filters from acme's catalogue (12.34), a 2.50 fee; 19 % tax. */
    const STANDARD_LINES = [
      { kind: 'labour', description: 'Replace front brake pads', quantity: 1.5, taxRateBp: 1900 },
      { kind: 'part', partId: OIL_FILTER, quantity: 2, taxRateBp: 1900 },
      { kind: 'fee', description: 'Disposal', quantity: 1, unitPriceMinor: 250, taxRateBp: 1900 },
    ];

    const sentEstimate = async (orderId: string, lines: unknown[] = STANDARD_LINES) => {
      const draft = ok(await api('POST', '/estimates', tina, { repairOrderId: orderId, lines }), 201);
      return ok(await api('POST', `/estimates/${draft.id as string}/send`, tina));
    };

    const decideAll = (estimate: Record<string, unknown>, decision: 'approved' | 'declined', as: TestUser = alice) =>
      api('POST', `/estimates/${estimate.id as string}/decision`, as, {
        lines: (estimate.lines as { id: string }[]).map((l) => ({ lineId: l.id, decision })),
      });

    beforeAll(async () => {
      fx = await startFixture({
        requireAuth: true,
        adminToken: ADMIN,
        identity: { signingKeys: keys },
        ...(open ? { open } : {}),
      });
      await fx.db.query(
        `INSERT INTO tenants (id, name, kind) VALUES ($1, 'Parts & Co', 'partner') ON CONFLICT DO NOTHING`,
        [PARTS_TENANT],
      );
      await fx.db.query(
        `INSERT INTO partners (id, tenant_id, name, kinds, time_zone, currency, labour_rate_minor, lat, lon, status) VALUES
         ($1, $2, 'Acme Garage', ARRAY['repair_center'], 'Europe/Berlin', 'EUR', 8000, 52.5, 13.4, 'active'),
         ($3, $4, 'Globex Motors', ARRAY['repair_center'], 'Europe/Berlin', 'EUR', 9000, 52.6, 13.5, 'active'),
         ($5, $6, 'Parts & Co', ARRAY['parts_shop'], 'Europe/Berlin', 'EUR', NULL, 52.4, 13.3, 'active')`,
        [ACME_SHOP, TENANT, GLOBEX_SHOP, OTHER_TENANT, PARTS_SHOP, PARTS_TENANT],
      );
      await fx.db.query(
        `INSERT INTO partner_parts (id, tenant_id, partner_id, sku, name, brand, price_minor, currency, stock) VALUES
         ($1, $2, $3, 'OF-1', 'Oil filter', 'Mann', 1234, 'EUR', 10),
         ($4, $5, $6, 'BP-9', 'Brake pads', 'Brembo', 4500, 'EUR', 5),
         ($7, $5, $6, 'SP-3', 'Spark plug', 'NGK', 900, 'EUR', 3)`,
        [OIL_FILTER, TENANT, ACME_SHOP, BRAKE_PADS, PARTS_TENANT, PARTS_SHOP, SPARK_PLUG],
      );
      alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice Owner' });
      aliceMfa = await signedInUser(fx.db, keys, { tenantId: 'consumers', userId: alice.userId, mfa: true });
      bob = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bob' });
      tina = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['technician'], name: 'Tina' });
      acmeAdmin = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['partner-admin'], name: 'Ada' });
      gil = await signedInUser(fx.db, keys, { tenantId: OTHER_TENANT, roles: ['technician'], name: 'Gil' });
      globexAdmin = await signedInUser(fx.db, keys, { tenantId: OTHER_TENANT, roles: ['partner-admin'], name: 'Gus' });
      pat = await signedInUser(fx.db, keys, { tenantId: PARTS_TENANT, roles: ['parts-clerk'], name: 'Pat' });
      await fx.db.query(
        `INSERT INTO vehicles (id, tenant_id, name, make, owner_user_id) VALUES ($1, 'consumers', 'Alice hatchback', 'Fiat', $2)`,
        [ALICE_CAR, alice.userId],
      );
      // What the car reports right now: a stored misfire code.
      await fx.db.query(
        `INSERT INTO dtc_events (time, tenant_id, vehicle_id, code, kind, ecu) VALUES (now() - interval '10 minutes', 'consumers', $1, 'P0301', 'stored', '7E8')`,
        [ALICE_CAR],
      );
    });
    afterAll(async () => {
      await fx?.close();
    });

    it('checks a car in with odometer, photos and a snapshot of its trouble codes read through an audited scope', async () => {
      const { orderId } = await newOrder();
      const res = await checkIn(orderId, 42_000, {
        notes: 'Scratch on the left door',
        photos: [{ data: PNG.toString('base64') }],
      });
      const body = ok(res, 201);
      expect(body).toMatchObject({
        repairOrderId: orderId,
        vehicleId: ALICE_CAR,
        odometerKm: 42_000,
        checkedInBy: `user:${tina.userId}`,
      });
      const snapshot = body.snapshot as { health: { activeDtcs: { code: string }[] } | null; takenAt: string };
      expect(snapshot.health?.activeDtcs.map((d) => d.code)).toEqual(['P0301']);
      expect(await orderStatus(orderId)).toBe('checked_in');
      // The owner's tenant was read in a system scope, recorded with the order as its reason.
      expect((await auditLog(fx.db)).find((a) => a.action === 'repair-order.check-in-snapshot')).toMatchObject({
        actor: `user:${tina.userId}`,
        target: ALICE_CAR,
      });
      // The customer reads it and its photo; another owner and another shop learn nothing.
      const seen = ok(await api('GET', `/repair-orders/${orderId}/check-in`, alice));
      expect(seen.snapshot).toEqual(body.snapshot);
      const photo = (seen.photos as { url: string; contentType: string }[])[0]!;
      expect(photo.contentType).toBe('image/png');
      const bytes = await fetch(fx.api.url + photo.url, { headers: { authorization: `Bearer ${alice.token}` } });
      expect(bytes.status).toBe(200);
      expect(bytes.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await bytes.arrayBuffer()).equals(PNG)).toBe(true);
      expectProblem(await api('GET', `/repair-orders/${orderId}/check-in`, bob), 404, 'REPAIR_ORDER_NOT_FOUND');
      expectProblem(await api('GET', `/repair-orders/${orderId}/check-in`, gil), 404, 'REPAIR_ORDER_NOT_FOUND');
      expectProblem(await checkIn(orderId, 42_001), 409, 'INVALID_TRANSITION');
      // Only the shop checks in: the owner holds no repairs-orders:write at all.
      expectProblem(
        await api('POST', `/repair-orders/${orderId}/check-in`, alice, { odometerKm: 1 }),
        403,
        'FORBIDDEN',
      );
    });

    it('refuses an odometer below the last known one and a photo that is not an image, storing nothing', async () => {
      const { orderId } = await newOrder();
      const lower = await checkIn(orderId, 41_000);
      expectProblem(lower, 422, 'ODOMETER_INVALID');
      expect(lower.body.lastKnownKm).toBe(42_000);
      const notImage = Buffer.from('<svg onload="alert(1)"></svg>').toString('base64');
      expectProblem(await checkIn(orderId, 43_000, { photos: [{ data: notImage }] }), 422, 'PHOTO_INVALID');
      expectProblem(await checkIn(orderId, 43_000, { photos: [{ data: 'not base64!' }] }), 422, 'PHOTO_INVALID');
      expectProblem(await checkIn(orderId, -5), 400, 'VALIDATION_FAILED');
      expect(await orderStatus(orderId)).toBe('confirmed');
      expect(ok(await checkIn(orderId, 43_000), 201).odometerKm).toBe(43_000);
    });

    it('prices estimates per line, hides drafts from the customer, freezes what was sent and revises it', async () => {
      const { orderId } = await newOrder();
      ok(await checkIn(orderId, 44_000), 201);
      expectProblem(
        await api('POST', '/estimates', tina, {
          repairOrderId: orderId,
          lines: [{ kind: 'labour', quantity: 1.0005, taxRateBp: 0 }],
        }),
        422,
        'ESTIMATE_INVALID',
      );
      const draft = ok(await api('POST', '/estimates', tina, { repairOrderId: orderId, lines: STANDARD_LINES }), 201);
      // 1.5 h × 80.00 = 120.00 + 22.80; 2 × 12.34 = 24.68 + 4.69 (4.6892); 2.50 + 0.48 (0.475 half up).
      expect((draft.lines as Record<string, unknown>[]).map((l) => [l.netMinor, l.taxMinor, l.totalMinor])).toEqual([
        [12_000, 2_280, 14_280],
        [2_468, 469, 2_937],
        [250, 48, 298],
      ]);
      expect(draft).toMatchObject({
        status: 'draft',
        currency: 'EUR',
        netMinor: 14_718,
        taxMinor: 2_797,
        totalMinor: 17_515,
        supplemental: false,
      });
      expect((draft.lines as Record<string, unknown>[])[1]).toMatchObject({
        sku: 'OF-1',
        description: 'Oil filter',
        unitPriceMinor: 1234,
      });
      expect(ok(await api('GET', `/estimates?repairOrderId=${orderId}`, alice)).estimates).toEqual([]);
      expectProblem(await api('GET', `/estimates/${draft.id as string}`, alice), 404, 'ESTIMATE_NOT_FOUND');
      expectProblem(
        await api('POST', '/estimates', gil, { repairOrderId: orderId, lines: STANDARD_LINES }),
        404,
        'REPAIR_ORDER_NOT_FOUND',
      );

      const sent = ok(await api('POST', `/estimates/${draft.id as string}/send`, tina));
      expect(sent.status).toBe('sent');
      expect(await orderStatus(orderId)).toBe('estimate_sent');
      expect(await outboxPayloads(fx.db, 'estimate.sent')).toContainEqual(
        expect.objectContaining({ estimateId: draft.id, totalMinor: 17_515 }),
      );
      expectProblem(
        await api('PUT', `/estimates/${draft.id as string}`, tina, { lines: STANDARD_LINES }),
        409,
        'ESTIMATE_STATE_CONFLICT',
      );
      // The database holds it too, whoever writes.
      await expect(
        fx.db.query(`UPDATE estimate_lines SET unit_price_minor = 1 WHERE estimate_id = $1`, [draft.id]),
      ).rejects.toThrow(/cannot change/);
      await expect(
        fx.db.query(`UPDATE estimates SET total_minor = 1, net_minor = 1, tax_minor = 0 WHERE id = $1`, [draft.id]),
      ).rejects.toThrow(/cannot change/);

      const revision = ok(await api('POST', `/estimates/${draft.id as string}/revise`, tina), 201);
      expect(revision).toMatchObject({ status: 'draft', revision: 2, revisesId: draft.id, totalMinor: 17_515 });
      ok(await api('PUT', `/estimates/${revision.id as string}`, tina, { lines: STANDARD_LINES.slice(0, 2) }));
      const resent = ok(await api('POST', `/estimates/${revision.id as string}/send`, tina));
      expect(resent).toMatchObject({ status: 'sent', totalMinor: 17_217 });
      const listed = ok(await api('GET', `/estimates?repairOrderId=${orderId}`, alice)).estimates as Record<
        string,
        unknown
      >[];
      expect(listed.map((e) => [e.revision, e.status])).toEqual([
        [1, 'superseded'],
        [2, 'sent'],
      ]);
      expect(await orderStatus(orderId)).toBe('estimate_sent');
    });

    it('takes a decision on every line; above 500.00 approved only after a recent second factor, audited', async () => {
      const { orderId } = await newOrder();
      ok(await checkIn(orderId, 45_000), 201);
      const big = await sentEstimate(orderId, [
        { kind: 'labour', description: 'Gearbox', quantity: 8, taxRateBp: 1900 },
      ]);
      const lineId = (big.lines as { id: string }[])[0]!.id;
      // Every line, once, of this estimate.
      expectProblem(
        await api('POST', `/estimates/${big.id as string}/decision`, alice, {
          lines: [{ lineId: randomUUID(), decision: 'approved' }],
        }),
        422,
        'DECISION_INVALID',
      );
      expectProblem(
        await api('POST', `/estimates/${big.id as string}/decision`, alice, {
          lines: [
            { lineId, decision: 'approved' },
            { lineId, decision: 'declined' },
          ],
        }),
        422,
        'DECISION_INVALID',
      );
      // Another owner learns nothing; the shop's technician may read but not approve.
      expectProblem(await decideAll(big, 'approved', bob), 404, 'ESTIMATE_NOT_FOUND');
      expectProblem(await decideAll(big, 'approved', tina), 403, 'FORBIDDEN');
      // 761.60 approved: step-up.
      const stepUp = await decideAll(big, 'approved');
      expectProblem(stepUp, 403, 'MFA_STEP_UP_REQUIRED');
      expect(await orderStatus(orderId)).toBe('estimate_sent');
      const decided = ok(await decideAll(big, 'approved', aliceMfa));
      expect(decided).toMatchObject({ status: 'decided', approvedTotalMinor: 76_160 });
      expect(await orderStatus(orderId)).toBe('approved');
      expect((await auditLog(fx.db)).find((a) => a.action === 'estimate.decided' && a.target === big.id)).toMatchObject(
        {
          actor: `user:${alice.userId}`,
          tenant_id: TENANT,
        },
      );
      expectProblem(await decideAll(big, 'declined', aliceMfa), 409, 'ESTIMATE_STATE_CONFLICT');
      expect(await outboxPayloads(fx.db, 'estimate.decided')).toContainEqual(
        expect.objectContaining({ estimateId: big.id, outcome: 'approved' }),
      );

      // Below the threshold no second factor is asked; nothing approved: the order is declined.
      const other = await newOrder();
      ok(await checkIn(other.orderId, 45_100), 201);
      const small = await sentEstimate(other.orderId);
      ok(await decideAll(small, 'declined'));
      expect(await orderStatus(other.orderId)).toBe('declined');
      expect((await auditLog(fx.db)).some((a) => a.action === 'estimate.decided' && a.target === small.id)).toBe(false);
    });

    it('round-trips a supplemental estimate found mid-repair back to the work', async () => {
      const { orderId } = await newOrder();
      ok(await checkIn(orderId, 46_000), 201);
      const first = await sentEstimate(orderId);
      ok(await decideAll(first, 'approved'));
      await advance(orderId, 'in_progress');
      const extra = ok(
        await api('POST', '/estimates', tina, {
          repairOrderId: orderId,
          supplemental: true,
          lines: [{ kind: 'labour', description: 'Worn brake disc found', quantity: 0.5, taxRateBp: 1900 }],
        }),
        201,
      );
      expect(extra.supplemental).toBe(true);
      // A first estimate is not what the order needs now.
      expectProblem(
        await api('POST', '/estimates', tina, { repairOrderId: orderId, supplemental: false, lines: STANDARD_LINES }),
        422,
        'ESTIMATE_INVALID',
      );
      ok(await api('POST', `/estimates/${extra.id as string}/send`, tina));
      expect(await orderStatus(orderId)).toBe('estimate_sent');
      ok(await decideAll(ok(await api('GET', `/estimates/${extra.id as string}`, alice)), 'approved'));
      // The customer decided, the work goes on (through approved, as the timeline shows).
      const { rows } = await fx.db.query<{ to_status: string }>(
        'SELECT to_status FROM repair_order_events WHERE repair_order_id = $1 ORDER BY id',
        [orderId],
      );
      expect(rows.map((r) => r.to_status)).toEqual([
        'confirmed',
        'checked_in',
        'estimate_sent',
        'approved',
        'in_progress',
        'estimate_sent',
        'approved',
        'in_progress',
      ]);
      expect(await orderStatus(orderId)).toBe('in_progress');
      const { rows: last } = await fx.db.query<{ side: string; actor: string }>(
        'SELECT side, actor FROM repair_order_events WHERE repair_order_id = $1 ORDER BY id DESC LIMIT 1',
        [orderId],
      );
      expect(last[0]).toEqual({ side: 'system', actor: 'system' });
      // Declined extra work: the work approved before goes on all the same.
      const more = ok(
        await api('POST', '/estimates', tina, {
          repairOrderId: orderId,
          lines: [{ kind: 'fee', description: 'Detailing', quantity: 1, unitPriceMinor: 5000, taxRateBp: 1900 }],
        }),
        201,
      );
      expect(more.supplemental).toBe(true);
      ok(await decideAll(ok(await api('POST', `/estimates/${more.id as string}/send`, tina)), 'declined'));
      expect(await orderStatus(orderId)).toBe('in_progress');
    });

    it('orders parts: waiting for parts, stock taken on acceptance under a race, the last delivery resumes the work', async () => {
      const { orderId } = await newOrder();
      ok(await checkIn(orderId, 47_000), 201);
      ok(await decideAll(await sentEstimate(orderId), 'approved'));
      await advance(orderId, 'in_progress');
      const place = (partId: string, quantity: number) =>
        api('POST', '/parts-orders', tina, {
          supplierPartnerId: PARTS_SHOP,
          repairOrderId: orderId,
          lines: [{ partId, quantity }],
        });
      const first = ok(await place(BRAKE_PADS, 4), 201);
      expect(first).toMatchObject({
        status: 'ordered',
        partnerId: ACME_SHOP,
        supplierPartnerId: PARTS_SHOP,
        totalMinor: 18_000,
        currency: 'EUR',
      });
      expect(await orderStatus(orderId)).toBe('waiting_parts');
      const second = ok(await place(BRAKE_PADS, 4), 201);
      expectProblem(await place(OIL_FILTER, 1), 404, 'PART_NOT_FOUND');
      // Both acceptances at once against 5 in stock: one takes 4, the other is refused, nothing below zero.
      const accepts = await Promise.all(
        [first, second].map((o) => api('POST', `/parts-orders/${o.id as string}/accept`, pat)),
      );
      expect(accepts.map((r) => r.status).sort()).toEqual([200, 409]);
      expectProblem(
        accepts.find((r) => r.status === 409)!,
        409,
        'STOCK_INSUFFICIENT',
      );
      const stock = async (id: string) =>
        (await fx.db.query<{ stock: number }>('SELECT stock FROM partner_parts WHERE id = $1', [id])).rows[0]!.stock;
      expect(await stock(BRAKE_PADS)).toBe(1);
      const accepted = accepts[0]!.status === 200 ? first : second;
      const refused = accepted === first ? second : first;
      // Sides: the repair center cannot accept or ship, the parts shop cannot deliver; strangers see nothing.
      expectProblem(
        await api('POST', `/parts-orders/${refused.id as string}/accept`, tina),
        409,
        'PARTS_ORDER_STATE_CONFLICT',
      );
      expectProblem(await api('GET', `/parts-orders/${accepted.id as string}`, gil), 404, 'PARTS_ORDER_NOT_FOUND');
      expectProblem(await api('GET', `/parts-orders/${accepted.id as string}`, alice), 403, 'FORBIDDEN');
      ok(await api('POST', `/parts-orders/${accepted.id as string}/ship`, pat, { tracking: 'DHL 123' }));
      expectProblem(
        await api('POST', `/parts-orders/${accepted.id as string}/deliver`, pat),
        409,
        'PARTS_ORDER_STATE_CONFLICT',
      );
      ok(await api('POST', `/parts-orders/${accepted.id as string}/deliver`, tina));
      // Another parts order is still open: still waiting; cancelling it resumes the work.
      expect(await orderStatus(orderId)).toBe('waiting_parts');
      ok(await api('POST', `/parts-orders/${refused.id as string}/cancel`, tina, { reason: 'found elsewhere' }));
      expect(await orderStatus(orderId)).toBe('in_progress');
      const listed = ok(await api('GET', `/parts-orders?repairOrderId=${orderId}`, pat)).partsOrders as {
        status: string;
      }[];
      expect(listed.map((o) => o.status).sort()).toEqual(['cancelled', 'delivered']);
      expect(
        (await outboxPayloads(fx.db, 'parts-order.updated'))
          .filter((p) => p.partsOrderId === accepted.id)
          .map((p) => p.status),
      ).toEqual(['ordered', 'accepted', 'shipped', 'delivered']);
    });

    it('accepts exactly the stock when many parts orders are accepted at once', async () => {
      const orders = [];
      for (let i = 0; i < 8; i++)
        orders.push(
          ok(
            await api('POST', '/parts-orders', tina, {
              supplierPartnerId: PARTS_SHOP,
              partnerId: ACME_SHOP,
              lines: [{ partId: SPARK_PLUG, quantity: 1 }],
            }),
            201,
          ),
        );
      const results = await Promise.all(orders.map((o) => api('POST', `/parts-orders/${o.id as string}/accept`, pat)));
      expect(results.filter((r) => r.status === 200)).toHaveLength(3);
      expect(results.filter((r) => r.status === 409).every((r) => r.body.code === 'STOCK_INSUFFICIENT')).toBe(true);
      expect(
        (await fx.db.query<{ stock: number }>('SELECT stock FROM partner_parts WHERE id = $1', [SPARK_PLUG])).rows[0]!
          .stock,
      ).toBe(0);
      // A supplier's cancellation of an accepted order puts its stock back.
      const acceptedOne = orders[results.findIndex((r) => r.status === 200)]!;
      ok(await api('POST', `/parts-orders/${acceptedOne.id as string}/cancel`, pat));
      expect(
        (await fx.db.query<{ stock: number }>('SELECT stock FROM partner_parts WHERE id = $1', [SPARK_PLUG])).rows[0]!
          .stock,
      ).toBe(1);
    });

    it('grants warranty on delivery, and takes one review per delivered booking from its customer only', async () => {
      const { orderId, bookingId } = await newOrder();
      ok(await checkIn(orderId, 48_000), 201);
      const estimate = await sentEstimate(orderId);
      const lines = estimate.lines as { id: string; kind: string }[];
      ok(
        await api('POST', `/estimates/${estimate.id as string}/decision`, alice, {
          lines: lines.map((l, i) => ({ lineId: l.id, decision: i === 1 ? 'declined' : 'approved' })),
        }),
      );
      await advance(orderId, 'in_progress', 'quality_check', 'ready_for_pickup');
      expectProblem(await api('POST', '/reviews', alice, { bookingId, rating: 5 }), 409, 'REVIEW_NOT_ALLOWED');
      expect(ok(await api('GET', `/repair-orders/${orderId}/warranty`, alice)).warranties).toEqual([]);
      await advance(orderId, 'delivered');

      // The approved labour line has a warranty (the declined part none, the fee is no work).
      const warranties = ok(await api('GET', `/repair-orders/${orderId}/warranty`, alice)).warranties as Record<
        string,
        unknown
      >[];
      expect(warranties).toEqual([
        expect.objectContaining({
          estimateLineId: lines[0]!.id,
          kind: 'labour',
          odometerStartKm: 48_000,
          odometerEndKm: 68_000,
          active: true,
        }),
      ]);
      const months =
        (Date.parse(warranties[0]!.endsAt as string) - Date.parse(warranties[0]!.startsAt as string)) / 86_400_000;
      expect(months).toBeGreaterThanOrEqual(365);
      expect(months).toBeLessThanOrEqual(366);
      expectProblem(await api('GET', `/repair-orders/${orderId}/warranty`, gil), 404, 'REPAIR_ORDER_NOT_FOUND');

      expectProblem(await api('POST', '/reviews', bob, { bookingId, rating: 1 }), 404, 'BOOKING_NOT_FOUND');
      expectProblem(await api('POST', '/reviews', tina, { bookingId, rating: 5 }), 403, 'FORBIDDEN');
      expectProblem(await api('POST', '/reviews', alice, { bookingId, rating: 6 }), 400, 'VALIDATION_FAILED');
      const review = ok(await api('POST', '/reviews', alice, { bookingId, rating: 4, text: 'Quick and fair' }), 201);
      expect(review).toMatchObject({ rating: 4, authorName: 'Alice', answer: null, partnerId: ACME_SHOP });
      expectProblem(await api('POST', '/reviews', alice, { bookingId, rating: 5 }), 409, 'REVIEW_EXISTS');

      expectProblem(
        await api('POST', `/reviews/${review.id as string}/answer`, globexAdmin, { text: 'Come to us instead' }),
        403,
        'FORBIDDEN',
      );
      expectProblem(
        await api('POST', `/reviews/${review.id as string}/answer`, tina, { text: 'Thanks' }),
        403,
        'FORBIDDEN',
      );
      expect(
        ok(await api('POST', `/reviews/${review.id as string}/answer`, acmeAdmin, { text: 'Thank you!' })),
      ).toMatchObject({ answer: 'Thank you!' });
      expectProblem(
        await api('POST', `/reviews/${review.id as string}/answer`, acmeAdmin, { text: 'Again' }),
        409,
        'REVIEW_ANSWERED',
      );

      const listing = ok(await api('GET', `/partners/${ACME_SHOP}/reviews`, bob));
      expect(listing).toMatchObject({ ratingAvg: 4, ratingCount: 1, next: null });
      expect(listing.reviews).toEqual([
        expect.objectContaining({ id: review.id, text: 'Quick and fair', answer: 'Thank you!' }),
      ]);
    });

    it("keeps the shop's rating exact under concurrent reviews", async () => {
      const before = ok(await api('GET', `/partners/${ACME_SHOP}/reviews`, bob));
      const bookings: string[] = [];
      for (let i = 0; i < 6; i++) {
        const { orderId, bookingId } = await newOrder(alice, null);
        await advance(
          orderId,
          'checked_in',
          'estimate_sent',
          'approved',
          'in_progress',
          'quality_check',
          'ready_for_pickup',
          'delivered',
        );
        bookings.push(bookingId);
      }
      const ratings = [5, 5, 3, 2, 5, 1];
      const posted = await Promise.all(
        bookings.map((bookingId, i) => api('POST', '/reviews', alice, { bookingId, rating: ratings[i] })),
      );
      expect(posted.map((r) => r.status)).toEqual(ratings.map(() => 201));
      const after = ok(await api('GET', `/partners/${ACME_SHOP}/reviews?limit=3`, bob));
      const count = (before.ratingCount as number) + ratings.length;
      expect(after.ratingCount).toBe(count);
      const sum = (before.ratingAvg as number) * (before.ratingCount as number) + ratings.reduce((a, b) => a + b, 0);
      expect(after.ratingAvg).toBeCloseTo(Math.round((sum / count) * 100) / 100, 2);
      expect(after.reviews).toHaveLength(3);
      const rest = ok(await api('GET', `/partners/${ACME_SHOP}/reviews?limit=50&cursor=${after.next as string}`, bob));
      expect((rest.reviews as unknown[]).length + 3).toBe(count);
      // Platform staff may answer for a shop: in an audited scope, since their tenant reaches no shop's rows.
      const staff = await signedInUser(fx.db, keys, { tenantId: 'platform', roles: ['platform-admin'], name: 'Pia' });
      const target = (posted[0]!.body.id as string) ?? '';
      expect(ok(await api('POST', `/reviews/${target}/answer`, staff, { text: 'We looked into it' })).answer).toBe(
        'We looked into it',
      );
      expect((await auditLog(fx.db)).find((a) => a.action === 'review.answer' && a.target === target)).toMatchObject({
        actor: `user:${staff.userId}`,
      });
    });

    it('row-level security alone keeps each party to its own rows, whatever the service asks', async () => {
      const tables = [
        'check_ins',
        'check_in_photos',
        'estimates',
        'estimate_lines',
        'warranties',
        'parts_orders',
        'parts_order_lines',
      ];
      const counts = (tenant: string, user?: string) =>
        fx.db.withTenant(tenant, async (q) => {
          if (user) await enterUserScope(q, user);
          const out: Record<string, number> = {};
          for (const t of tables)
            out[t] = Number((await q.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n);
          return out;
        });
      const shop = await counts(TENANT);
      const owner = await counts('consumers', alice.userId);
      const stranger = await counts(OTHER_TENANT);
      const otherOwner = await counts('consumers', bob.userId);
      const supplier = await counts(PARTS_TENANT);
      for (const t of ['check_ins', 'check_in_photos', 'estimates', 'estimate_lines', 'warranties']) {
        expect(shop[t], t).toBeGreaterThan(0);
        expect(owner[t], t).toBeGreaterThan(0);
        expect(stranger[t], t).toBe(0);
        expect(otherOwner[t], t).toBe(0);
        expect(supplier[t], t).toBe(0);
      }
      // The customer never sees drafts; the parts shop sees the orders it supplies, the customer none.
      expect(owner.estimates).toBeLessThanOrEqual(shop.estimates!);
      expect(supplier.parts_orders).toBe(shop.parts_orders);
      expect(supplier.parts_order_lines).toBe(shop.parts_order_lines);
      expect(owner.parts_orders).toBe(0);
      expect(stranger.parts_orders).toBe(0);
      // Nor can a customer write a shop's row in its name: another's is invisible, its own sent one frozen.
      await fx.db.withTenant('consumers', async (q) => {
        await enterUserScope(q, bob.userId);
        await q.query(`UPDATE estimates SET notes = 'mine' WHERE status = 'sent'`);
      });
      await expect(
        fx.db.withTenant('consumers', async (q) => {
          await enterUserScope(q, alice.userId);
          await q.query(`UPDATE estimates SET notes = 'mine' WHERE status = 'sent'`);
        }),
      ).rejects.toThrow(/row-level security|cannot change/);
      const changed = await fx.db.query<{ n: string }>(`SELECT count(*) AS n FROM estimates WHERE notes = 'mine'`);
      expect(Number(changed.rows[0]!.n)).toBe(0);
    });
  },
);
