import { ensureBookingRoom } from '@clutch/api';
import type { Database, Queryable } from '@clutch/db';
import { DEMO_SHOP_TENANT } from '../identity/demo-accounts.js';
import { DEMO_SHOPS, DEMO_TIME_ZONE, type SeededDemoShops } from './demo-shops.js';

/**
 * The communication side of the `npm start` demo (README, "Communication"): the demo owner's car is
 * checked in at the demo garage (a booking earlier today, its repair order `checked_in`), and the
 * booking has its chat room with the owner and the garage's admin and technician in it. The owner's
 * notification settings are those of someone who wants to hear about chat by mail too (chat mail is
 * off by default), in the demo shops' time zone, so a shop's message shows every channel: live on the
 * open repair-order page, else a Web Push and a mail in the dev mailbox.
 *
 * Fixed ids, `ON CONFLICT DO NOTHING` and chat's `ensureBookingRoom`: a restart on the same data
 * directory adds nothing twice.
 * Written as the platform straight into the tables, like the other demo seeds: the booking's slot
 * is in the past and reserves no resources, so the walks' own bookings find every slot free.
 */
export const DEMO_CHAT = {
  bookingId: 'c1a70000-0000-4000-8000-000000000b01',
  repairOrderId: 'c1a70000-0000-4000-8000-000000000e01',
} as const;

const OWNER_EMAIL = 'owner@demo.clutch.test';
const STAFF_EMAILS = ['shop-admin@demo.clutch.test', 'technician@demo.clutch.test'];

export interface SeededDemoChat {
  bookingId: string;
  repairOrderId: string;
  roomId: string;
  /** False when the demo accounts or the demo garage are missing (nothing seeded). */
  seeded: boolean;
}

interface Person {
  id: string;
  tenant_id: string;
  display_name: string;
}

async function person(q: Queryable, email: string): Promise<Person | undefined> {
  const { rows } = await q.query<Person>('SELECT id::text, tenant_id, display_name FROM users WHERE email = $1', [
    email,
  ]);
  return rows[0];
}

export async function seedDemoChat(db: Database, shops: SeededDemoShops, now = new Date()): Promise<SeededDemoChat> {
  const garage = shops.shops.find((s) => s.tenantId === DEMO_SHOPS[0]!.tenantId);
  const result: SeededDemoChat = { ...DEMO_CHAT, roomId: '', seeded: false };
  if (!garage || garage.tenantId !== DEMO_SHOP_TENANT) return result;
  return db.transaction(async (q) => {
    const owner = await person(q, OWNER_EMAIL);
    if (!owner) return result;
    const staff: Person[] = [];
    for (const email of STAFF_EMAILS) {
      const member = await person(q, email);
      if (member) staff.push(member);
    }
    const { rows: cars } = await q.query<{ id: string }>(
      `SELECT id::text FROM vehicles WHERE owner_user_id = $1 ORDER BY name LIMIT 1`,
      [owner.id],
    );
    // Two hours ago, for an hour: over, so the shop's calendar has every slot from now on free.
    const start = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - 2 * 3_600_000);
    const booked = await q.query(
      `INSERT INTO bookings (id, tenant_id, partner_id, customer_tenant_id, customer_user_id, vehicle_id, service_code,
                             service_name, status, starts_at, ends_at, currency, created_by)
       VALUES ($1, $2, $3, 'consumers', $4, $5, 'diagnostics', 'Diagnostics', 'confirmed', $6, $7, 'EUR', 'demo-seed')
       ON CONFLICT (id) DO NOTHING`,
      [
        DEMO_CHAT.bookingId,
        garage.tenantId,
        garage.id,
        owner.id,
        cars[0]?.id ?? null,
        start,
        new Date(start.getTime() + 3_600_000),
      ],
    );
    if ((booked.rowCount ?? 0) > 0) {
      await q.query(
        `INSERT INTO repair_orders (id, tenant_id, partner_id, booking_id, customer_tenant_id, customer_user_id, vehicle_id, status)
         VALUES ($1, $2, $3, $4, 'consumers', $5, $6, 'requested')`,
        [DEMO_CHAT.repairOrderId, garage.tenantId, garage.id, DEMO_CHAT.bookingId, owner.id, cars[0]?.id ?? null],
      );
      // Through the status gate, one allowed move at a time, with the timeline the page shows.
      for (const [from, to] of [
        ['requested', 'confirmed'],
        ['confirmed', 'checked_in'],
      ] as const) {
        await q.query(`UPDATE repair_orders SET status = $2, status_changed_at = now() WHERE id = $1`, [
          DEMO_CHAT.repairOrderId,
          to,
        ]);
        await q.query(
          `INSERT INTO repair_order_events (tenant_id, repair_order_id, customer_tenant_id, customer_user_id, from_status,
                                           to_status, actor, side, at)
           VALUES ($1, $2, 'consumers', $3, $4, $5, 'demo-seed', 'shop', now())`,
          [garage.tenantId, DEMO_CHAT.repairOrderId, owner.id, from, to],
        );
      }
    }
    // The room through chat's own seeding (api/src/chat/seed.ts): the customer and each staff member.
    let roomId = '';
    for (const member of staff)
      roomId = await ensureBookingRoom(q, {
        bookingId: DEMO_CHAT.bookingId,
        staff: { userId: member.id, tenantId: member.tenant_id },
      });
    if (!roomId) roomId = await ensureBookingRoom(q, { bookingId: DEMO_CHAT.bookingId });
    // The owner hears of chat by mail too, in the shops' time zone; a setting they made stays theirs.
    await q.query(
      `INSERT INTO notification_settings (user_id, tenant_id, time_zone, categories)
       VALUES ($1, $2, $3, '{"chat": {"email": true}}'::jsonb) ON CONFLICT (user_id) DO NOTHING`,
      [owner.id, owner.tenant_id, DEMO_TIME_ZONE],
    );
    return { ...result, roomId, seeded: true };
  });
}

/** The line `npm start` prints about it. */
export function demoChatLines(seeded: SeededDemoChat, dashboardOrigin: string): string[] {
  if (!seeded.seeded) return [];
  return [
    `Demo chat: the owner's car is checked in at the demo garage; its chat is on ${dashboardOrigin}/repair-order.html?id=${seeded.repairOrderId} (owner and shop admin).`,
  ];
}
