import type { Database, Queryable } from '@clutch/db';
import { ensureTenant } from '@clutch/identity';

/**
 * Demo shops for `npm start` (docs/marketplace.md, "Demo"): two repair centers and a parts shop in
 * Berlin, with opening hours in Europe/Berlin, services with prices in EUR, bays and technicians, and a
 * parts catalogue. The demo shop admin's organisation (`demo-shop`) runs the first one, and the demo
 * technician account is one of its technician resources, so the shop's side of the walk can be played
 * with the printed accounts.
 *
 * The simulated cars send no GPS, so each demo car without a position gets one location fix near the
 * shops (a "last known position"), which is what the shops page searches around.
 *
 * Idempotent across restarts on the same data directory: a shop is found by its organisation and name
 * and only created when missing; a car that already has a position keeps it.
 */

/** Where the demo is: Berlin, around Alexanderplatz. */
export const DEMO_CENTER = { lat: 52.5219, lon: 13.4132 } as const;
export const DEMO_TIME_ZONE = 'Europe/Berlin';
export const DEMO_PARTS_TENANT = 'demo-parts';
export const DEMO_SECOND_SHOP_TENANT = 'demo-kreuzberg';

interface DemoService {
  code: string;
  name: string;
  priceKind: 'fixed' | 'hourly' | 'quote';
  priceMinor: number | null;
  durationMinutes: number;
  requiredSkill: string | null;
}

interface DemoShop {
  tenantId: string;
  tenantName: string;
  name: string;
  description: string;
  kinds: ('repair_center' | 'parts_shop')[];
  lat: number;
  lon: number;
  address: Record<string, string>;
  labourRateMinor: number | null;
  /** ISO weekday (Monday = 1) -> opening intervals, local time. */
  hours: Record<number, [string, string][]>;
  services: DemoService[];
  resources: {
    kind: 'bay' | 'lift' | 'technician' | 'equipment';
    name: string;
    skills: string[];
    userEmail?: string;
  }[];
  parts: { sku: string; name: string; brand: string; priceMinor: number; stock: number }[];
}

const WEEKDAYS_8_TO_18: Record<number, [string, string][]> = {
  1: [['08:00', '18:00']],
  2: [['08:00', '18:00']],
  3: [['08:00', '18:00']],
  4: [['08:00', '18:00']],
  5: [['08:00', '18:00']],
  6: [['09:00', '13:00']],
};

