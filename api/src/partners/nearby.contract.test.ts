import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { decodeCursor, type PageRequest } from '../http/pagination.js';
import { generateShops, insertShops, type SeedArea, type SeedShop } from './nearby-fixtures.js';
import {
  availableStrategies,
  greatCircleMetres,
  NEARBY_LISTINGS,
  type NearbyQuery,
  type NearbyRow,
  type NearbyStrategy,
} from './nearby.js';
import { nearbyPage } from './service.js';

/**
 * Nearby search answers the same on PGlite (cube + earthdistance index) and on PostgreSQL (PostGIS
 * index): the same shops, in the same order, at the same distances. Every search also runs with
 * the other strategies each engine has (earthdistance and the bounding box on PostgreSQL, the
 * bounding box on PGlite) and a full scan, and is checked against a brute force over the seeded
 * shops in TypeScript, so a strategy that loses candidates fails here even if both engines lose
 * them alike.
 *
 * Distance tolerance: both engines evaluate the same float8 expression (haversine), so the only
 * differences are last-bit ones of their libm (sin, cos, asin, sqrt: within an ulp or two), about
 * 1e-15 relative, i.e. under 1e-9 m at 100 km. 1e-6 m allows for that a thousandfold and is still
 * far below anything a map or a sort key (millimetres) could show. Against the TypeScript brute
 * force (JavaScript's Math is not the same libm either) the same holds.
 */
const TOLERANCE_M = 1e-6;
const TENANTS = ['shop-org-a', 'shop-org-b', 'shop-org-c'];
// Monday 2026-12-07 10:00 in Berlin: weekday shops open, "saturday" ones too; a few have no hours.
const MONDAY_MORNING = new Date('2026-12-07T09:00:00Z');
const SATURDAY_NOON = new Date('2026-12-05T11:30:00Z'); // 12:30 in Berlin

/** Around Berlin, plus shops that stress the geometry: the antimeridian, near a pole, the same spot. */
const AREA: SeedArea = {
  timeZone: 'Europe/Berlin',
  cities: [
    { lat: 52.52, lon: 13.405, weight: 80, spreadKm: 30 },
    { lat: 52.3, lon: 13.0, weight: 20, spreadKm: 60 },
  ],
};

