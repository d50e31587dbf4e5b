import type { Queryable } from '@clutch/db';
import { localParts, minutesOfTime, nextDay, weekdayOf, zonedDay } from './zoned-time.js';

/**
 * Bookable slots (docs/bookings.md, "Availability"). The computation is pure (`computeSlots`): the
 * shop's opening hours and special days in its own time zone, the service's duration and buffers,
 * the resources that can do it, and their busy times. The loaders below read those from the
 * database; `hasAvailability` is what nearby search's "available within N days" filter calls.
 *
 * A slot starts on the shop's grid (every `stepMinutes` from the opening of an interval, wall
 * clock) and the service itself must fit inside the interval; the buffers before and after are the
 * resources' time (preparing the bay, cleaning up) and only have to be free, not open. A slot is
 * offered when at least one technician with the service's skill, one workplace (a lift when the
 * service needs one, else a bay or a lift) and one piece of each required equipment are free for
 * the buffered time. `capacity` is how many such bookings could still be made at once (the smallest
 * of the free counts: the database's exclusion constraint remains the authority).
 */

export type ResourceKind = 'bay' | 'lift' | 'technician' | 'equipment';

export interface OpeningInterval {
  /** ISO weekday, Monday = 1. */
  weekday: number;
  /** Minutes since local midnight. */
  opens: number;
  closes: number;
}

/** A day whose hours replace its weekday's: `opens`/`closes` null = closed all day. */
export interface SpecialDay {
  day: string;
  opens: number | null;
  closes: number | null;
}

export interface ServiceNeeds {
  durationMinutes: number;
  bufferBeforeMinutes: number;
  bufferAfterMinutes: number;
  requiredSkill: string | null;
  needsLift: boolean;
  requiredEquipment: readonly string[];
}

export interface CapacityResource {
  id: string;
  kind: ResourceKind;
  skills: readonly string[];
}

export interface BusyInterval {
  resourceId: string;
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive. */
  end: number;
}

export interface ShopCalendar {
  timeZone: string;
  hours: readonly OpeningInterval[];
  specialDays: readonly SpecialDay[];
}

export interface SlotQuery {
  calendar: ShopCalendar;
  service: ServiceNeeds;
  resources: readonly CapacityResource[];
  busy: readonly BusyInterval[];
  /** First instant of interest (epoch ms); days count from its local day in the shop's zone. */
  from: number;
  days: number;
  stepMinutes: number;
  /** Now (epoch ms) and how long before a slot it can still be booked. */
  now: number;
  leadMinutes: number;
  /** Stop after this many slots (hasAvailability asks for one). */
  limit?: number;
}

export interface Slot {
  startsAt: number;
  endsAt: number;
  capacity: number;
}

/** The resource pools a service draws one of each from, in the order a booking reserves them. */
export interface Pools {
  technicians: CapacityResource[];
  workplaces: CapacityResource[];
  /** One pool per required piece of equipment (by capability). */
  equipment: { capability: string; resources: CapacityResource[] }[];
}

const byId = (a: CapacityResource, b: CapacityResource): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Who can serve: technicians with the skill, workplaces (bays first), equipment per capability; each in a fixed order. */
export function poolsFor(service: ServiceNeeds, resources: readonly CapacityResource[]): Pools {
  const technicians = resources
    .filter(
      (r) => r.kind === 'technician' && (service.requiredSkill === null || r.skills.includes(service.requiredSkill)),
    )
    .sort(byId);
  // Bays before lifts: a job that needs no lift leaves the lifts to the jobs that do.
  const workplaces = resources
    .filter((r) => (service.needsLift ? r.kind === 'lift' : r.kind === 'bay' || r.kind === 'lift'))
    .sort((a, b) => (a.kind === b.kind ? byId(a, b) : a.kind === 'bay' ? -1 : 1));
  const equipment = [...new Set(service.requiredEquipment)].map((capability) => ({
    capability,
    resources: resources.filter((r) => r.kind === 'equipment' && r.skills.includes(capability)).sort(byId),
  }));
  return { technicians, workplaces, equipment };
}

