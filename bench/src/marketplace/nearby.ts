// Nearby search over 100,000 shops (issue 15: p95 under 20 ms), on PGlite and PostgreSQL.
//
// The shops: 100,000 generated from a seeded PRNG over Germany, clustered around its larger cities
// the way shops are (GERMANY in api/src/partners/nearby-fixtures.ts), with services, prices, ratings
// and opening hours. The searches: a seeded mix of what the map and the list page ask, from points
// where people are (near the same cities): radius 2, 5, 10 or 25 km, sorted by distance, rating or
// price, a third with a service, a fifth "open now", a fifth with a minimum rating; the first page
// of 20, as a signed-in customer (row-level security on), through the same function the API calls.
//
// The reference, measured in the same run on the same data and searches: the same search without
// a spatial index (every listed shop's distance computed: `scan`), and on PostgreSQL also the
// other indexes (earthdistance, a bounding box over a B-tree). The ratio is reference p95 / ours.
// `BENCH_DB=pglite|postgres` for one engine; `BENCH_SHOPS`, `BENCH_QUERIES` to change the sizes.
import {
  availableStrategies,
  GERMANY,
  generateShops,
  insertShops,
  nearbyPage,
  seededRandom,
  SERVICE_CODES,
  type NearbyQuery,
  type NearbyStrategy,
} from '@clutch/api';
import { migrate, openPglite, openPostgres, type Database } from '@clutch/db';
import { createTestDatabase, startPostgresServer } from '@clutch/test-support';
import { fmt, percentile } from '../common/stats.js';

const SHOPS = Number(process.env.BENCH_SHOPS ?? 100_000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 400);
const TARGET_P95_MS = 20;
const TENANTS = Array.from({ length: 50 }, (_, i) => `bench-shops-${i}`);
const AT = new Date('2026-12-07T09:00:00Z'); // a Monday, 10:00 in Germany

/** The searches, the same list for every engine and strategy. */
function searches(count: number): NearbyQuery[] {
  const random = seededRandom(4242);
  const cities = GERMANY.cities.filter((c) => c.spreadKm < 100);
  const total = cities.reduce((s, c) => s + c.weight, 0);
  return Array.from({ length: count }, () => {
    let pick = random() * total;
    const city = cities.find((c) => (pick -= c.weight) < 0) ?? cities[0]!;
    const r = random();
    const query: NearbyQuery = {
      lat: city.lat + ((random() - 0.5) * city.spreadKm) / 111.2,
      lon: city.lon + ((random() - 0.5) * city.spreadKm) / 70,
      radiusM: [2000, 5000, 10_000, 25_000][Math.floor(random() * 4)]!,
      sort: r < 0.6 ? 'distance' : r < 0.8 ? 'rating' : 'price',
      at: AT,
    };
    if (random() < 0.33) query.service = SERVICE_CODES[Math.floor(random() * SERVICE_CODES.length)]!;
    if (random() < 0.2) query.openNow = true;
    if (random() < 0.2) query.minRating = 3 + Math.floor(random() * 4) / 2;
    return query;
  });
}

interface Measured {
  strategy: NearbyStrategy;
  p50: number;
  p95: number;
  p99: number;
  meanShops: number;
  /** p95 per sort order (the distance sort uses the KNN window). */
  bySort: Record<string, number>;
}

async function measure(db: Database, strategy: NearbyStrategy, queries: readonly NearbyQuery[]): Promise<Measured> {
  // Warm-up: plans, caches, the JIT of the WASM build.
  for (const q of queries.slice(0, 20))
    await db.withTenant('consumers', (tx) => nearbyPage(tx, strategy, q, { limit: 20 }));
  const times: number[] = [];
  const bySort = new Map<string, number[]>();
  let shops = 0;
  for (const q of queries) {
    const start = performance.now();
    const page = await db.withTenant('consumers', (tx) => nearbyPage(tx, strategy, q, { limit: 20 }));
    const ms = performance.now() - start;
    times.push(ms);
    bySort.set(q.sort, [...(bySort.get(q.sort) ?? []), ms]);
    shops += page.items.length;
  }
  return {
    strategy,
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    p99: percentile(times, 99),
    meanShops: shops / queries.length,
    bySort: Object.fromEntries([...bySort].map(([sort, t]) => [sort, percentile(t, 95)])),
  };
}

async function benchEngine(label: string, db: Database): Promise<void> {
  await migrate(db);
  for (const t of TENANTS) await db.query('INSERT INTO tenants (id, name) VALUES ($1, $1)', [t]);
  const seedStart = performance.now();
  await insertShops(db, generateShops(SHOPS, 20261203, GERMANY, TENANTS));
  console.log(`  ${label}: ${fmt(SHOPS)} shops seeded in ${fmt((performance.now() - seedStart) / 1000, 1)} s`);
  const queries = searches(QUERIES);
  const strategies = await db.withTenant('consumers', availableStrategies);
  const results: Measured[] = [];
  for (const strategy of [...strategies, 'scan' as const]) results.push(await measure(db, strategy, queries));
  const ours = results[0]!;
  const scan = results.at(-1)!;
  for (const m of results) {
    const mark = m === ours ? '  <- used' : '';
    console.log(
      `  ${label.padEnd(10)} ${m.strategy.padEnd(13)} p50 ${fmt(m.p50, 2).padStart(7)} ms  p95 ${fmt(m.p95, 2).padStart(7)} ms  p99 ${fmt(m.p99, 2).padStart(7)} ms  (${fmt(m.meanShops, 1)} shops/page; p95 by sort: ${Object.entries(
        m.bySort,
      )
        .map(([sort, ms]) => `${sort} ${fmt(ms, 1)}`)
        .join(', ')})${mark}`,
    );
  }
  const verdict = ours.p95 < TARGET_P95_MS ? 'under' : 'OVER';
  console.log(
    `  ${label}: ${ours.strategy} p95 ${fmt(ours.p95, 2)} ms, ${verdict} the ${TARGET_P95_MS} ms target; ` +
      `the sequential scan's p95 is ${fmt(scan.p95 / ours.p95, 1)}x that` +
      results
        .slice(1, -1)
        .map((m) => `, ${m.strategy}'s ${fmt(m.p95 / ours.p95, 2)}x`)
        .join(''),
  );
}

export async function run(): Promise<void> {
  const only = process.env.BENCH_DB;
  console.log(`marketplace/nearby: ${fmt(QUERIES)} searches (first page of 20) over ${fmt(SHOPS)} shops`);
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
      const db = await openPostgres(await createTestDatabase(server.adminUrl, 'bench_nearby'));
      try {
        await benchEngine('PostgreSQL', db);
      } finally {
        await db.close();
      }
    } finally {
      server.destroy();
    }
  }
}
