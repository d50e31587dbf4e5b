// Slot computation (issue 15: p95 under 50 ms): one shop with 20 workplaces (16 bays, 4 lifts), 30
// technicians with skills and 3 pieces of equipment, open Monday to Saturday, over 4 weeks already
// about two thirds booked (reservations laid out by a seeded PRNG the way a busy shop fills up:
// jobs of 30 minutes to 3 hours, each with a technician of its skill and a workplace, buffers
// between them). Measured: what GET /api/partners/:id/availability does for `days=28` (load hours,
// special days, resources and busy times through the SECURITY DEFINER functions, then compute), as a
// signed-in car owner (row-level security on), for a seeded mix of services and start days.
//
// The reference, in the same run on the same data: a naive availability that asks the database
// once per grid slot how many qualified technicians and workplaces are free then (the obvious SQL
// way). The ratio is the reference's p95 / ours. `BENCH_DB=pglite|postgres` for one engine;
// `BENCH_SLOT_QUERIES` to change the number of measured requests.
import { loadavg } from 'node:os';
import {
  availableSlots,
  computeSlots,
  DEFAULT_BOOKING_RULES,
  loadBusy,
  loadCalendar,
  loadCapacity,
  loadService,
  loadShop,
  seededRandom,
  type ServiceNeeds,
} from '@clutch/api';
import { enterUserScope, migrate, openPglite, openPostgres, type Database, type Queryable } from '@clutch/db';
import { createTestDatabase, startPostgresServer } from '@clutch/test-support';
import { fmt, percentile } from '../common/stats.js';

const QUERIES = Number(process.env.BENCH_SLOT_QUERIES ?? 200);
const REFERENCE_QUERIES = Math.max(5, Math.round(QUERIES / 20));
const TARGET_P95_MS = 50;
const DAYS = 28;
const TENANT = 'bench-slots-shop';
const PARTNER = '5107b0c0-0000-4000-8000-000000000001';
const OWNER = '5107b0c0-0000-4000-8000-0000000000aa';
/** A Monday, 00:00 in Berlin. */
const START = Date.parse('2027-02-28T23:00:00Z');
const SKILLS = ['oil_change', 'brakes', 'tyres', 'diagnostics', 'air_conditioning', 'electrical'] as const;
const SERVICES = [
  {
    code: 'oil_change',
    minutes: 45,
    skill: 'oil_change',
    lift: false,
    equipment: [] as string[],
    before: 0,
    after: 15,
  },
  { code: 'brakes', minutes: 120, skill: 'brakes', lift: true, equipment: [], before: 15, after: 15 },
  { code: 'tyres', minutes: 60, skill: 'tyres', lift: false, equipment: ['tyre_machine'], before: 0, after: 10 },
  { code: 'diagnostics', minutes: 60, skill: 'diagnostics', lift: false, equipment: [], before: 0, after: 0 },
  {
    code: 'air_conditioning',
    minutes: 90,
    skill: 'air_conditioning',
    lift: false,
    equipment: ['ac_station'],
    before: 0,
    after: 15,
  },
] as const;