/** Busy intervals per resource, sorted by start (live reservations of one resource never overlap). */
export class BusyIndex {
  private readonly byResource = new Map<string, { starts: number[]; ends: number[] }>();

  constructor(busy: readonly BusyInterval[]) {
    const grouped = new Map<string, BusyInterval[]>();
    for (const b of busy) {
      const list = grouped.get(b.resourceId);
      if (list) list.push(b);
      else grouped.set(b.resourceId, [b]);
    }
    for (const [id, list] of grouped) {
      list.sort((a, b) => a.start - b.start);
      // Ends as a running maximum, so the binary search below holds even if intervals nest.
      const ends: number[] = [];
      let max = -Infinity;
      for (const b of list) ends.push((max = Math.max(max, b.end)));
      this.byResource.set(id, { starts: list.map((b) => b.start), ends });
    }
  }

  /**
   * Adds one to `free[i]` for every window [starts[i], ends[i]) the resource is free in. The windows
   * come in time order, so one pointer walks the busy list once (no search per window).
   */
  countFree(resourceId: string, starts: readonly number[], ends: readonly number[], free: Int32Array): void {
    const r = this.byResource.get(resourceId);
    if (!r) {
      for (let i = 0; i < starts.length; i++) free[i]!++;
      return;
    }
    let lo = 0;
    for (let i = 0; i < starts.length; i++) {
      const end = ends[i]!;
      while (lo < r.starts.length && r.starts[lo]! < end) lo++;
      if (lo === 0 || r.ends[lo - 1]! <= starts[i]!) free[i]!++;
    }
  }

  /** True when the resource has nothing overlapping [start, end). */
  isFree(resourceId: string, start: number, end: number): boolean {
    const r = this.byResource.get(resourceId);
    if (!r) return true;
    // The last interval starting before `end`: it overlaps if it (or one before it) ends after `start`.
    let lo = 0;
    let hi = r.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (r.starts[mid]! < end) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 || r.ends[lo - 1]! <= start;
  }
}

/** The open intervals of one local day, in minutes since midnight. */
export function openingIntervalsOn(calendar: ShopCalendar, day: string): { opens: number; closes: number }[] {
  const special = calendar.specialDays.filter((s) => s.day === day);
  if (special.length > 0)
    return special
      .filter((s): s is SpecialDay & { opens: number; closes: number } => s.opens !== null && s.closes !== null)
      .map((s) => ({ opens: s.opens, closes: s.closes }))
      .sort((a, b) => a.opens - b.opens);
  const weekday = weekdayOf(day);
  return calendar.hours
    .filter((h) => h.weekday === weekday)
    .map((h) => ({ opens: h.opens, closes: h.closes }))
    .sort((a, b) => a.opens - b.opens);
}

/**
 * A local day's clock (zonedDay), remembered: a day's offsets never change (short of a new tz
 * database, which needs a restart), and Intl's formatToParts behind zonedDay was most of a slot
 * computation's time (three calls a day, every request). Bounded; forgotten all at once when full.
 */
const dayClocks = new Map<string, ReturnType<typeof zonedDay>>();
const MAX_DAY_CLOCKS = 20_000;
function dayClock(day: string, zone: string): ReturnType<typeof zonedDay> {
  const key = `${zone} ${day}`;
  let clock = dayClocks.get(key);
  if (!clock) {
    if (dayClocks.size >= MAX_DAY_CLOCKS) dayClocks.clear();
    clock = zonedDay(day, zone);
    dayClocks.set(key, clock);
  }
  return clock;
}

/**
 * Every slot start on the shop's grid in [from, from + days local days) with the service inside
 * opening hours and not earlier than now + lead, whether or not anything is free then.
 */