export const DEMO_SHOPS: readonly DemoShop[] = [
  {
    tenantId: 'demo-shop',
    tenantName: 'Demo Repair Shop',
    name: 'Clutch Demo Garage Mitte',
    description: 'Diagnostics, brakes and ignition on all makes. The demo shop admin and technician work here.',
    kinds: ['repair_center'],
    lat: 52.5235,
    lon: 13.4115,
    address: { line1: 'Karl-Liebknecht-Straße 13', postalCode: '10178', city: 'Berlin', country: 'DE' },
    labourRateMinor: 9500,
    hours: WEEKDAYS_8_TO_18,
    services: [
      {
        code: 'diagnostics',
        name: 'Fault diagnosis',
        priceKind: 'fixed',
        priceMinor: 4900,
        durationMinutes: 60,
        requiredSkill: 'diagnostics',
      },
      {
        code: 'oil_change',
        name: 'Oil and filter change',
        priceKind: 'fixed',
        priceMinor: 8900,
        durationMinutes: 45,
        requiredSkill: null,
      },
      {
        code: 'brakes',
        name: 'Brake repair',
        priceKind: 'hourly',
        priceMinor: 9500,
        durationMinutes: 120,
        requiredSkill: 'brakes',
      },
      {
        code: 'ignition',
        name: 'Ignition and misfire repair',
        priceKind: 'fixed',
        priceMinor: 12900,
        durationMinutes: 90,
        requiredSkill: 'diagnostics',
      },
      {
        code: 'inspection',
        name: 'Safety inspection',
        priceKind: 'fixed',
        priceMinor: 6900,
        durationMinutes: 60,
        requiredSkill: null,
      },
      {
        code: 'general_repair',
        name: 'General repair',
        priceKind: 'quote',
        priceMinor: null,
        durationMinutes: 60,
        requiredSkill: null,
      },
    ],
    resources: [
      { kind: 'bay', name: 'Bay 1', skills: [] },
      { kind: 'bay', name: 'Bay 2', skills: [] },
      {
        kind: 'technician',
        name: 'Tess Technician',
        skills: ['diagnostics', 'brakes', 'electrical'],
        userEmail: 'technician@demo.clutch.test',
      },
      { kind: 'technician', name: 'Milan Mechanic', skills: ['brakes', 'tyres'] },
    ],
    parts: [],
  },
  {
    tenantId: DEMO_SECOND_SHOP_TENANT,
    tenantName: 'Kreuzberg Auto Service',
    name: 'Kreuzberg Auto Service',
    description: 'Tyres, oil changes and air conditioning.',
    kinds: ['repair_center'],
    lat: 52.4996,
    lon: 13.4031,
    address: { line1: 'Oranienstraße 40', postalCode: '10999', city: 'Berlin', country: 'DE' },
    labourRateMinor: 8200,
    hours: {
      ...WEEKDAYS_8_TO_18,
      3: [
        ['08:00', '12:00'],
        ['13:00', '19:00'],
      ],
    },
    services: [
      {
        code: 'diagnostics',
        name: 'Diagnose',
        priceKind: 'fixed',
        priceMinor: 5900,
        durationMinutes: 45,
        requiredSkill: null,
      },
      {
        code: 'tyres',
        name: 'Tyre change',
        priceKind: 'fixed',
        priceMinor: 4000,
        durationMinutes: 30,
        requiredSkill: null,
      },
      {
        code: 'oil_change',
        name: 'Oil service',
        priceKind: 'fixed',
        priceMinor: 7900,
        durationMinutes: 45,
        requiredSkill: null,
      },
      {
        code: 'air_conditioning',
        name: 'Air conditioning service',
        priceKind: 'fixed',
        priceMinor: 9900,
        durationMinutes: 60,
        requiredSkill: null,
      },
    ],
    resources: [
      { kind: 'bay', name: 'Lift 1', skills: [] },
      { kind: 'technician', name: 'Kemal', skills: [] },
    ],
    parts: [],
  },
  {
    tenantId: DEMO_PARTS_TENANT,
    tenantName: 'Demo Parts Depot',
    name: 'Demo Parts Depot',
    description: 'Parts for repair shops, delivered the same day in Berlin.',
    kinds: ['parts_shop'],
    lat: 52.5303,
    lon: 13.3846,
    address: { line1: 'Invalidenstraße 50', postalCode: '10115', city: 'Berlin', country: 'DE' },
    labourRateMinor: null,
    hours: WEEKDAYS_8_TO_18,
    services: [],
    resources: [],
    parts: [
      { sku: 'NGK-BKR6E', name: 'Spark plug', brand: 'NGK', priceMinor: 690, stock: 120 },
      { sku: 'BOSCH-0221504470', name: 'Ignition coil', brand: 'Bosch', priceMinor: 4590, stock: 14 },
      { sku: 'ATE-13.0460-2782', name: 'Brake pads, front axle', brand: 'ATE', priceMinor: 3990, stock: 25 },
      { sku: 'MANN-W712/95', name: 'Oil filter', brand: 'MANN-FILTER', priceMinor: 890, stock: 60 },
      { sku: 'CASTROL-5W30-5L', name: 'Engine oil 5W-30, 5 l', brand: 'Castrol', priceMinor: 4490, stock: 40 },
    ],
  },
];

/** Where each demo car without a position is put: near the shops, a few hundred metres apart. */
function carPosition(index: number): { lat: number; lon: number } {
  return { lat: DEMO_CENTER.lat - 0.002 + index * 0.0015, lon: DEMO_CENTER.lon - 0.004 + index * 0.002 };
}