const localDay = (ms: number): string => new Date(ms + 3600_000).toISOString().slice(0, 10);
const uuid = (n: number, prefix: string): string => `${prefix}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

interface Resource {
  id: string;
  kind: 'bay' | 'lift' | 'technician' | 'equipment';
  skills: string[];
  busy: [number, number][];
}

/** The shop, its services, and four weeks of bookings, written as the platform. */
export async function seed(db: Database): Promise<{ services: string[]; reservations: number }> {
  const random = seededRandom(150_2027);
  await db.query(`INSERT INTO tenants (id, name) VALUES ($1, $1)`, [TENANT]);
  await db.query(
    `INSERT INTO users (id, tenant_id, email, display_name, status) VALUES ($1, 'consumers', 'o@example.com', 'O', 'active')`,
    [OWNER],
  );
  await db.query(
    `INSERT INTO partners (id, tenant_id, name, kinds, time_zone, currency, lat, lon, status)
     VALUES ($1, $2, 'Bench garage', ARRAY['repair_center'], 'Europe/Berlin', 'EUR', 52.5, 13.4, 'active')`,
    [PARTNER, TENANT],
  );
  for (let weekday = 1; weekday <= 6; weekday++)
    await db.query(
      `INSERT INTO partner_opening_hours (tenant_id, partner_id, weekday, opens, closes) VALUES ($1, $2, $3, $4, $5)`,
      [TENANT, PARTNER, weekday, '07:00', weekday === 6 ? '13:00' : '19:00'],
    );
  // A holiday in the middle of the period.
  await db.query(`INSERT INTO partner_holidays (tenant_id, partner_id, day) VALUES ($1, $2, '2027-03-15')`, [
    TENANT,
    PARTNER,
  ]);
  const services: string[] = [];
  for (const [i, s] of SERVICES.entries()) {
    const id = uuid(i + 1, '5e7c0000');
    services.push(id);
    await db.query(
      `INSERT INTO partner_services (id, tenant_id, partner_id, code, name, price_kind, price_minor, currency, duration_minutes,
         required_skill, buffer_before_minutes, buffer_after_minutes, needs_lift, required_equipment)
       VALUES ($1, $2, $3, $4, $4, 'fixed', 9900, 'EUR', $5, $6, $7, $8, $9, $10)`,
      [id, TENANT, PARTNER, s.code, s.minutes, s.skill, s.before, s.after, s.lift, [...s.equipment]],
    );
  }
  const resources: Resource[] = [];
  for (let i = 0; i < 20; i++)
    resources.push({ id: uuid(i + 1, '5e5b0000'), kind: i < 16 ? 'bay' : 'lift', skills: [], busy: [] });
  for (let i = 0; i < 30; i++) {
    const skills = SKILLS.filter(() => random() < 0.45);
    resources.push({
      id: uuid(i + 1, '5e5c0000'),
      kind: 'technician',
      skills: skills.length ? skills : ['oil_change'],
      busy: [],
    });
  }
  resources.push({ id: uuid(1, '5e5d0000'), kind: 'equipment', skills: ['ac_station'], busy: [] });
  resources.push({ id: uuid(2, '5e5d0000'), kind: 'equipment', skills: ['tyre_machine'], busy: [] });
  resources.push({ id: uuid(3, '5e5d0000'), kind: 'equipment', skills: ['tyre_machine'], busy: [] });
  for (const r of resources)
    await db.query(
      `INSERT INTO shop_resources (id, tenant_id, partner_id, kind, name, skills) VALUES ($1, $2, $3, $4, $6, $5)`,
      [r.id, TENANT, PARTNER, r.kind, r.skills, `${r.kind} ${r.id.slice(-4)}`],
    );

  // Fill each working day: attempts every 15 minutes, a job where its people and places are free.
  const free = (r: Resource, s: number, e: number): boolean => r.busy.every(([a, b]) => b <= s || a >= e);
  const rows: unknown[][] = [];
  const bookings: unknown[][] = [];
  for (let day = 0; day < DAYS; day++) {
    const dayStart = START + day * 86_400_000;
    const weekday = (day % 7) + 1;
    if (weekday === 7 || day === 14) continue;
    const closes = weekday === 6 ? 13 : 19;
    for (let m = 7 * 60; m < closes * 60; m += 15) {
      for (let k = 0; k < 3; k++) {
        if (random() > 0.55) continue;
        const s = SERVICES[Math.floor(random() * SERVICES.length)]!;
        const start = dayStart + m * 60_000;
        const end = start + s.minutes * 60_000;
        if (end > dayStart + closes * 3600_000) continue;
        const bs = start - s.before * 60_000;
        const be = end + s.after * 60_000;
        const tech = resources.find((r) => r.kind === 'technician' && r.skills.includes(s.skill) && free(r, bs, be));
        const place = resources.find(
          (r) => (s.lift ? r.kind === 'lift' : r.kind === 'bay' || r.kind === 'lift') && free(r, bs, be),
        );
        const tools = s.equipment.map((cap) =>
          resources.find((r) => r.kind === 'equipment' && r.skills.includes(cap) && free(r, bs, be)),
        );
        if (!tech || !place || tools.some((t) => !t)) continue;
        const bookingId = uuid(bookings.length + 1, 'b00c0000');
        bookings.push([bookingId, new Date(start), new Date(end), s.code]);
        for (const r of [tech, place, ...(tools as Resource[])]) {
          r.busy.push([bs, be]);
          rows.push([bookingId, r.id, r.kind, new Date(bs), new Date(be)]);
        }
      }
    }
  }
  await db.transaction(async (q) => {
    for (let i = 0; i < bookings.length; i += 500) {
      const chunk = bookings.slice(i, i + 500);
      await q.query(
        `INSERT INTO bookings (id, tenant_id, partner_id, customer_tenant_id, service_code, service_name, status, starts_at, ends_at, currency, created_by)
         SELECT b.id, $1, $2, 'consumers', b.code, b.code, 'confirmed', b.s, b.e, 'EUR', 'bench'
           FROM unnest($3::uuid[], $4::timestamptz[], $5::timestamptz[], $6::text[]) AS b (id, s, e, code)`,
        [
          TENANT,
          PARTNER,
          chunk.map((b) => b[0]),
          chunk.map((b) => b[1]),
          chunk.map((b) => b[2]),
          chunk.map((b) => b[3]),
        ],
      );
    }
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000);
      await q.query(
        `INSERT INTO booking_reservations (tenant_id, booking_id, partner_id, resource_id, resource_kind, customer_tenant_id, during)
         SELECT $1, r.b, $2, r.res, r.kind, 'consumers', tstzrange(r.s, r.e, '[)')
           FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::timestamptz[], $7::timestamptz[]) AS r (b, res, kind, s, e)`,
        [TENANT, PARTNER, ...[0, 1, 2, 3, 4].map((c) => chunk.map((r) => r[c]))],
      );
    }
  });
  await db.query('ANALYZE');
  return { services, reservations: rows.length };
}

/** As a signed-in car owner: the consumer tenant, the user named to row-level security. */
function asOwner<T>(db: Database, fn: (q: Queryable) => Promise<T>): Promise<T> {
  return db.withTenant('consumers', async (q) => {
    await enterUserScope(q, OWNER);
    return fn(q);
  });
}

/** The naive way: one query per grid slot for how many qualified technicians and workplaces are free. */
async function naiveSlots(q: Queryable, serviceId: string, from: number): Promise<number> {
  const s = SERVICES.find((x) => uuid(SERVICES.indexOf(x) + 1, '5e7c0000') === serviceId)!;
  let offered = 0;
  for (let day = 0; day < DAYS; day++) {
    const dayStart = from + day * 86_400_000;
    for (let m = 7 * 60; m + s.minutes <= 19 * 60; m += DEFAULT_BOOKING_RULES.slotStepMinutes) {
      const start = dayStart + m * 60_000;
      const { rows } = await q.query<{ techs: number; places: number }>(
        `SELECT count(*) FILTER (WHERE c.kind = 'technician' AND $4 = ANY (c.skills))::int AS techs,
                count(*) FILTER (WHERE c.kind IN ('bay', 'lift'))::int AS places
           FROM shop_capacity($1) c
          WHERE NOT EXISTS (SELECT 1 FROM shop_busy($1, $2, $3) b WHERE b.resource_id = c.id)`,
        [PARTNER, new Date(start - s.before * 60_000), new Date(start + (s.minutes + s.after) * 60_000), s.skill],
      );
      if (rows[0]!.techs > 0 && rows[0]!.places > 0) offered++;
    }
  }
  return offered;
}

async function benchEngine(name: string, db: Database): Promise<void> {
  await migrate(db);
  const seedStart = performance.now();
  const { services, reservations } = await seed(db);
  console.log(
    `  ${name}: seeded ${fmt(reservations)} reservations in ${fmt((performance.now() - seedStart) / 1000, 1)} s`,
  );
  const random = seededRandom(77);
  const requests = Array.from({ length: QUERIES }, () => ({
    serviceId: services[Math.floor(random() * services.length)]!,
    from: START + Math.floor(random() * 7) * 86_400_000,
  }));
  const now = START - 86_400_000;
  const run = async (r: { serviceId: string; from: number }): Promise<number> =>
    asOwner(db, async (q) => {
      const shop = (await loadShop(q, PARTNER))!;
      const service = (await loadService(q, PARTNER, r.serviceId))!;
      const slots = await availableSlots(q, {
        partnerId: PARTNER,
        service,
        shop,
        rules: DEFAULT_BOOKING_RULES,
        from: r.from,
        days: DAYS,
        now,
      });
      return slots.length;
    });
  for (const r of requests.slice(0, 10)) await run(r); // warm-up
  const times: number[] = [];
  let slotsSeen = 0;
  for (const r of requests) {
    const t = performance.now();
    slotsSeen += await run(r);
    times.push(performance.now() - t);
  }
  // The computation alone, on data loaded once (what the algorithm costs without the database).
  const inputs = await asOwner(db, async (q) => {
    const shop = (await loadShop(q, PARTNER))!;
    const calendar = await loadCalendar(q, shop, localDay(START), DAYS + 7);
    const resources = await loadCapacity(q, PARTNER);
    const busy = await loadBusy(q, PARTNER, START - 86_400_000, START + (DAYS + 8) * 86_400_000);
    const byId = new Map<string, ServiceNeeds>();
    for (const id of services) byId.set(id, (await loadService(q, PARTNER, id))!);
    return { calendar, resources, busy, byId };
  });
  const computeTimes: number[] = [];
  for (const r of requests) {
    const t = performance.now();
    computeSlots({
      calendar: inputs.calendar,
      service: inputs.byId.get(r.serviceId)!,
      resources: inputs.resources,
      busy: inputs.busy,
      from: r.from,
      days: DAYS,
      stepMinutes: DEFAULT_BOOKING_RULES.slotStepMinutes,
      now,
      leadMinutes: DEFAULT_BOOKING_RULES.minLeadMinutes,
    });
    computeTimes.push(performance.now() - t);
  }
  const refTimes: number[] = [];
  for (const r of requests.slice(0, REFERENCE_QUERIES)) {
    const t = performance.now();
    await asOwner(db, (q) => naiveSlots(q, r.serviceId, r.from));
    refTimes.push(performance.now() - t);
  }
  const p95 = percentile(times, 95);
  const refP95 = percentile(refTimes, 95);
  console.log(
    `  ${name}: availability over ${DAYS} days, ${fmt(QUERIES)} requests: p50 ${fmt(percentile(times, 50), 1)} ms, ` +
      `p95 ${fmt(p95, 1)} ms (target < ${TARGET_P95_MS} ms: ${p95 < TARGET_P95_MS ? 'met' : 'NOT met'}), ` +
      `${fmt(slotsSeen / QUERIES)} slots per answer`,
  );
  console.log(
    `  ${name}: the computation alone (data loaded once): p50 ${fmt(percentile(computeTimes, 50), 2)} ms, p95 ${fmt(percentile(computeTimes, 95), 2)} ms`,
  );
  console.log(
    `  ${name}: reference (one query per grid slot), ${fmt(REFERENCE_QUERIES)} requests: p95 ${fmt(refP95, 1)} ms; ratio ${fmt(refP95 / p95, 1)}x`,
  );
}

export async function run(): Promise<void> {
  const only = process.env.BENCH_DB;
  console.log(`marketplace/slots: 20 workplaces, 30 technicians, 3 equipment, ${DAYS} days, about two thirds booked`);
  console.log(
    `  machine load average at start: ${loadavg()
      .map((l) => fmt(l, 1))
      .join(' / ')} (1 / 5 / 15 min)`,
  );
  if (only === undefined || only === 'pglite') {
    const db = await openPglite();
    try {
      await benchEngine('PGlite', db);
    } finally {
      await db.close();
    }
  }
  if (only === undefined || only === 'postgres') {
    const server = await startPostgresServer();
    try {
      const db = await openPostgres(await createTestDatabase(server.adminUrl, 'bench_slots'));
      try {
        await benchEngine('PostgreSQL', db);
      } finally {
        await db.close();
      }
    } finally {
      await server.stop();
    }
  }
}

/** The name the bookings brief gave it. */
export const runSlotsBench = run;