export function* gridStarts(
  q: Pick<SlotQuery, 'calendar' | 'service' | 'from' | 'days' | 'stepMinutes' | 'now' | 'leadMinutes'>,
): Generator<{ startsAt: number; endsAt: number }> {
  const zone = q.calendar.timeZone;
  const earliest = Math.max(q.from, q.now + q.leadMinutes * 60_000);
  const duration = q.service.durationMinutes;
  let day = localParts(q.from, zone).day;
  for (let i = 0; i < q.days; i++, day = nextDay(day)) {
    const clock = dayClock(day, zone);
    for (const interval of openingIntervalsOn(q.calendar, day)) {
      for (let m = interval.opens; m + duration <= interval.closes; m += q.stepMinutes) {
        const startsAt = clock.at(m);
        if (startsAt < earliest) continue;
        // A wall time the clocks skip (spring forward) is no slot: it would repeat the next one.
        if (!clock.exists(m)) continue;
        yield { startsAt, endsAt: startsAt + duration * 60_000 };
      }
    }
  }
}

/** The bookable slots (capacity > 0), in time order. */
export function computeSlots(q: SlotQuery): Slot[] {
  const pools = poolsFor(q.service, q.resources);
  if (pools.technicians.length === 0 || pools.workplaces.length === 0) return [];
  if (pools.equipment.some((e) => e.resources.length === 0)) return [];
  const busy = new BusyIndex(q.busy);
  const before = q.service.bufferBeforeMinutes * 60_000;
  const after = q.service.bufferAfterMinutes * 60_000;
  const grid = [...gridStarts(q)].sort((x, y) => x.startsAt - y.startsAt);
  const windowStarts = grid.map((g) => g.startsAt - before);
  const windowEnds = grid.map((g) => g.endsAt + after);
  // Per pool, how many of its resources are free in each slot's window (one sweep per resource);
  // a slot's capacity is the smallest of its pools'.
  const capacity = new Int32Array(grid.length).fill(2 ** 30);
  for (const pool of [pools.technicians, pools.workplaces, ...pools.equipment.map((e) => e.resources)]) {
    const free = new Int32Array(grid.length);
    for (const r of pool) busy.countFree(r.id, windowStarts, windowEnds, free);
    for (let i = 0; i < grid.length; i++) if (free[i]! < capacity[i]!) capacity[i] = free[i]!;
  }
  const slots: Slot[] = [];
  for (let i = 0; i < grid.length; i++) {
    if (capacity[i] === 0) continue;
    slots.push({ startsAt: grid[i]!.startsAt, endsAt: grid[i]!.endsAt, capacity: capacity[i]! });
    if (q.limit !== undefined && slots.length >= q.limit) break;
  }
  return slots;
}

/** True when `startsAt` is on the shop's grid with the service inside opening hours (not in the past). */
export function isGridStart(
  q: Pick<SlotQuery, 'calendar' | 'service' | 'stepMinutes' | 'now' | 'leadMinutes'>,
  startsAt: number,
): boolean {
  // The local day of the start, from a little before it (a slot never starts before its day).
  for (const s of gridStarts({ ...q, from: startsAt, days: 1 })) {
    if (s.startsAt === startsAt) return true;
    if (s.startsAt > startsAt) return false;
  }
  return false;
}

/**
 * For one booking: each pool's resources free for [start, end) by the busy snapshot, in the order to
 * try them (by id: every attempt takes resources in one global order, so concurrent attempts wait on
 * each other without deadlocking). Undefined when some pool has none free.
 */
export function freeCandidates(
  pools: Pools,
  busy: BusyIndex,
  start: number,
  end: number,
): { pool: string; resources: CapacityResource[] }[] | undefined {
  const lists = [
    { pool: 'technician', resources: pools.technicians },
    { pool: 'workplace', resources: pools.workplaces },
    ...pools.equipment.map((e) => ({ pool: `equipment:${e.capability}`, resources: e.resources })),
  ].map((p) => ({ pool: p.pool, resources: p.resources.filter((r) => busy.isFree(r.id, start, end)) }));
  return lists.some((l) => l.resources.length === 0) ? undefined : lists;
}