function edgeShops(random: SeedShop): SeedShop[] {
  const shop = (id: string, lat: number, lon: number, extra: Partial<SeedShop> = {}): SeedShop => ({
    ...random,
    id,
    name: `Edge ${id.slice(-4)}`,
    lat,
    lon,
    status: 'active',
    services: [],
    ...extra,
  });
  // On a circle of 5000 m around (52.52, 13.405): half a metre inside and outside, due east.
  const east = (metres: number): number => {
    let lo = 13.405;
    let hi = 13.6;
    for (let i = 0; i < 200; i++) {
      const mid = (lo + hi) / 2;
      if (greatCircleMetres(52.52, 13.405, 52.52, mid) < metres) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  return [
    shop('eeeeeeee-0000-4000-8000-000000000001', 52.52, 13.405),
    shop('eeeeeeee-0000-4000-8000-000000000002', 52.52, 13.405), // same spot: the id breaks the tie
    shop('eeeeeeee-0000-4000-8000-000000000003', 52.52, east(4999.5)),
    shop('eeeeeeee-0000-4000-8000-000000000004', 52.52, east(5000.5)),
    shop('eeeeeeee-0000-4000-8000-000000000005', -16.5, 179.99, { timeZone: 'Pacific/Fiji' }),
    shop('eeeeeeee-0000-4000-8000-000000000006', -16.5, -179.99, { timeZone: 'Pacific/Fiji' }),
    shop('eeeeeeee-0000-4000-8000-000000000007', 89.5, 0, { timeZone: 'UTC' }),
    shop('eeeeeeee-0000-4000-8000-000000000008', 89.5, 180, { timeZone: 'UTC' }),
  ];
}

interface Search {
  label: string;
  query: NearbyQuery;
}

const base = { sort: 'distance' as const, at: MONDAY_MORNING };
const SEARCHES: Search[] = [
  { label: 'city centre, 5 km', query: { ...base, lat: 52.52, lon: 13.405, radiusM: 5000 } },
  { label: 'city centre, 100 km', query: { ...base, lat: 52.52, lon: 13.405, radiusM: 100_000 } },
  { label: 'outskirts, 2 km', query: { ...base, lat: 52.4, lon: 13.1, radiusM: 2000 } },
  {
    label: 'oil change by price',
    query: { ...base, lat: 52.5, lon: 13.4, radiusM: 20_000, service: 'oil_change', sort: 'price' },
  },
  {
    label: 'brakes by rating',
    query: { ...base, lat: 52.5, lon: 13.4, radiusM: 30_000, service: 'brakes', sort: 'rating' },
  },
  {
    label: 'rated 4+, by rating',
    query: { ...base, lat: 52.55, lon: 13.3, radiusM: 15_000, minRating: 4, sort: 'rating' },
  },
  { label: 'labour rate by price', query: { ...base, lat: 52.55, lon: 13.3, radiusM: 10_000, sort: 'price' } },
  { label: 'open on Monday morning', query: { ...base, lat: 52.52, lon: 13.405, radiusM: 10_000, openNow: true } },
  {
    label: 'open on Saturday noon, tyres',
    query: { ...base, at: SATURDAY_NOON, lat: 52.52, lon: 13.405, radiusM: 40_000, openNow: true, service: 'tyres' },
  },
  // The grid (nearby-grid.ts) with its fine cells (radius up to 6 km) and filters during the walk.
  {
    label: 'open now, 4 km, by rating',
    query: { ...base, lat: 52.52, lon: 13.405, radiusM: 4000, openNow: true, sort: 'rating' },
  },
  {
    label: 'rated 3.5+, 6 km, by price',
    query: { ...base, lat: 52.51, lon: 13.42, radiusM: 6000, minRating: 3.5, sort: 'price' },
  },
  {
    label: 'tyres open now, 25 km, by price',
    query: { ...base, lat: 52.52, lon: 13.405, radiusM: 25_000, openNow: true, service: 'tyres', sort: 'price' },
  },
  // The nearest-first window over the shops offering the service (migration 036's KNN index).
  {
    label: 'diagnostics rated 4+, by distance',
    query: { ...base, lat: 52.52, lon: 13.405, radiusM: 30_000, service: 'diagnostics', minRating: 4 },
  },
  { label: 'across the antimeridian', query: { ...base, lat: -16.5, lon: 179.999, radiusM: 5000 } },
  { label: 'near the pole', query: { ...base, lat: 89.9, lon: 90, radiusM: 60_000 } },
  { label: 'nothing there', query: { ...base, lat: 0, lon: 0, radiusM: 100_000 } },
];

/** The answer by brute force over the seeded shops (what every strategy must return). */
function expected(shops: readonly SeedShop[], q: NearbyQuery): { id: string; distance: number }[] {
  return (
    shops
      .filter((s) => s.status === 'active')
      .map((s) => ({ s, distance: greatCircleMetres(q.lat, q.lon, s.lat, s.lon) }))
      .filter(
        ({ s, distance }) => distance <= q.radiusM && (q.minRating === undefined || (s.ratingAvg ?? -1) >= q.minRating),
      )
      .filter(({ s }) => q.service === undefined || s.services.some((v) => v.code === q.service))
      // The open-now searches are around Berlin, where every shop keeps Berlin time.
      .filter(({ s }) => !q.openNow || (q.at === SATURDAY_NOON ? s.hours === 'saturday' : s.hours !== 'none'))
      .map(({ s, distance }) => ({ id: s.id, distance }))
  );
}

/** Every page of a search, followed through `next`, with `limit` per page. */
async function searchAll(
  db: Database,
  strategy: NearbyStrategy,
  query: NearbyQuery,
  limit: number,
): Promise<NearbyRow[]> {
  const rows: NearbyRow[] = [];
  let page: PageRequest = { limit };
  for (let i = 0; i < 10_000; i++) {
    const result = await db.withTenant('consumers', (q) => nearbyPage(q, strategy, query, page));
    rows.push(...result.items);
    if (result.next === null) return rows;
    page = { limit, cursor: decodeCursor(NEARBY_LISTINGS[query.sort], result.next) };
  }
  throw new Error('paging did not end');
}

describe('nearby search: the same answers on PGlite and PostgreSQL', () => {
  let pglite: Database;
  let postgres: Database;
  let shops: SeedShop[];

  beforeAll(async () => {
    const generated = generateShops(3000, 20261207, AREA, TENANTS);
    shops = [...generated, ...edgeShops(generated[0]!)];
    const seed = async (db: Database): Promise<void> => {
      for (const t of TENANTS) await db.query(`INSERT INTO tenants (id, name) VALUES ($1, $1)`, [t]);
      await insertShops(db, shops);
    };
    [pglite, postgres] = await Promise.all([
      openTestDatabase('pglite', { seed }),
      openTestDatabase('postgres', { adminUrl: inject('pgAdminUrl'), name: 'api_nearby_contract', seed }),
    ]);
  }, 240_000);
  afterAll(async () => {
    await Promise.all([pglite?.close(), postgres?.close()]);
  });

  it('uses PostGIS on PostgreSQL and earthdistance on PGlite', async () => {
    expect(await postgres.withTenant('consumers', availableStrategies)).toEqual(['postgis', 'earthdistance', 'bbox']);
    expect(await pglite.withTenant('consumers', availableStrategies)).toEqual(['earthdistance', 'bbox']);
  });

  it.each(SEARCHES)(
    'answers "$label" identically with every strategy on both engines',
    async ({ query }) => {
      const reference = await searchAll(postgres, 'postgis', query, 1000);
      const want = expected(shops, query);
      // The brute force: the same set of shops at the same distances (its order is checked below).
      expect(reference.map((r) => r.id).sort()).toEqual(want.map((w) => w.id).sort());
      const wantDistance = new Map(want.map((w) => [w.id, w.distance]));
      for (const r of reference) expect(Math.abs(r.distance_m - wantDistance.get(r.id)!)).toBeLessThan(TOLERANCE_M);
      // Sorted as asked.
      const keys = reference.map((r) => r.sort_key);
      const sorted = [...keys].sort();
      expect(keys).toEqual(query.sort === 'rating' ? sorted.reverse() : sorted);
      if (query.sort === 'distance')
        for (let i = 1; i < reference.length; i++)
          expect(reference[i]!.distance_m).toBeGreaterThanOrEqual(reference[i - 1]!.distance_m - 0.001);

      const runs: [string, Database, NearbyStrategy, number][] = [
        ['PGlite earthdistance', pglite, 'earthdistance', 1000],
        // Paging through `next` (small pages where there are few shops, to keep the run short).
        ['PGlite earthdistance, paged', pglite, 'earthdistance', reference.length > 200 ? 211 : 7],
        ['PGlite bbox', pglite, 'bbox', 1000],
        ['PGlite scan', pglite, 'scan', 1000],
        ['PostgreSQL postgis, paged', postgres, 'postgis', reference.length > 200 ? 211 : 7],
        ['PostgreSQL earthdistance', postgres, 'earthdistance', 1000],
        ['PostgreSQL bbox', postgres, 'bbox', 1000],
        ['PostgreSQL scan', postgres, 'scan', 1000],
      ];
      for (const [label, db, strategy, limit] of runs) {
        const rows = await searchAll(db, strategy, query, limit);
        expect(
          rows.map((r) => r.id),
          label,
        ).toEqual(reference.map((r) => r.id));
        rows.forEach((r, i) => {
          expect(Math.abs(r.distance_m - reference[i]!.distance_m), label).toBeLessThan(TOLERANCE_M);
          expect({ ...r, distance_m: 0 }, label).toEqual({ ...reference[i]!, distance_m: 0 });
        });
      }
    },
    180_000,
  );

  it.each(SEARCHES.filter((s) => s.query.sort !== 'distance' || s.query.service !== undefined))(
    'pages "$label" 20 at a time as the full scan orders it',
    async ({ query }) => {
      for (const [label, db, strategy] of [
        ['PGlite', pglite, 'earthdistance'],
        ['PostgreSQL', postgres, 'postgis'],
      ] as const) {
        const reference = await searchAll(db, 'scan', query, 1000);
        const paged = await searchAll(db, strategy, query, 20);
        expect(
          paged.map((r) => r.id),
          label,
        ).toEqual(reference.map((r) => r.id));
        expect(paged, label).toEqual(reference);
      }
    },
    180_000,
  );

  it('follows changes to shops and services at once (the grid copy of migration 036)', async () => {
    const query: NearbyQuery = {
      ...base,
      lat: 52.52,
      lon: 13.405,
      radiusM: 3000,
      service: 'oil_change',
      sort: 'price',
    };
    const [first, second] = (await searchAll(pglite, 'earthdistance', query, 1000)).slice(0, 2);
    expect(second).toBeDefined();
    for (const db of [pglite, postgres]) {
      // A second, cheaper offer of the code; a better rating; a withdrawn offer; a shop no longer listed.
      await db.query(
        `INSERT INTO partner_services (tenant_id, partner_id, code, name, price_kind, price_minor, currency, duration_minutes)
         SELECT tenant_id, id, 'oil_change', 'Cheap oil', 'fixed', 1, 'EUR', 30 FROM partners WHERE id = $1`,
        [second!.id],
      );
      await db.query(`UPDATE partners SET rating_avg = 5 WHERE id = $1`, [second!.id]);
      await db.query(`UPDATE partners SET status = 'draft' WHERE id = $1`, [first!.id]);
    }
    for (const q of [query, { ...query, sort: 'rating' as const }, { ...query, service: undefined }]) {
      for (const [db, strategy] of [
        [pglite, 'earthdistance'],
        [postgres, 'postgis'],
      ] as const) {
        const rows = await searchAll(db, strategy, q, 5);
        expect(rows).toEqual(await searchAll(db, 'scan', q, 1000));
        expect(rows.map((r) => r.id)).not.toContain(first!.id);
        if (q.sort === 'price' && q.service) expect(rows[0]).toMatchObject({ id: second!.id, price_minor: 1 });
        if (q.sort === 'rating') expect(rows[0]).toMatchObject({ id: second!.id, rating_avg: 5 });
      }
    }
    for (const db of [pglite, postgres]) {
      await db.query(`DELETE FROM partner_services WHERE partner_id = $1 AND price_minor = 1`, [second!.id]);
      await db.query(`UPDATE partners SET rating_avg = $2 WHERE id = $1`, [second!.id, second!.rating_avg]);
      await db.query(`UPDATE partners SET status = 'active' WHERE id = $1`, [first!.id]);
    }
    expect(await searchAll(pglite, 'earthdistance', query, 1000)).toEqual(await searchAll(pglite, 'scan', query, 1000));
  }, 180_000);

  it('finds what the searches above need to mean something', async () => {
    const counts = await Promise.all(
      SEARCHES.map(async (s) => (await searchAll(pglite, 'earthdistance', s.query, 1000)).length),
    );
    const byLabel = Object.fromEntries(SEARCHES.map((s, i) => [s.label, counts[i]]));
    expect(byLabel['city centre, 100 km']).toBeGreaterThan(2000);
    expect(byLabel['city centre, 5 km']).toBeGreaterThan(20);
    expect(byLabel['across the antimeridian']).toBe(2);
    expect(byLabel['near the pole']).toBe(2);
    expect(byLabel['nothing there']).toBe(0);
    // Open-now filters something out, and keeps something.
    expect(byLabel['open on Monday morning']).toBeGreaterThan(0);
    expect(byLabel['open on Monday morning']).toBeLessThan(
      (await searchAll(pglite, 'earthdistance', { ...SEARCHES[0]!.query, radiusM: 10_000 }, 1000)).length,
    );
    // The circle's edge: half a metre inside is in, half a metre outside is out.
    const ids = (await searchAll(postgres, 'postgis', SEARCHES[0]!.query, 1000)).map((r) => r.id);
    expect(ids).toContain('eeeeeeee-0000-4000-8000-000000000003');
    expect(ids).not.toContain('eeeeeeee-0000-4000-8000-000000000004');
    expect(ids.slice(0, 2)).toEqual(['eeeeeeee-0000-4000-8000-000000000001', 'eeeeeeee-0000-4000-8000-000000000002']);
  });
});