async function seedShop(q: Queryable, shop: DemoShop): Promise<{ id: string; created: boolean }> {
  const existing = await q.query<{ id: string }>('SELECT id::text FROM partners WHERE tenant_id = $1 AND name = $2', [
    shop.tenantId,
    shop.name,
  ]);
  if (existing.rows[0]) return { id: existing.rows[0].id, created: false };
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO partners (tenant_id, name, description, kinds, time_zone, currency, labour_rate_minor, lat, lon, address, status)
     VALUES ($1, $2, $3, $4, $5, 'EUR', $6, $7, $8, $9, 'active') RETURNING id::text`,
    [
      shop.tenantId,
      shop.name,
      shop.description,
      shop.kinds,
      DEMO_TIME_ZONE,
      shop.labourRateMinor,
      shop.lat,
      shop.lon,
      JSON.stringify(shop.address),
    ],
  );
  const id = rows[0]!.id;
  for (const [weekday, intervals] of Object.entries(shop.hours)) {
    for (const [opens, closes] of intervals) {
      await q.query(
        'INSERT INTO partner_opening_hours (tenant_id, partner_id, weekday, opens, closes) VALUES ($1, $2, $3, $4, $5)',
        [shop.tenantId, id, Number(weekday), opens, closes],
      );
    }
  }
  for (const s of shop.services) {
    await q.query(
      `INSERT INTO partner_services (tenant_id, partner_id, code, name, price_kind, price_minor, currency, duration_minutes, required_skill)
       VALUES ($1, $2, $3, $4, $5, $6, 'EUR', $7, $8)`,
      [shop.tenantId, id, s.code, s.name, s.priceKind, s.priceMinor, s.durationMinutes, s.requiredSkill],
    );
  }
  for (const r of shop.resources) {
    await q.query(
      `INSERT INTO shop_resources (tenant_id, partner_id, kind, name, skills, user_id)
       VALUES ($1, $2, $3, $4, $5, (SELECT id FROM users WHERE email = $6 AND tenant_id = $1))`,
      [shop.tenantId, id, r.kind, r.name, r.skills, r.userEmail ?? null],
    );
  }
  for (const p of shop.parts) {
    await q.query(
      `INSERT INTO partner_parts (tenant_id, partner_id, sku, name, brand, price_minor, currency, stock)
       VALUES ($1, $2, $3, $4, $5, $6, 'EUR', $7)`,
      [shop.tenantId, id, p.sku, p.name, p.brand, p.priceMinor, p.stock],
    );
  }
  return { id, created: true };
}

export interface SeededDemoShops {
  shops: { id: string; name: string; tenantId: string }[];
  /** Cars given a last known position this time (0 on a restart). */
  positionedCars: number;
}

/**
 * Seeds the demo shops (each in one transaction, so a crash mid-seed leaves no half shop) and gives
 * the simulated cars of `vehicleTenants` a last known position near them. Runs as the platform's
 * system connection, before anyone signs in, like the demo accounts.
 */
export async function seedDemoShops(
  db: Database,
  options: { vehicleTenants: readonly string[] },
): Promise<SeededDemoShops> {
  const shops: SeededDemoShops['shops'] = [];
  for (const shop of DEMO_SHOPS) {
    await ensureTenant(db, shop.tenantId, shop.tenantName);
    await db.query(`UPDATE tenants SET kind = 'partner' WHERE id = $1 AND kind <> 'partner'`, [shop.tenantId]);
    const { id } = await db.transaction((q) => seedShop(q, shop));
    shops.push({ id, name: shop.name, tenantId: shop.tenantId });
  }
  const cars = await db.query<{ id: string; tenant_id: string }>(
    `SELECT v.id::text, v.tenant_id FROM vehicles v
      WHERE v.tenant_id = ANY($1)
        AND EXISTS (SELECT 1 FROM devices d WHERE d.vehicle_id = v.id AND d.id LIKE 'sim-%')
        AND NOT EXISTS (SELECT 1 FROM locations l WHERE l.vehicle_id = v.id)
      ORDER BY v.name`,
    [options.vehicleTenants],
  );
  let index = 0;
  for (const car of cars.rows) {
    const at = carPosition(index++);
    await db.query(
      `INSERT INTO locations (time, tenant_id, vehicle_id, lat, lon) VALUES (now(), $1, $2, $3, $4)
       ON CONFLICT DO NOTHING`,
      [car.tenant_id, car.id, at.lat, at.lon],
    );
  }
  return { shops, positionedCars: cars.rows.length };
}

/** The line `npm start` prints about them. */
export function demoShopLines(seeded: SeededDemoShops, dashboardOrigin: string): string[] {
  return [
    `Demo shops (${seeded.shops.map((s) => s.name).join(', ')}) near the simulated cars in Berlin: ${dashboardOrigin}/shops.html`,
  ];
}
