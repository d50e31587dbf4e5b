// Test helper (only imported by tests): a listed shop with opening hours, services, resources and
// booking rules, written as the platform, so booking tests start from a known calendar.
import { randomUUID } from 'node:crypto';
import type { Database } from '@clutch/db';

export interface TestShop {
  tenantId: string;
  partnerId: string;
  /** Service ids by code. */
  services: Record<string, string>;
  /** Resource ids by name. */
  resources: Record<string, string>;
}

export interface TestShopOptions {
  tenantId: string;
  timeZone?: string;
  /** ISO weekday -> [opens, closes] ('08:00'); default every day 00:00-23:45. */
  hours?: Record<number, [string, string][]>;
  services?: {
    code: string;
    durationMinutes: number;
    requiredSkill?: string | null;
    bufferBefore?: number;
    bufferAfter?: number;
    needsLift?: boolean;
    equipment?: string[];
    priceMinor?: number;
  }[];
  resources?: { name: string; kind: 'bay' | 'lift' | 'technician' | 'equipment'; skills?: string[] }[];
  rules?: Partial<{
    slotStepMinutes: number;
    minLeadMinutes: number;
    holdMinutes: number;
    freeCancellationHours: number;
    cancellationFeeMinor: number;
    rescheduleNoticeHours: number;
    noShowGraceMinutes: number;
    noShowFeeMinor: number;
  }>;
}

export async function createTestShop(db: Database, o: TestShopOptions): Promise<TestShop> {
  await db.query(`INSERT INTO tenants (id, name, kind) VALUES ($1, $1, 'partner') ON CONFLICT (id) DO NOTHING`, [
    o.tenantId,
  ]);
  const partnerId = randomUUID();
  await db.query(
    `INSERT INTO partners (id, tenant_id, name, kinds, time_zone, currency, labour_rate_minor, lat, lon, status)
     VALUES ($1, $2, $3, ARRAY['repair_center'], $4, 'EUR', 9000, 52.52, 13.40, 'active')`,
    [partnerId, o.tenantId, `Shop ${o.tenantId}`, o.timeZone ?? 'UTC'],
  );
  const hours = o.hours ?? Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((d) => [d, [['00:00', '23:45']]]));
  for (const [weekday, intervals] of Object.entries(hours))
    for (const [opens, closes] of intervals)
      await db.query(
        `INSERT INTO partner_opening_hours (tenant_id, partner_id, weekday, opens, closes) VALUES ($1, $2, $3, $4, $5)`,
        [o.tenantId, partnerId, Number(weekday), opens, closes],
      );
  const services: Record<string, string> = {};
  for (const s of o.services ?? [{ code: 'oil_change', durationMinutes: 60, requiredSkill: 'oil_change' }]) {
    const id = randomUUID();
    services[s.code] = id;
    await db.query(
      `INSERT INTO partner_services (id, tenant_id, partner_id, code, name, price_kind, price_minor, currency,
         duration_minutes, required_skill, buffer_before_minutes, buffer_after_minutes, needs_lift, required_equipment)
       VALUES ($1, $2, $3, $4, $5, 'fixed', $6, 'EUR', $7, $8, $9, $10, $11, $12)`,
      [
        id,
        o.tenantId,
        partnerId,
        s.code,
        s.code.replace('_', ' '),
        s.priceMinor ?? 8900,
        s.durationMinutes,
        s.requiredSkill === undefined ? s.code : s.requiredSkill,
        s.bufferBefore ?? 0,
        s.bufferAfter ?? 0,
        s.needsLift ?? false,
        s.equipment ?? [],
      ],
    );
  }
  const resources: Record<string, string> = {};
  for (const r of o.resources ?? [
    { name: 'Bay 1', kind: 'bay' },
    { name: 'Tech 1', kind: 'technician', skills: ['oil_change'] },
  ]) {
    const id = randomUUID();
    resources[r.name] = id;
    await db.query(
      `INSERT INTO shop_resources (id, tenant_id, partner_id, kind, name, skills) VALUES ($1, $2, $3, $4, $5, $6)`,
      [id, o.tenantId, partnerId, r.kind, r.name, r.skills ?? []],
    );
  }
  if (o.rules) {
    const r = o.rules;
    await db.query(
      `INSERT INTO shop_booking_rules (tenant_id, partner_id, slot_step_minutes, min_lead_minutes, hold_minutes,
         free_cancellation_hours, cancellation_fee_minor, reschedule_notice_hours, no_show_grace_minutes, no_show_fee_minor)
       VALUES ($1, $2, coalesce($3, 15), coalesce($4, 60), coalesce($5, 5), coalesce($6, 24), coalesce($7, 0),
               coalesce($8, 12), coalesce($9, 30), coalesce($10, 0))`,
      [
        o.tenantId,
        partnerId,
        r.slotStepMinutes ?? null,
        r.minLeadMinutes ?? null,
        r.holdMinutes ?? null,
        r.freeCancellationHours ?? null,
        r.cancellationFeeMinor ?? null,
        r.rescheduleNoticeHours ?? null,
        r.noShowGraceMinutes ?? null,
        r.noShowFeeMinor ?? null,
      ],
    );
  }
  return { tenantId: o.tenantId, partnerId, services, resources };
}

/** A vehicle of a car owner (consumer tenant). */
export async function createOwnedVehicle(db: Database, ownerUserId: string, name = 'car'): Promise<string> {
  const id = randomUUID();
  await db.query(`INSERT INTO vehicles (id, tenant_id, name, owner_user_id) VALUES ($1, 'consumers', $2, $3)`, [
    id,
    name,
    ownerUserId,
  ]);
  return id;
}

/** The next grid start (UTC shop, 15-minute grid) at least `minutesAhead` from now. */
export function slotAhead(minutesAhead: number, step = 15): Date {
  const t = Date.now() + minutesAhead * 60_000;
  const stepMs = step * 60_000;
  return new Date(Math.ceil(t / stepMs) * stepMs);
}
