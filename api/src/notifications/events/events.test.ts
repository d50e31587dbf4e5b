import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '@clutch/db';
import { testDatabaseUrl } from '@clutch/db/testing';
import { appendEvent, createJobQueue, startOutboxRelay, type JobQueue, type OutboxEvent } from '@clutch/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devKeyRing, sealBody, sealedToWire } from '../../chat/crypto.js';
import { backends } from '../../test-fixtures.js';
import { declareNotificationQueues } from '../jobs.js';
import { defineNotificationEventJobs, notifyForEvent, type NotificationEventDeps } from './job.js';
import { MAPPERS } from './mapping.js';
import { NOTIFYING_TOPICS, notificationEventJob, notificationsSink } from './sink.js';

const FLEET = 'fleet-co';
const SHOP = 'shop-co';
const OTHER = 'other-co';

interface People {
  owner: string;
  friend: string;
  stranger: string;
  fleetManager: string;
  fleetTechnician: string;
  shopAdmin: string;
  shopTechnician: string;
  disabled: string;
}

interface World extends People {
  car: string;
  van: string;
  partnerId: string;
  bookingId: string;
  repairOrderId: string;
}

const one = async (q: Queryable, sql: string, params: unknown[]): Promise<string> =>
  (await q.query<{ id: string }>(sql, params)).rows[0]!.id;

async function user(
  db: Database,
  tenantId: string,
  name: string,
  roles: string[],
  status: 'active' | 'disabled' = 'active',
): Promise<string> {
  const id = randomUUID();
  await db.query(`INSERT INTO users (id, tenant_id, email, display_name, status) VALUES ($1, $2, $3, $4, $5)`, [
    id,
    tenantId,
    `${name.toLowerCase().replace(/ /g, '.')}-${id.slice(0, 6)}@example.com`,
    name,
    status,
  ]);
  for (const role of roles)
    await db.query(
      `INSERT INTO role_grants (tenant_id, user_id, role_id, valid_from, granted_by)
       SELECT $1, $2, id, now() - interval '1 minute', 'test' FROM roles WHERE tenant_id = 'platform' AND key = $3`,
      [tenantId, id, role],
    );
  return id;
}

