// Deterministic shops for nearby search: the contract test (nearby.contract.test.ts) and the bench
// (bench/src/marketplace/nearby.ts) lay out the same kind of data. Only imported by tests and the bench.
import type { Database } from '@clutch/db';
import { SERVICE_CODES } from './service-catalogue.js';

/** mulberry32: a small seeded PRNG, the same sequence on every run and machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A UUID from the PRNG (version 4 layout), so both databases get the same ids. */
export function seededUuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((Math.floor(random() * 4) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

export interface SeedShop {
  id: string;
  tenantId: string;
  name: string;
  lat: number;
  lon: number;
  timeZone: string;
  status: 'active' | 'draft';
  ratingAvg: number | null;
  ratingCount: number;
  labourRateMinor: number | null;
  /** code -> price (null: quote). */
  services: { id: string; code: string; priceKind: 'fixed' | 'quote'; priceMinor: number | null }[];
  /** Mon-Fri 08:00-18:00 (and Sat 09:00-13:00 when `saturday`). */
  hours: 'weekdays' | 'saturday' | 'none';
}

/** An area and how many shops to put in it: shops cluster around its cities, like real ones do. */
export interface SeedArea {
  cities: readonly { lat: number; lon: number; weight: number; spreadKm: number }[];
  timeZone: string;
}

/** Germany's larger cities, weighted roughly by population: the bench's realistic area. */
export const GERMANY: SeedArea = {
  timeZone: 'Europe/Berlin',
  cities: [
    { lat: 52.52, lon: 13.405, weight: 36, spreadKm: 25 },
    { lat: 53.551, lon: 9.994, weight: 18, spreadKm: 20 },
    { lat: 48.137, lon: 11.575, weight: 15, spreadKm: 20 },
    { lat: 50.938, lon: 6.96, weight: 11, spreadKm: 15 },
    { lat: 50.11, lon: 8.682, weight: 8, spreadKm: 15 },
    { lat: 48.776, lon: 9.183, weight: 6, spreadKm: 15 },
    { lat: 51.227, lon: 6.773, weight: 6, spreadKm: 12 },
    { lat: 51.514, lon: 7.468, weight: 6, spreadKm: 15 },
    { lat: 51.34, lon: 12.375, weight: 6, spreadKm: 12 },
    { lat: 53.079, lon: 8.801, weight: 5, spreadKm: 12 },
    { lat: 51.05, lon: 13.738, weight: 5, spreadKm: 12 },
    { lat: 52.375, lon: 9.732, weight: 5, spreadKm: 12 },
    { lat: 49.452, lon: 11.077, weight: 5, spreadKm: 12 },
    // Everything else: spread over the whole country.
    { lat: 51.1, lon: 10.4, weight: 30, spreadKm: 250 },
  ],
};

/** `count` shops over `area` from `seed`: positions, statuses, ratings, services and hours. */
export function generateShops(count: number, seed: number, area: SeedArea, tenants: readonly string[]): SeedShop[] {
  const random = seededRandom(seed);
  const total = area.cities.reduce((s, c) => s + c.weight, 0);
  const shops: SeedShop[] = [];
  for (let i = 0; i < count; i++) {
    let pick = random() * total;
    const city = area.cities.find((c) => (pick -= c.weight) < 0) ?? area.cities[0]!;
    // A normal-ish offset (sum of uniforms), in km, turned into degrees.
    const dx = (random() + random() + random() - 1.5) * city.spreadKm;
    const dy = (random() + random() + random() - 1.5) * city.spreadKm;
    const lat = Math.max(-89.9, Math.min(89.9, city.lat + dy / 111.2));
    const lon = city.lon + dx / (111.2 * Math.cos((city.lat * Math.PI) / 180));
    const rated = random() < 0.7;
    const services = SERVICE_CODES.filter(() => random() < 0.3).map((code) => {
      const quote = random() < 0.15;
      return {
        id: seededUuid(random),
        code,
        priceKind: quote ? ('quote' as const) : ('fixed' as const),
        priceMinor: quote ? null : 2000 + Math.floor(random() * 40) * 500,
      };
    });
    const h = random();
    shops.push({
      id: seededUuid(random),
      tenantId: tenants[i % tenants.length]!,
      name: `Shop ${i}`,
      lat: Math.round(lat * 1e6) / 1e6,
      lon: Math.round((((lon + 540) % 360) - 180) * 1e6) / 1e6,
      timeZone: area.timeZone,
      status: random() < 0.95 ? 'active' : 'draft',
      ratingAvg: rated ? Math.round((1 + random() * 4) * 100) / 100 : null,
      ratingCount: rated ? 1 + Math.floor(random() * 200) : 0,
      labourRateMinor: random() < 0.8 ? 6000 + Math.floor(random() * 60) * 100 : null,
      services,
      hours: h < 0.6 ? 'weekdays' : h < 0.9 ? 'saturday' : 'none',
    });
  }
  return shops;
}

/** Inserts the shops as the platform (the migrating owner), in batches. */
export async function insertShops(db: Database, shops: readonly SeedShop[]): Promise<void> {
  const batch = 2000;
  for (let i = 0; i < shops.length; i += batch) {
    const part = shops.slice(i, i + batch);
    await db.query(
      `INSERT INTO partners (id, tenant_id, name, kinds, time_zone, currency, lat, lon, status, rating_avg, rating_count, labour_rate_minor)
       SELECT id, t, n, ARRAY['repair_center'], z, 'EUR', la, lo, s, r, rc, lr
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::text[], $8::numeric[], $9::int[], $10::int[])
           AS x (id, t, n, z, la, lo, s, r, rc, lr)`,
      [
        part.map((s) => s.id),
        part.map((s) => s.tenantId),
        part.map((s) => s.name),
        part.map((s) => s.timeZone),
        part.map((s) => s.lat),
        part.map((s) => s.lon),
        part.map((s) => s.status),
        part.map((s) => s.ratingAvg),
        part.map((s) => s.ratingCount),
        part.map((s) => s.labourRateMinor),
      ],
    );
    const services = part.flatMap((s) => s.services.map((v) => ({ ...v, partnerId: s.id, tenantId: s.tenantId })));
    if (services.length > 0)
      await db.query(
        `INSERT INTO partner_services (id, tenant_id, partner_id, code, name, price_kind, price_minor, currency, duration_minutes)
         SELECT id, t, p, c, c, k, m, 'EUR', 60
           FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::int[]) AS x (id, t, p, c, k, m)`,
        [
          services.map((v) => v.id),
          services.map((v) => v.tenantId),
          services.map((v) => v.partnerId),
          services.map((v) => v.code),
          services.map((v) => v.priceKind),
          services.map((v) => v.priceMinor),
        ],
      );
    const hours = part.flatMap((s) => {
      if (s.hours === 'none') return [];
      const week = [1, 2, 3, 4, 5].map((weekday) => ({ weekday, opens: '08:00', closes: '18:00' }));
      if (s.hours === 'saturday') week.push({ weekday: 6, opens: '09:00', closes: '13:00' });
      return week.map((w) => ({ ...w, partnerId: s.id, tenantId: s.tenantId }));
    });
    if (hours.length > 0)
      await db.query(
        `INSERT INTO partner_opening_hours (tenant_id, partner_id, weekday, opens, closes)
         SELECT t, p, w, o, c FROM unnest($1::text[], $2::uuid[], $3::smallint[], $4::time[], $5::time[]) AS x (t, p, w, o, c)`,
        [
          hours.map((h) => h.tenantId),
          hours.map((h) => h.partnerId),
          hours.map((h) => h.weekday),
          hours.map((h) => h.opens),
          hours.map((h) => h.closes),
        ],
      );
  }
  await db.exec('ANALYZE partners; ANALYZE partner_services; ANALYZE partner_opening_hours; ANALYZE partner_search');
}
