import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureDevice } from '../fleet/provision.js';
import { simulatedCarTenant } from '../fleet/simulated-fleet.js';
import { seedDemoAccounts } from '../identity/demo-accounts.js';
import { DEMO_SHOPS, seedDemoShops } from './demo-shops.js';

describe.each(testDatabases(inject('pgAdminUrl'), 'demo_shops'))('demo shops: %s', (_engine, open) => {
  let db: Database;
  const dir = mkdtempSync(join(tmpdir(), 'clutch-demo-shops-'));
  const vehicleOf: Record<string, string> = {};

  beforeAll(async () => {
    db = await open({ signals: false });
    for (const i of [1, 2, 3]) {
      const deviceId = `sim-00${i}`;
      const d = await ensureDevice(db, { ...simulatedCarTenant(i), deviceId, vehicle: { name: `car ${i}` } });
      vehicleOf[deviceId] = d.vehicleId;
    }
    await seedDemoAccounts(db, { dir, ownedVehicleTenant: 'consumers' });
  });
  afterAll(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('seeds listed shops with hours, services, resources and parts once, and positions the cars once', async () => {
    const first = await seedDemoShops(db, { vehicleTenants: ['consumers', 'demo'] });
    expect(first.positionedCars).toBe(3);
    const again = await seedDemoShops(db, { vehicleTenants: ['consumers', 'demo'] });
    expect(again.shops).toEqual(first.shops);
    expect(again.positionedCars).toBe(0);

    const counts = await db.query<{ t: string; n: number }>(
      `SELECT 'partners' AS t, count(*)::int AS n FROM partners
       UNION ALL SELECT 'services', count(*)::int FROM partner_services
       UNION ALL SELECT 'hours', count(*)::int FROM partner_opening_hours
       UNION ALL SELECT 'resources', count(*)::int FROM shop_resources
       UNION ALL SELECT 'parts', count(*)::int FROM partner_parts
       UNION ALL SELECT 'locations', count(*)::int FROM locations`,
    );
    const n = Object.fromEntries(counts.rows.map((r) => [r.t, r.n]));
    expect(n).toEqual({
      partners: DEMO_SHOPS.length,
      services: DEMO_SHOPS.reduce((s, x) => s + x.services.length, 0),
      hours: DEMO_SHOPS.reduce((s, x) => s + Object.values(x.hours).flat().length, 0),
      resources: DEMO_SHOPS.reduce((s, x) => s + x.resources.length, 0),
      parts: DEMO_SHOPS.reduce((s, x) => s + x.parts.length, 0),
      locations: 3,
    });

    // Every shop is listed (active) in a real time zone, within a few km of every car.
    const near = await db.query<{ name: string; status: string; time_zone: string; km: number }>(
      `SELECT p.name, p.status, p.time_zone,
              max(6371 * 2 * asin(sqrt(power(sin(radians(l.lat - p.lat) / 2), 2)
                  + cos(radians(p.lat)) * cos(radians(l.lat)) * power(sin(radians(l.lon - p.lon) / 2), 2)))) AS km
         FROM partners p CROSS JOIN locations l GROUP BY p.name, p.status, p.time_zone`,
    );
    expect(near.rows).toHaveLength(DEMO_SHOPS.length);
    for (const row of near.rows) {
      expect(row).toMatchObject({ status: 'active', time_zone: 'Europe/Berlin' });
      expect(row.km).toBeLessThan(5);
    }

    // The demo technician account is a technician resource of the demo shop admin's shop.
    const tech = await db.query<{ tenant_id: string; kind: string; email: string; partner: string }>(
      `SELECT r.tenant_id, r.kind, u.email, p.name AS partner FROM shop_resources r
         JOIN users u ON u.id = r.user_id JOIN partners p ON p.id = r.partner_id`,
    );
    expect(tech.rows).toEqual([
      {
        tenant_id: 'demo-shop',
        kind: 'technician',
        email: 'technician@demo.clutch.test',
        partner: 'Clutch Demo Garage Mitte',
      },
    ]);
  });

  it('keeps a car that already has a position where it is', async () => {
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM locations WHERE vehicle_id = $1', [
      vehicleOf['sim-001'],
    ]);
    expect(rows[0]!.n).toBe(1);
    expect((await seedDemoShops(db, { vehicleTenants: ['consumers'] })).positionedCars).toBe(0);
  });
});
