import type { Queryable } from '@clutch/db';
import { encodeCursor, type Page, type PageRequest } from '../http/pagination.js';
import { openAtSql } from './hours.js';
import {
  distanceSql,
  EARTH_RADIUS_M,
  NEARBY_LISTINGS,
  sortKeySql,
  type NearbyQuery,
  type NearbyRow,
} from './nearby.js';

/**
 * Nearby search sorted by rating or price through the grid of migration 036 (`partner_search`):
 * instead of every shop in the radius (15,000 in a 25 km radius over Berlin in the bench), each grid
 * cell the radius touches gives its best rated (or cheapest) shops that pass the filters, at most
 * one page's worth (a B-tree on (code, cell, rating) or (code, cell, price) walked in order, LIMIT
 * inside a LATERAL), and only those are sorted. Every shop of the page is among them: a shop in the
 * radius lies in one of the cells, and in its cell it is among the first `limit + 1` in the
 * listing's order, or the page already holds `limit + 1` shops before it.
 *
 * The answer is the one the radius query gives (nearby.ts): the same distance formula, filters, sort
 * key and ties (nearby.contract.test.ts compares the two). A radius whose box crosses the
 * antimeridian, comes near a pole or touches too many cells goes the radius way.
 */

/** Cell sizes in degrees (latitude, longitude), as partner_grid_cell() in migration 036 stores them. */
const FINE = { column: 'cell_fine', lat: 0.05, lon: 0.08 } as const;
const COARSE = { column: 'cell_coarse', lat: 0.2, lon: 0.32 } as const;
/** Up to this radius the fine cells (about 5.5 km), above it the coarse ones (about 22 km). */
const FINE_UP_TO_M = 6000;
/** More cells than this: the radius query instead (a huge radius, or far north). */
const MAX_CELLS = 400;

export interface GridCells {
  column: 'cell_fine' | 'cell_coarse';
  cells: number[];
}

/**
 * The cells of the bounding box of the radius (the box of `partners_near_bbox`, a superset of the
 * circle), or undefined when the grid does not serve this search.
 */
export function gridCells(query: Pick<NearbyQuery, 'lat' | 'lon' | 'radiusM'>): GridCells | undefined {
  const size = query.radiusM <= FINE_UP_TO_M ? FINE : COARSE;
  const dlat = ((query.radiusM * 1.001 + 1) / EARTH_RADIUS_M) * (180 / Math.PI);
  if (Math.abs(query.lat) + dlat >= 89) return undefined;
  const dlon = dlat / Math.cos(((Math.abs(query.lat) + dlat) * Math.PI) / 180);
  const lonMin = query.lon - dlon;
  const lonMax = query.lon + dlon;
  if (lonMin < -180 || lonMax > 180) return undefined;
  // The same float8 arithmetic as partner_grid_cell(): floor is monotonic, so the box's corner
  // cells bound the cells of every point inside it.
  const row = (lat: number): number => Math.floor((lat + 90) / size.lat);
  const col = (lon: number): number => Math.floor((lon + 180) / size.lon);
  const rows = [row(query.lat - dlat), row(query.lat + dlat)] as const;
  const cols = [col(lonMin), col(lonMax)] as const;
  if ((rows[1] - rows[0] + 1) * (cols[1] - cols[0] + 1) > MAX_CELLS) return undefined;
  const cells: number[] = [];
  for (let r = rows[0]; r <= rows[1]; r++) for (let c = cols[0]; c <= cols[1]; c++) cells.push(r * 10000 + c);
  return { column: size.column, cells };
}

/** One page sorted by rating or price, through the grid. */
export async function gridPage(
  q: Queryable,
  query: NearbyQuery & { sort: 'rating' | 'price' },
  page: PageRequest,
  grid: GridCells,
  availability: (params: { at: string; days: string }) => string,
): Promise<Page<NearbyRow>> {
  const params: unknown[] = [query.lat, query.lon, query.radiusM, query.at];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const listing = NEARBY_LISTINGS[query.sort];
  const desc = listing.order === 'desc';
  const direction = desc ? 'DESC' : 'ASC';
  const sortKey = sortKeySql(query.sort, { distance: 'd.distance_m', rating: 'x.rating_avg', price: 'x.price_minor' });
  // The index's column first (same order as the key's first part: numeric(3,2) ratings and integer
  // prices map one to one onto their digits), then the whole key and the id: the listing's order.
  const indexed = query.sort === 'rating' ? 'x.rating_avg DESC NULLS LAST' : 'x.price_minor ASC NULLS LAST';
  const filters = [
    `x.code = ${param(query.service ?? '')}`,
    `x.${grid.column} = cell.id`,
    'd.distance_m <= $3::float8',
  ];
  if (query.minRating !== undefined) filters.push(`x.rating_avg >= ${param(query.minRating)}::numeric`);
  if (query.openNow) filters.push(openAtSql('p', '$4::timestamptz'));
  if (query.availableWithinDays !== undefined)
    filters.push(availability({ at: '$4::timestamptz', days: `${param(query.availableWithinDays)}::int` }));
  if (page.cursor)
    filters.push(
      `(${sortKey}, x.partner_id) ${desc ? '<' : '>'} (${param(page.cursor.t)}::text, ${param(page.cursor.id)}::uuid)`,
    );
  const cells = param(grid.cells);
  const take = param(page.limit + 1);
  const { rows } = await q.query<NearbyRow>(
    `SELECT p.id, p.tenant_id, p.name, p.kinds, p.lat, p.lon, p.address, p.time_zone, p.currency,
            p.labour_rate_minor, p.rating_avg::float8 AS rating_avg, p.rating_count, top.distance_m,
            ${openAtSql('p', '$4::timestamptz')} AS open_now, top.price_kind, top.price_minor, top.service_id,
            top.sort_key
       FROM (SELECT c.* FROM unnest(${cells}::int[]) AS cell (id)
              CROSS JOIN LATERAL (
                SELECT x.partner_id AS id, x.price_kind, x.price_minor, x.service_id::text AS service_id,
                       d.distance_m, ${sortKey} AS sort_key
                  FROM partner_search x
                 CROSS JOIN LATERAL (SELECT ${distanceSql('x')} AS distance_m) AS d
                 CROSS JOIN LATERAL (SELECT x.partner_id AS id, x.time_zone) AS p
                 WHERE ${filters.join(' AND ')}
                 ORDER BY ${indexed}, 6 ${direction}, x.partner_id ${direction}
                 LIMIT ${take}) AS c
              ORDER BY c.sort_key ${direction}, c.id ${direction}
              LIMIT ${take}) AS top
       JOIN partners p ON p.id = top.id
      ORDER BY top.sort_key ${direction}, top.id ${direction}`,
    params,
  );
  const more = rows.length > page.limit;
  const items = more ? rows.slice(0, page.limit) : rows;
  const last = items.at(-1);
  return { items, next: more && last ? encodeCursor(listing, { t: last.sort_key, id: last.id }) : null };
}
