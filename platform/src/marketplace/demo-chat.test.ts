import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureDevice } from '../fleet/provision.js';
import { simulatedCarTenant } from '../fleet/simulated-fleet.js';
import { seedDemoAccounts } from '../identity/demo-accounts.js';
import { DEMO_CHAT, seedDemoChat } from './demo-chat.js';
import { seedDemoShops } from './demo-shops.js';

describe.each(testDatabases(inject('pgAdminUrl'), 'demo_chat'))('demo chat: %s', (_engine, open) => {
  let db: Database;
  const dir = mkdtempSync(join(tmpdir(), 'clutch-demo-chat-'));

  beforeAll(async () => {
    db = await open({ signals: false });
    await ensureDevice(db, { ...simulatedCarTenant(1), deviceId: 'sim-001', vehicle: { name: 'car 1' } });
    await seedDemoAccounts(db, { dir, ownedVehicleTenant: 'consumers' });
  });
  afterAll(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("seeds the owner's checked-in car at the demo garage with its chat room, once", async () => {
    const shops = await seedDemoShops(db, { vehicleTenants: ['consumers'] });
    const first = await seedDemoChat(db, shops);
    expect(first).toMatchObject({ ...DEMO_CHAT, seeded: true });
    const again = await seedDemoChat(db, shops);
    expect(again.roomId).toBe(first.roomId);

    const order = await db.query<{ status: string; email: string; vehicle: string | null }>(
      `SELECT o.status, u.email, v.name AS vehicle FROM repair_orders o JOIN users u ON u.id = o.customer_user_id
         LEFT JOIN vehicles v ON v.id = o.vehicle_id WHERE o.id = $1`,
      [DEMO_CHAT.repairOrderId],
    );
    expect(order.rows).toEqual([{ status: 'checked_in', email: 'owner@demo.clutch.test', vehicle: 'car 1' }]);
    const people = await db.query<{ email: string; role: string }>(
      `SELECT u.email, p.role FROM chat_participants p JOIN users u ON u.id = p.user_id WHERE p.room_id = $1 ORDER BY u.email`,
      [first.roomId],
    );
    expect(people.rows).toEqual([
      { email: 'owner@demo.clutch.test', role: 'customer' },
      { email: 'shop-admin@demo.clutch.test', role: 'shop' },
      { email: 'technician@demo.clutch.test', role: 'shop' },
    ]);
    const rooms = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM chat_rooms WHERE booking_id = $1', [
      DEMO_CHAT.bookingId,
    ]);
    expect(rooms.rows[0]!.n).toBe(1);
    // The booking is over (no slot of today's walks is taken) and the no-show sweep leaves it alone.
    const booking = await db.query<{ past: boolean; reservations: number }>(
      `SELECT b.ends_at <= now() AS past, (SELECT count(*)::int FROM booking_reservations r WHERE r.booking_id = b.id) AS reservations
         FROM bookings b WHERE b.id = $1`,
      [DEMO_CHAT.bookingId],
    );
    expect(booking.rows).toEqual([{ past: true, reservations: 0 }]);
    const settings = await db.query<{ time_zone: string; categories: unknown }>(
      `SELECT s.time_zone, s.categories FROM notification_settings s JOIN users u ON u.id = s.user_id WHERE u.email = $1`,
      ['owner@demo.clutch.test'],
    );
    expect(settings.rows).toEqual([{ time_zone: 'Europe/Berlin', categories: { chat: { email: true } } }]);
  });
});
