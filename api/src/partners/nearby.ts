import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';
import { openAtSql } from './hours.js';
import type { ServiceCode } from './service-catalogue.js';

/**
 * Nearby search (issue 15, item 2): listed shops within a radius of a position, filtered and sorted,
 * the same on every engine. Two steps:
 *
 * 1. Candidates through a spatial index, by one of the `partners_near_*` functions of migration 025
 *    (a superset of the shops within the radius): PostGIS where the server has it, cube +
 *    earthdistance (PGlite; a server without PostGIS), or a bounding box over a B-tree.
 * 2. The exact great-circle distance, one formula in SQL for all three (haversine on the sphere of
 *    radius EARTH_RADIUS_M), which decides membership, the distance shown and the order.
 *
 * So the engine and the index change how fast the candidates are found, never which shops come back,
 * in what order, or at what distance (nearby.contract.test.ts compares them).
 */

/** The mean Earth radius (IUGG R1, the one PostGIS's sphere uses to the decimetre), in metres. */
export const EARTH_RADIUS_M = 6_371_008.8;

export type NearbyStrategy = 'postgis' | 'earthdistance' | 'bbox' | 'scan';
/** Best first; `scan` (no index: every listed shop) is the reference the bench compares with. */
export const STRATEGIES: readonly NearbyStrategy[] = ['postgis', 'earthdistance', 'bbox'];

/** Strategies whose index also gives the nearest first (KNN), for searches sorted by distance. */
const NEAREST: Partial<Record<NearbyStrategy, string>> = {
  postgis: 'partners_knn_postgis',
  earthdistance: 'partners_knn_earth',
};

/**
 * Strategies whose window may come from the (code, point) index of migration 036 when a service or a
 * minimum rating is asked. Not earthdistance: on PGlite its planner reads that index as a bitmap of
 * the whole box and sorts it instead of walking it nearest first, which made those searches slower
 * than the plain window (measured: distance-sorted p95 54 ms against 29 ms before).
 */
const CODE_WINDOW: ReadonlySet<NearbyStrategy> = new Set(['postgis']);

const CANDIDATES: Record<Exclude<NearbyStrategy, 'scan'>, string> = {
  postgis: 'partners_near_postgis',
  earthdistance: 'partners_near_earth',
  bbox: 'partners_near_bbox',
};

/** The strategies whose candidates function this database has, best first. */
export async function availableStrategies(q: Queryable): Promise<NearbyStrategy[]> {
  const { rows } = await q.query<{ name: string }>(
    `SELECT proname AS name FROM pg_proc WHERE proname = ANY ($1::text[])`,
    [Object.values(CANDIDATES)],
  );
  const present = new Set(rows.map((r) => r.name));
  return STRATEGIES.filter((s) => s !== 'scan' && present.has(CANDIDATES[s]));
}