// ---------------------------------------------------------------------------------------------
// Loading from the database (any caller: listed shops' hours and services are public listing data;
// resources and busy times come through the SECURITY DEFINER functions of migration 026, which show
// neither names nor customers).

export interface ShopRow {
  id: string;
  tenantId: string;
  timeZone: string;
  currency: string;
  status: string;
}

export interface BookingRules {
  slotStepMinutes: number;
  minLeadMinutes: number;
  holdMinutes: number;
  freeCancellationHours: number;
  cancellationFeeMinor: number;
  rescheduleNoticeHours: number;
  noShowGraceMinutes: number;
  noShowFeeMinor: number;
}

export const DEFAULT_BOOKING_RULES: BookingRules = {
  slotStepMinutes: 15,
  minLeadMinutes: 60,
  holdMinutes: 5,
  freeCancellationHours: 24,
  cancellationFeeMinor: 0,
  rescheduleNoticeHours: 12,
  noShowGraceMinutes: 30,
  noShowFeeMinor: 0,
};

export interface ServiceRow extends ServiceNeeds {
  id: string;
  partnerId: string;
  code: string;
  name: string;
  priceKind: string;
  priceMinor: number | null;
  currency: string;
  active: boolean;
}

/** The shop as the caller may see it (a listed shop, or one of the caller's own organisation). */
export async function loadShop(q: Queryable, partnerId: string): Promise<ShopRow | undefined> {
  const { rows } = await q.query<ShopRow>(
    `SELECT id, tenant_id AS "tenantId", time_zone AS "timeZone", currency, status FROM partners WHERE id = $1`,
    [partnerId],
  );
  return rows[0];
}

export async function loadRules(q: Queryable, partnerId: string): Promise<BookingRules> {
  const { rows } = await q.query<BookingRules>(
    `SELECT slot_step_minutes AS "slotStepMinutes", min_lead_minutes AS "minLeadMinutes", hold_minutes AS "holdMinutes",
            free_cancellation_hours AS "freeCancellationHours", cancellation_fee_minor AS "cancellationFeeMinor",
            reschedule_notice_hours AS "rescheduleNoticeHours", no_show_grace_minutes AS "noShowGraceMinutes",
            no_show_fee_minor AS "noShowFeeMinor"
       FROM shop_booking_rules WHERE partner_id = $1`,
    [partnerId],
  );
  return rows[0] ?? DEFAULT_BOOKING_RULES;
}

const SERVICE_COLUMNS = `id, partner_id AS "partnerId", code, name, price_kind AS "priceKind", price_minor AS "priceMinor",
  currency, active, duration_minutes AS "durationMinutes", buffer_before_minutes AS "bufferBeforeMinutes",
  buffer_after_minutes AS "bufferAfterMinutes", required_skill AS "requiredSkill", needs_lift AS "needsLift",
  required_equipment AS "requiredEquipment"`;

export async function loadService(q: Queryable, partnerId: string, serviceId: string): Promise<ServiceRow | undefined> {
  const { rows } = await q.query<ServiceRow>(
    `SELECT ${SERVICE_COLUMNS} FROM partner_services WHERE partner_id = $1 AND id = $2`,
    [partnerId, serviceId],
  );
  return rows[0];
}

export async function loadActiveServices(q: Queryable, partnerId: string, code?: string): Promise<ServiceRow[]> {
  const { rows } = await q.query<ServiceRow>(
    `SELECT ${SERVICE_COLUMNS} FROM partner_services
      WHERE partner_id = $1 AND active AND ($2::text IS NULL OR code = $2) ORDER BY duration_minutes, id`,
    [partnerId, code ?? null],
  );
  return rows;
}