/** Two vehicles (an owner's car shared with a friend, a fleet's van), a shop and a booking of the car there. */
async function seedWorld(db: Database): Promise<World> {
  await db.query(
    `INSERT INTO tenants (id, name, kind) VALUES ($1, 'Fleet Co', 'partner'), ($2, 'Shop Co', 'partner'), ($3, 'Other Co', 'partner')`,
    [FLEET, SHOP, OTHER],
  );
  const people: People = {
    owner: await user(db, 'consumers', 'Olga Owner', ['owner']),
    friend: await user(db, 'consumers', 'Fritz Friend', ['owner']),
    stranger: await user(db, OTHER, 'Sam Stranger', ['partner-admin']),
    fleetManager: await user(db, FLEET, 'Fiona Fleet', ['fleet-manager']),
    fleetTechnician: await user(db, FLEET, 'Tom Tech', ['technician']),
    shopAdmin: await user(db, SHOP, 'Ada Admin', ['partner-admin']),
    shopTechnician: await user(db, SHOP, 'Tess Technician', ['technician']),
    disabled: await user(db, SHOP, 'Dora Disabled', ['partner-admin'], 'disabled'),
  };
  const car = await one(
    db,
    `INSERT INTO vehicles (tenant_id, name, owner_user_id) VALUES ('consumers', 'Olga''s Etios', $1) RETURNING id::text AS id`,
    [people.owner],
  );
  const van = await one(db, `INSERT INTO vehicles (tenant_id, name) VALUES ($1, 'Van 7') RETURNING id::text AS id`, [
    FLEET,
  ]);
  // The friend may see the car's health and codes; a shop's share (no person named) notifies nobody.
  await db.query(
    `INSERT INTO vehicle_shares (tenant_id, vehicle_id, grantee_tenant_id, grantee_user_id, permissions, valid_until, created_by)
     VALUES ('consumers', $1, 'consumers', $2, ARRAY['vehicles:read', 'telemetry:read', 'dtc:read'], now() + interval '1 day', 'test'),
            ('consumers', $1, $3, NULL, ARRAY['vehicles:read', 'telemetry:read', 'dtc:read'], now() + interval '1 day', 'test')`,
    [car, people.friend, SHOP],
  );
  const partnerId = await one(
    db,
    `INSERT INTO partners (tenant_id, name, kinds, time_zone, currency, labour_rate_minor, lat, lon, status)
     VALUES ($1, 'Garage Mitte', ARRAY['repair_center'], 'Europe/Berlin', 'EUR', 9000, 52.5, 13.4, 'active') RETURNING id::text AS id`,
    [SHOP],
  );
  const bookingId = await one(
    db,
    `INSERT INTO bookings (tenant_id, partner_id, customer_tenant_id, customer_user_id, vehicle_id, service_code, service_name,
                           status, starts_at, ends_at, currency, created_by)
     VALUES ($1, $2, 'consumers', $3, $4, 'diagnostics', 'Diagnostics', 'confirmed',
             '2026-12-10T09:00:00Z', '2026-12-10T10:00:00Z', 'EUR', 'test') RETURNING id::text AS id`,
    [SHOP, partnerId, people.owner, car],
  );
  const repairOrderId = await one(
    db,
    `INSERT INTO repair_orders (tenant_id, partner_id, booking_id, customer_tenant_id, customer_user_id, vehicle_id, status)
     VALUES ($1, $2, $3, 'consumers', $4, $5, 'requested') RETURNING id::text AS id`,
    [SHOP, partnerId, bookingId, people.owner, car],
  );
  return { ...people, car, van, partnerId, bookingId, repairOrderId };
}

interface Stored {
  user_id: string;
  template: string;
  title: string;
  body: string;
  url: string | null;
  urgent: boolean;
  category: string;
}