/** The great-circle distance in metres, as the SQL below computes it (haversine). */
export function greatCircleMetres(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const a =
    Math.sin(((lat2 - lat1) * rad) / 2) ** 2 +
    Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

export type NearbySort = 'distance' | 'rating' | 'price';

export interface NearbyQuery {
  lat: number;
  lon: number;
  radiusM: number;
  service?: ServiceCode | undefined;
  /** Only shops open at `at`. */
  openNow?: boolean | undefined;
  minRating?: number | undefined;
  /** Only shops that can take work within this many days (see `availableWithinDays` in docs/partners.md). */
  availableWithinDays?: number | undefined;
  sort: NearbySort;
  /** The moment "open now" and "within N days" are judged at. */
  at: Date;
}

export interface NearbyRow {
  id: string;
  tenant_id: string;
  name: string;
  kinds: string[];
  lat: number;
  lon: number;
  address: Record<string, unknown> | null;
  time_zone: string;
  currency: string;
  labour_rate_minor: number | null;
  rating_avg: number | null;
  rating_count: number;
  distance_m: number;
  open_now: boolean;
  price_kind: string | null;
  price_minor: number | null;
  service_id: string | null;
  /** The row's position in its listing (the cursor's key). */
  sort_key: string;
}

/** With a window: how many candidates it held, and the farthest of them. */
export interface WindowStats {
  window_n: number;
  window_max_m: number | null;
}

// Sort keys are fixed-width digit strings (the shared pagination helper pages on a text key): the
// distance in millimetres, 12 digits (up to 10^9 m); a rating 000 (none) to 501; a price in minor units.
/** The columns a sort key is computed from (aliases differ between the radius and the grid queries). */
export interface SortKeyColumns {
  distance: string;
  rating: string;
  price: string;
}

/** The SQL of a listing's sort key over the given columns. */
export function sortKeySql(sort: NearbySort, c: SortKeyColumns): string {
  const mm = `lpad(round(${c.distance} * 1000)::bigint::text, 12, '0')`;
  switch (sort) {
    case 'distance':
      return mm;
    // Best rated first (descending), then nearest: the distance part is inverted.
    case 'rating':
      return `lpad(coalesce(round(${c.rating} * 100)::int + 1, 0)::text, 3, '0')
           || lpad((999999999999 - round(${c.distance} * 1000)::bigint)::text, 12, '0')`;
    // Cheapest first (unpriced last), then nearest.
    case 'price':
      return `lpad(coalesce(${c.price}, 99999999999)::text, 11, '0') || ${mm}`;
  }
}

const SORT_COLUMNS: SortKeyColumns = { distance: 'd.distance_m', rating: 'p.rating_avg', price: 'svc.price_minor' };

/** The great-circle distance in SQL from ($1, $2) to the row `t` (haversine; the one formula everywhere). */
export const distanceSql = (t: string): string => `2 * ${EARTH_RADIUS_M} * asin(least(1, sqrt(
                power(sin(radians(${t}.lat - $1::float8) / 2), 2)
                + cos(radians($1::float8)) * cos(radians(${t}.lat)) * power(sin(radians(${t}.lon - $2::float8) / 2), 2))))`;

export const NEARBY_LISTINGS: Record<NearbySort, Listing> = {
  distance: { name: 'nearby-distance', key: 'sort_key', keyType: 'text', id: 'id', idType: 'uuid', order: 'asc' },
  rating: { name: 'nearby-rating', key: 'sort_key', keyType: 'text', id: 'id', idType: 'uuid', order: 'desc' },
  price: { name: 'nearby-price', key: 'sort_key', keyType: 'text', id: 'id', idType: 'uuid', order: 'asc' },
};

/**
 * One page of the search. `availability` is the SQL condition (over `p`, with `$at` and `$days`
 * already bound as the parameters it is given) that says a shop can take work within N days.
 */
export async function searchNearby(
  q: Queryable,
  strategy: NearbyStrategy,
  query: NearbyQuery,
  page: PageRequest,
  availability: (params: { at: string; days: string }) => string,
  /** Only the `window` nearest candidates (sorted by distance, with a KNN index): see nearbyPage. */
  window?: number,
): Promise<Page<NearbyRow & Partial<WindowStats>>> {
  const params: unknown[] = [query.lat, query.lon, query.radiusM, query.at];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const nearest = window === undefined ? undefined : NEAREST[strategy];
  const from =
    nearest !== undefined
      ? 'w AS p'
      : strategy === 'scan'
        ? 'partners p'
        : `${CANDIDATES[strategy]}($1::float8, $2::float8, $3::float8) AS p`;
  const windowCte =
    nearest !== undefined
      ? (query.service === undefined && query.minRating === undefined) || !CODE_WINDOW.has(strategy)
        ? `WITH w AS MATERIALIZED (SELECT * FROM ${nearest}($1::float8, $2::float8, $3::float8, ${param(window)}::int))`
        : // The nearest shops offering the service and rated as asked (migration 036's (code, point) index).
          `WITH w AS MATERIALIZED (SELECT * FROM ${nearest}_code($1::float8, $2::float8, $3::float8, ${param(window)}::int,
                                                ${param(query.service ?? '')}::text, ${param(query.minRating ?? null)}::numeric))`
      : '';
  const distance = distanceSql;
  const windowStats =
    nearest !== undefined
      ? `, (SELECT count(*) FROM w)::int AS window_n, (SELECT max(${distance('w')}) FROM w) AS window_max_m`
      : '';
  // The cheapest active offer of the service: a fixed or hourly price (an hourly one without its own
  // rate is the shop's labour rate), else a quote. Without a service: the shop's labour rate.
  const service =
    query.service === undefined
      ? `LEFT JOIN LATERAL (SELECT NULL::text AS id, CASE WHEN p.labour_rate_minor IS NULL THEN NULL ELSE 'hourly' END AS price_kind,
                                   p.labour_rate_minor AS price_minor) AS svc ON true`
      : `JOIN LATERAL (SELECT s.id::text AS id, s.price_kind,
                              coalesce(s.price_minor, CASE WHEN s.price_kind = 'hourly' THEN p.labour_rate_minor END) AS price_minor
                         FROM partner_services s
                        WHERE s.partner_id = p.id AND s.code = ${param(query.service)} AND s.active
                        ORDER BY 3 NULLS LAST, s.id LIMIT 1) AS svc ON true`;
  const filters: string[] = ["p.status = 'active'", 'd.distance_m <= $3::float8'];
  if (query.minRating !== undefined) filters.push(`p.rating_avg >= ${param(query.minRating)}::numeric`);
  if (query.openNow) filters.push(openAtSql('p', '$4::timestamptz'));
  if (query.availableWithinDays !== undefined)
    filters.push(availability({ at: '$4::timestamptz', days: `${param(query.availableWithinDays)}::int` }));
  const sql = `${windowCte}
    SELECT p.id, p.tenant_id, p.name, p.kinds, p.lat, p.lon, p.address, p.time_zone, p.currency,
           p.labour_rate_minor, p.rating_avg::float8 AS rating_avg, p.rating_count, d.distance_m,
           ${openAtSql('p', '$4::timestamptz')} AS open_now, svc.price_kind, svc.price_minor, svc.id AS service_id,
           ${sortKeySql(query.sort, SORT_COLUMNS)} AS sort_key${windowStats}
      FROM ${from}
     CROSS JOIN LATERAL (SELECT ${distance('p')} AS distance_m) AS d
     ${service}
     WHERE ${filters.join(' AND ')}`;
  return keysetPage<NearbyRow & Partial<WindowStats>>(q, NEARBY_LISTINGS[query.sort], { sql, params }, page);
}

/** Whether searches sorted by distance can take the nearest candidates first with this strategy. */
export function hasNearestFirst(strategy: NearbyStrategy): boolean {
  return NEAREST[strategy] !== undefined;
}