/** Opening hours, and the special days from `fromDay` for `days` days (YYYY-MM-DD, local). */
export async function loadCalendar(
  q: Queryable,
  shop: Pick<ShopRow, 'id' | 'timeZone'>,
  fromDay: string,
  days: number,
): Promise<ShopCalendar> {
  // One after the other: a transaction is one connection.
  const hours = await q.query<{ weekday: number; opens: string; closes: string }>(
    `SELECT weekday, opens::text AS opens, closes::text AS closes FROM partner_opening_hours WHERE partner_id = $1`,
    [shop.id],
  );
  const special = await q.query<{ day: string; opens: string | null; closes: string | null }>(
    `SELECT day::text AS day, opens::text AS opens, closes::text AS closes FROM partner_holidays
      WHERE partner_id = $1 AND day >= $2::date AND day < $2::date + $3::int`,
    [shop.id, fromDay, days + 1],
  );
  return {
    timeZone: shop.timeZone,
    hours: hours.rows.map((h) => ({
      weekday: Number(h.weekday),
      opens: minutesOfTime(h.opens),
      closes: minutesOfTime(h.closes),
    })),
    specialDays: special.rows.map((s) => ({
      day: s.day,
      opens: s.opens === null ? null : minutesOfTime(s.opens),
      closes: s.closes === null ? null : minutesOfTime(s.closes),
    })),
  };
}

export async function loadCapacity(q: Queryable, partnerId: string): Promise<CapacityResource[]> {
  const { rows } = await q.query<CapacityResource>(`SELECT id, kind, skills FROM shop_capacity($1)`, [partnerId]);
  return rows;
}

/**
 * Live reservations of the shop overlapping [from, to) (expired holds excluded), of the given
 * resources only when `resourceIds` is given. One row of text, split here: a few thousand
 * reservations cost the database one aggregate instead of a row each through the driver (on PGlite
 * that is most of an availability request).
 */
export async function loadBusy(
  q: Queryable,
  partnerId: string,
  from: number,
  to: number,
  resourceIds?: readonly string[],
): Promise<BusyInterval[]> {
  const { rows } = await q.query<{ busy: string | null }>(
    `SELECT string_agg(resource_id::text || ' ' || (extract(epoch FROM lower(during)) * 1000)::bigint
                       || ' ' || (extract(epoch FROM upper(during)) * 1000)::bigint, ',') AS busy
       FROM shop_busy($1, $2, $3, $4::uuid[])`,
    [partnerId, new Date(from), new Date(to), resourceIds ? [...resourceIds] : null],
  );
  const text = rows[0]?.busy;
  if (!text) return [];
  return text.split(',').map((entry) => {
    const [resourceId, start, end] = entry.split(' ') as [string, string, string];
    return { resourceId, start: Number(start), end: Number(end) };
  });
}

export interface AvailabilityRequest {
  partnerId: string;
  service: ServiceRow;
  shop: ShopRow;
  rules: BookingRules;
  from: number;
  days: number;
  now: number;
  limit?: number;
}

/**
 * Everything a slot computation reads, in one statement: the weekly hours, the special days of the
 * period, the shop's active resources and the busy times of those the service can use (live
 * reservations overlapping [from, to)). One statement instead of four matters on PGlite, where each
 * statement crosses into the WASM database and back; aggregated into text, the busy times cost the
 * driver one value instead of a row each.
 */