describe.each(backends('api_notification_events'))('domain events -> notifications on %s', (_name, open) => {
  let db: Database;
  let queue: JobQueue;
  let w: World;
  let deps: NotificationEventDeps;

  beforeAll(async () => {
    db = await open!();
    w = await seedWorld(db);
    queue = createJobQueue({ db, url: testDatabaseUrl(db), pollingIntervalSeconds: 0.5 });
    await queue.start();
    // The dispatch queue is declared, not worked: this file is about who is asked to be notified.
    await declareNotificationQueues(queue);
    deps = { db, jobs: queue };
    await defineNotificationEventJobs(queue, deps);
  });
  afterAll(async () => {
    await queue?.stop({ graceful: false, timeoutMs: 2000 });
    await db?.close();
  });

  let seq = 0;
  const event = (topic: string, tenantId: string | null, payload: unknown): OutboxEvent => ({
    id: randomUUID(),
    seq: String(++seq),
    tenantId,
    topic,
    payload,
    createdAt: new Date(),
  });

  const allIds = async (): Promise<Set<string>> =>
    new Set((await db.query<{ id: string }>('SELECT id::text FROM notifications')).rows.map((r) => r.id));
  /**
   * The notifications running the event's job stored now, read back as the platform (the job answers
   * a duplicate request with the earlier notification's id: those are not "made" again).
   */
  const notify = async (e: OutboxEvent): Promise<Stored[]> => {
    const before = await allIds();
    const ids = (await notifyForEvent(deps, notificationEventJob(e))).filter((id) => !before.has(id));
    return (
      await db.query<Stored>(
        `SELECT user_id::text, template, title, body, url, urgent, category FROM notifications
          WHERE id = ANY($1::uuid[]) ORDER BY template, user_id`,
        [ids],
      )
    ).rows;
  };
  const users = (rows: Stored[]): string[] => rows.map((r) => r.user_id).sort();

  it('maps exactly the topics the sink passes on', () => {
    expect([...NOTIFYING_TOPICS].sort()).toEqual(Object.keys(MAPPERS).sort());
  });

  it('tells a health alert to the owner and the friend the car is shared with, urgent when critical; a fleet van to its managers only', async () => {
    const alert = (vehicleId: string, severity: string) =>
      event('vehicle.alert', 'consumers', {
        vehicleId,
        alert: {
          id: randomUUID(),
          kind: 'cooling',
          severity,
          title: 'Engine overheating — stop safely',
          explanation: 'Coolant reads 112 °C.',
          signals: ['engine.coolant_temp'],
          at: new Date().toISOString(),
        },
      });
    const critical = await notify(alert(w.car, 'critical'));
    expect(users(critical)).toEqual([w.owner, w.friend].sort());
    expect(critical[0]).toMatchObject({
      category: 'health_alert',
      template: 'notify.health_alert',
      title: "Olga's Etios: Engine overheating — stop safely",
      body: 'Coolant reads 112 °C.',
      url: `/dashboard.html?vehicle=${w.car}`,
      urgent: true,
    });
    expect((await notify(alert(w.car, 'warning'))).map((r) => r.urgent)).toEqual([false, false]);
    // Fleet: the manager runs the vehicles; a technician of the fleet can read them but is not paged.
    expect(users(await notify(alert(w.van, 'warning')))).toEqual([w.fleetManager]);
  });

  it('tells only the trouble codes the previous report did not have, one notification per code', async () => {
    const t1 = '2026-12-01T08:00:00.000Z';
    const t2 = '2026-12-01T08:05:00.000Z';
    await db.query(
      `INSERT INTO dtc_reports (vehicle_id, time, tenant_id, code_count) VALUES ($1, $2, 'consumers', 1), ($1, $3, 'consumers', 2)`,
      [w.car, t1, t2],
    );
    await db.query(
      `INSERT INTO dtc_events (time, tenant_id, vehicle_id, code, kind) VALUES ($2, 'consumers', $1, 'P0301', 'stored'),
              ($3, 'consumers', $1, 'P0301', 'stored'), ($3, 'consumers', $1, 'P0420', 'pending')`,
      [w.car, t1, t2],
    );
    const report = (at: string, codes: string[]) =>
      event('vehicle.dtc', 'consumers', {
        vehicleId: w.car,
        at,
        codes: codes.map((code) => ({ code, kind: 'stored' })),
      });
    const first = await notify(report(t1, ['P0301']));
    expect(first.map((r) => [r.user_id, r.title])).toEqual(
      expect.arrayContaining([
        [w.owner, "Olga's Etios: new trouble code P0301"],
        [w.friend, "Olga's Etios: new trouble code P0301"],
      ]),
    );
    expect(first).toHaveLength(2);
    expect(first[0]!.body).toMatch(/misfire/i);
    const second = await notify(report(t2, ['P0301', 'P0420']));
    expect(second.map((r) => r.title)).toEqual([
      "Olga's Etios: new trouble code P0420",
      "Olga's Etios: new trouble code P0420",
    ]);
    // The same report again (a third report with the same codes) is no news.
    expect(await notify(report('2026-12-01T08:10:00.000Z', ['P0301', 'P0420']))).toEqual([]);
  });

  const booking = (status: string, startsAt = '2026-12-10T09:00:00.000Z') =>
    event('booking.updated', SHOP, {
      bookingId: w.bookingId,
      partnerId: w.partnerId,
      customerTenantId: 'consumers',
      customerUserId: w.owner,
      vehicleId: w.car,
      status,
      startsAt,
      endsAt: '2026-12-10T10:00:00.000Z',
      at: new Date().toISOString(),
    });

  it('tells a booking request to the staff who confirm bookings, the confirmation to the customer, once per state; a new time is a reschedule', async () => {
    const requested = await notify(booking('requested'));
    // partner-admin holds bookings:write; the technician only reads bookings; the disabled admin is out.
    expect(users(requested)).toEqual([w.shopAdmin]);
    expect(requested[0]).toMatchObject({
      template: 'notify.booking.new_request',
      title: 'New booking request',
      url: `/repair-order.html?id=${w.repairOrderId}`,
    });
    expect(requested[0]!.body).toMatch(/^Olga Owner asks for Diagnostics on .*10:00.*\(Europe\/Berlin\)\.$/);
    const confirmed = await notify(booking('confirmed'));
    expect(confirmed.map((r) => [r.user_id, r.template])).toEqual([[w.owner, 'notify.booking.confirmed']]);
    // booking.updated comes with every change (a note edited): the same state says nothing again.
    expect(await notify(booking('confirmed'))).toEqual([]);
    const moved = await notify(booking('confirmed', '2026-12-11T13:00:00.000Z'));
    expect(moved.map((r) => [r.user_id, r.template])).toEqual([[w.owner, 'notify.booking.rescheduled']]);
    expect(moved[0]!.body).toBe('Diagnostics is now on Dec 11, 2026, 2:00 PM (Europe/Berlin).'); // 13:00 UTC in Berlin
  });

  it('tells a request booked from the car as an estimate request', async () => {
    await db.query(`UPDATE bookings SET source = '{"kind": "dtc", "codes": ["P0301"]}'::jsonb WHERE id = $1`, [
      w.bookingId,
    ]);
    try {
      const asked = await notify(booking('requested', '2026-12-12T09:00:00.000Z'));
      // The shop admin was told of this booking's request before at another time: a reschedule then.
      expect(asked.map((r) => [r.user_id, r.template])).toEqual([[w.shopAdmin, 'notify.booking.rescheduled']]);
      await db.query(`DELETE FROM notifications WHERE dedupe_key LIKE $1`, [`booking:${w.bookingId}:requested:%`]);
      const first = await notify(booking('requested', '2026-12-12T10:00:00.000Z'));
      expect(first).toEqual([
        expect.objectContaining({
          user_id: w.shopAdmin,
          category: 'estimate',
          template: 'notify.estimate.requested',
          body: "Olga Owner asks for an estimate for Olga's Etios.",
        }),
      ]);
    } finally {
      await db.query(`UPDATE bookings SET source = '{"kind": "manual"}'::jsonb WHERE id = $1`, [w.bookingId]);
    }
  });

  it('tells a cancellation to the other side of the one who cancelled', async () => {
    await db.query(
      `UPDATE bookings SET status = 'cancelled', cancelled_at = now(), cancelled_by = 'customer' WHERE id = $1`,
      [w.bookingId],
    );
    expect(users(await notify(booking('cancelled')))).toEqual([w.shopAdmin]);
  });

  it('tells the customer the repair-order moves that concern them, not the ones others announce', async () => {
    const move = (from: string | null, to: string) =>
      event('repair-order.status-changed', SHOP, {
        repairOrderId: w.repairOrderId,
        bookingId: w.bookingId,
        partnerId: w.partnerId,
        customerTenantId: 'consumers',
        customerUserId: w.owner,
        vehicleId: w.car,
        from,
        to,
        at: new Date().toISOString(),
      });
    const ready = await notify(move('quality_check', 'ready_for_pickup'));
    expect(ready).toEqual([
      expect.objectContaining({
        user_id: w.owner,
        template: 'notify.booking.status',
        title: "Garage Mitte: Olga's Etios",
        body: 'Your car is ready for pickup.',
      }),
    ]);
    expect(await notify(move('requested', 'confirmed'))).toEqual([]); // booking.updated's
    expect(await notify(move('checked_in', 'estimate_sent'))).toEqual([]); // estimate.sent's
    expect(await notify(move('quality_check', 'in_progress'))).toEqual([]); // back to work: no news
    expect(users(await notify(move('approved', 'in_progress')))).toEqual([w.owner]);
  });

  it('tells an estimate to the customer and their decision to the shop staff who write estimates', async () => {
    const estimate = (topic: string, extra: object) =>
      event(topic, SHOP, {
        estimateId: randomUUID(),
        repairOrderId: w.repairOrderId,
        partnerId: w.partnerId,
        customerTenantId: 'consumers',
        customerUserId: w.owner,
        supplemental: false,
        revision: 1,
        currency: 'EUR',
        ...extra,
      });
    const ready = await notify(estimate('estimate.sent', { totalMinor: 24990, supersedes: null }));
    expect(ready).toEqual([
      expect.objectContaining({ user_id: w.owner, title: 'Your estimate from Garage Mitte is ready' }),
    ]);
    expect(ready[0]!.body).toMatch(/249\.90/);
    const decided = await notify(estimate('estimate.decided', { approvedTotalMinor: 24990, outcome: 'approved' }));
    expect(users(decided)).toEqual([w.shopAdmin, w.shopTechnician].sort());
    expect(decided[0]!.title).toBe('Estimate approved');
  });

  it('tells the payer of a capture, a refund and a failure, each once however often the payment row changes', async () => {
    const paymentId = randomUUID();
    const payment = (status: string, refundedMinor = 0) =>
      event('payment.updated', SHOP, {
        paymentId,
        purpose: 'repair',
        provider: 'stripe',
        bookingId: w.bookingId,
        repairOrderId: w.repairOrderId,
        partnerId: w.partnerId,
        customerTenantId: 'consumers',
        customerUserId: w.owner,
        status,
        amountMinor: 24990,
        capturedMinor: status === 'authorized' ? 0 : 24990,
        refundedMinor,
        currency: 'EUR',
        version: 1,
        at: new Date().toISOString(),
      });
    expect(await notify(payment('authorized'))).toEqual([]);
    const captured = await notify(payment('captured'));
    expect(captured.map((r) => [r.user_id, r.title])).toEqual([[w.owner, 'Payment received']]);
    expect(await notify(payment('captured'))).toEqual([]);
    expect((await notify(payment('partially_refunded', 1000))).map((r) => r.title)).toEqual(['Refund issued']);
    expect((await notify(payment('refunded', 24990))).map((r) => r.body)).toEqual([
      expect.stringMatching(/249\.90.*Garage Mitte/),
    ]);
  });

  it('tells every other participant of a chat message, the mentioned ones as a mention, with the opened body as preview', async () => {
    const roomId = randomUUID();
    const messageId = randomUUID();
    const sealed = sealBody(devKeyRing(), 'Your car is ready, @Olga', roomId, messageId);
    const chat = event('chat.message', SHOP, {
      roomId,
      message: {
        id: messageId,
        roomId,
        seq: 3,
        clientMessageId: randomUUID(),
        sender: { userId: w.shopTechnician, tenantId: SHOP, displayName: 'Tess Technician' },
        body: '',
        sealed: sealedToWire(sealed),
        mentions: [w.owner],
        attachments: [],
        createdAt: new Date().toISOString(),
        deletedAt: null,
      },
      participantUserIds: [w.owner, w.shopTechnician, w.shopAdmin],
      room: { kind: 'booking', title: null, bookingId: w.bookingId },
    });
    const rows = await notify(chat);
    expect(rows.map((r) => [r.user_id, r.template, r.title, r.body])).toEqual(
      expect.arrayContaining([
        [w.owner, 'notify.chat.mention', 'Tess Technician mentioned you', 'Your car is ready, @Olga'],
        [w.shopAdmin, 'notify.chat.message', 'New message from Tess Technician', 'Your car is ready, @Olga'],
      ]),
    );
    expect(rows).toHaveLength(2); // not the sender
    expect(rows[0]!.url).toBe(`/repair-order.html?id=${w.repairOrderId}#chat`);
  });

  it('notifies exactly once when the relay delivers an event twice and its job runs again', async () => {
    const sink = notificationsSink(queue);
    const alertId = randomUUID();
    // Through the real outbox: appended in a transaction, relayed to the sink.
    await db.transaction((q) =>
      appendEvent(q, {
        tenantId: 'consumers',
        topic: 'vehicle.alert',
        payload: {
          vehicleId: w.car,
          alert: {
            id: alertId,
            kind: 'battery',
            severity: 'warning',
            title: 'Battery weak',
            explanation: 'Resting voltage 11.9 V.',
            signals: [],
            at: new Date().toISOString(),
          },
        },
      }),
    );
    const delivered: OutboxEvent[] = [];
    const relay = await startOutboxRelay({
      db,
      sinks: [sink, { name: 'record', deliver: async (e) => void delivered.push(e) }],
      pollMs: 100,
    });
    try {
      await expect.poll(() => delivered.filter((e) => e.topic === 'vehicle.alert').length, { timeout: 10_000 }).toBe(1);
    } finally {
      await relay.stop();
    }
    const relayed = delivered.find((e) => e.topic === 'vehicle.alert')!;
    await sink.deliver(relayed); // the relay's at-least-once: the same event again
    const forAlert = async (): Promise<{ user_id: string }[]> =>
      (
        await db.query<{ user_id: string }>(
          `SELECT user_id::text FROM notifications WHERE dedupe_key LIKE $1 ORDER BY user_id`,
          [`${relayed.id}:%`],
        )
      ).rows;
    await expect.poll(async () => (await forAlert()).length, { timeout: 15_000 }).toBe(2);
    // The job runs again (a retry after a crash): nothing new, the same ids back.
    const again = await notifyForEvent(deps, notificationEventJob(relayed));
    expect(again).toHaveLength(2);
    expect((await forAlert()).map((r) => r.user_id)).toEqual([w.owner, w.friend].sort());
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM notifications n WHERE n.dedupe_key LIKE $1`,
      [`${relayed.id}:%`],
    );
    expect(rows[0]!.n).toBe(2);
  });

  it("works a relay round's events as one job: each is told to its audience, a payload not understood is dropped", async () => {
    const sink = notificationsSink(queue);
    const alert = (title: string): OutboxEvent =>
      event('vehicle.alert', 'consumers', {
        vehicleId: w.car,
        alert: { id: randomUUID(), kind: 'battery', severity: 'warning', title, explanation: 'x', signals: [] },
      });
    const round = [alert('Battery weak'), event('vehicle.alert', 'consumers', { vehicleId: 'nope' }), alert('Coolant')];
    await sink.deliverBatch!(round);
    const { rows: jobs } = await db.query<{ n: number }>(
      `SELECT jsonb_array_length(data->'events')::int AS n FROM pgboss.job
        WHERE name = 'notification-events' AND data->'events'->0->>'id' = $1`,
      [round[0]!.id],
    );
    expect(jobs).toEqual([{ n: 3 }]);
    const told = async (e: OutboxEvent): Promise<string[]> =>
      (
        await db.query<{ user_id: string }>(
          'SELECT user_id::text FROM notifications WHERE dedupe_key LIKE $1 ORDER BY user_id',
          [`${e.id}:%`],
        )
      ).rows.map((r) => r.user_id);
    await expect.poll(async () => (await told(round[2]!)).length, { timeout: 15_000 }).toBe(2);
    expect(await told(round[0]!)).toEqual([w.owner, w.friend].sort());
    expect(await told(round[2]!)).toEqual([w.owner, w.friend].sort());
    await expect
      .poll(
        async () =>
          (
            await db.query<{ state: string }>(
              `SELECT state::text AS state FROM pgboss.job WHERE name = 'notification-events' AND data->'events'->0->>'id' = $1`,
              [round[0]!.id],
            )
          ).rows[0]?.state,
        { timeout: 15_000 },
      )
      .toBe('completed');
  });

  it('drops an event whose payload is not what its topic announces, without failing the job', async () => {
    expect(
      await notifyForEvent(deps, notificationEventJob(event('vehicle.alert', 'consumers', { vehicleId: 'nope' }))),
    ).toEqual([]);
  });
});