export async function loadSlotInputs(
  q: Queryable,
  shop: Pick<ShopRow, 'id' | 'timeZone'>,
  service: ServiceNeeds,
  fromDay: string,
  days: number,
  from: number,
  to: number,
): Promise<{ calendar: ShopCalendar; resources: CapacityResource[]; busy: BusyInterval[] }> {
  const { rows } = await q.query<{
    hours: { weekday: number; opens: string; closes: string }[] | null;
    special: { day: string; opens: string | null; closes: string | null }[] | null;
    resources: CapacityResource[] | null;
    busy: string | null;
  }>(
    `WITH capacity AS MATERIALIZED (SELECT id, kind, skills FROM shop_capacity($1))
     SELECT (SELECT json_agg(json_build_object('weekday', weekday, 'opens', opens::text, 'closes', closes::text))
               FROM partner_opening_hours WHERE partner_id = $1) AS hours,
            (SELECT json_agg(json_build_object('day', day::text, 'opens', opens::text, 'closes', closes::text))
               FROM partner_holidays WHERE partner_id = $1 AND day >= $2::date AND day < $2::date + $3::int) AS special,
            (SELECT json_agg(json_build_object('id', id, 'kind', kind, 'skills', skills)) FROM capacity) AS resources,
            (SELECT string_agg(b.resource_id::text || ' ' || (extract(epoch FROM lower(b.during)) * 1000)::bigint
                               || ' ' || (extract(epoch FROM upper(b.during)) * 1000)::bigint, ',')
               FROM shop_busy($1, $4, $5, ARRAY(
                      SELECT c.id FROM capacity c
                       WHERE (c.kind = 'technician' AND ($6::text IS NULL OR $6::text = ANY (c.skills)))
                          OR c.kind = 'lift' OR (c.kind = 'bay' AND NOT $7::boolean)
                          OR (c.kind = 'equipment' AND c.skills && $8::text[]))) AS b) AS busy`,
    [
      shop.id,
      fromDay,
      days + 1,
      new Date(from),
      new Date(to),
      service.requiredSkill,
      service.needsLift,
      [...service.requiredEquipment],
    ],
  );
  const row = rows[0];
  const busyText = row?.busy;
  return {
    calendar: {
      timeZone: shop.timeZone,
      hours: (row?.hours ?? []).map((h) => ({
        weekday: Number(h.weekday),
        opens: minutesOfTime(h.opens),
        closes: minutesOfTime(h.closes),
      })),
      specialDays: (row?.special ?? []).map((d) => ({
        day: d.day,
        opens: d.opens === null ? null : minutesOfTime(d.opens),
        closes: d.closes === null ? null : minutesOfTime(d.closes),
      })),
    },
    resources: row?.resources ?? [],
    busy: busyText
      ? busyText.split(',').map((entry) => {
          const [resourceId, start, end] = entry.split(' ') as [string, string, string];
          return { resourceId, start: Number(start), end: Number(end) };
        })
      : [],
  };
}

/** Slots of one service, loaded (one statement) and computed in the caller's transaction. */
export async function availableSlots(q: Queryable, r: AvailabilityRequest): Promise<Slot[]> {
  const fromDay = localParts(r.from, r.shop.timeZone).day;
  const margin = (r.service.bufferBeforeMinutes + r.service.bufferAfterMinutes + 24 * 60) * 60_000;
  const { calendar, resources, busy } = await loadSlotInputs(
    q,
    r.shop,
    r.service,
    fromDay,
    r.days,
    r.from - margin,
    r.from + (r.days + 1) * 86_400_000 + margin,
  );
  return computeSlots({
    calendar,
    service: r.service,
    resources,
    busy,
    from: r.from,
    days: r.days,
    stepMinutes: r.rules.slotStepMinutes,
    now: r.now,
    leadMinutes: r.rules.minLeadMinutes,
    ...(r.limit !== undefined ? { limit: r.limit } : {}),
  });
}

/**
 * Whether the shop has a bookable slot within `withinDays` days from `now`: for the service of that
 * catalogue code, or for any of its active services when `serviceCode` is undefined. For nearby
 * search's "available within N days" filter; runs in the caller's transaction.
 */
export async function hasAvailability(
  q: Queryable,
  partnerId: string,
  serviceCode: string | undefined,
  withinDays: number,
  now: Date | number,
): Promise<boolean> {
  const at = typeof now === 'number' ? now : now.getTime();
  const shop = await loadShop(q, partnerId);
  if (!shop) return false;
  const services = await loadActiveServices(q, partnerId, serviceCode);
  if (services.length === 0) return false;
  const rules = await loadRules(q, partnerId);
  for (const service of services) {
    const slots = await availableSlots(q, {
      partnerId,
      service,
      shop,
      rules,
      from: at,
      days: withinDays,
      now: at,
      limit: 1,
    });
    if (slots.length > 0) return true;
  }
  return false;
}
