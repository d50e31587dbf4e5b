import type { Queryable } from '@clutch/db';
import { z } from 'zod';
import { apiError } from '../errors.js';

/**
 * Cursor pagination for every list endpoint: newest first, keyset on (time, id), `limit` and an opaque
 * `cursor` in the query, `{ items, next }` out (`next` null on the last page).
 *
 * Keyset rather than OFFSET: a page costs the same however deep it is, and rows inserted while a
 * client pages do not shift later pages (no duplicates, no gaps). The id breaks ties on time, so rows
 * sharing a timestamp are neither skipped nor repeated.
 *
 * The cursor is base64url of `{"l": listing, "t": ISO time with microseconds, "id": id}`. It is opaque
 * to clients but not secret: a client can forge one, which only moves its start position (row-level
 * security still decides what it sees). Decoding validates everything, so a tampered cursor, or one from
 * another listing, is a 400 problem (VALIDATION_FAILED on /query/cursor), never a 500 from SQL.
 */

/** How a list endpoint's rows are ordered: output column names of its SELECT, and the id's SQL type. */
export interface Listing {
  /** Names the listing inside its cursors, so a cursor of another endpoint is refused. */
  name: string;
  /** A NOT NULL timestamptz column. */
  time: string;
  /** A NOT NULL column unique within the listing. */
  id: string;
  idType: 'uuid' | 'bigint' | 'text';
}

/** A position: the (time, id) of the last row of the previous page. */
export interface Keyset {
  /** ISO 8601 UTC with up to microseconds (PostgreSQL precision; a JS Date would drop them). */
  t: string;
  id: string;
}

export interface Page<T> {
  items: T[];
  /** The cursor of the next page; null when this is the last one. */
  next: string | null;
}

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 200;
/** Far above any cursor we issue; bounds the work on a hostile one. */
const MAX_CURSOR_LENGTH = 512;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ISO_TIME = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BIGINT = /^-?\d{1,19}$/;
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const MAX_TEXT_ID = 256;

const cursorShape = z.strictObject({ l: z.string(), t: z.string(), id: z.string() });

/** Something PostgreSQL accepts as timestamptz: checked field by field so no SQL error can follow. */
function isValidTime(t: string): boolean {
  const match = ISO_TIME.exec(t);
  if (!match || Number(match[1]) < 1) return false;
  // Round trip through Date: refuses month 13, 30 February, hour 25 and the like.
  const seconds = t.slice(0, 19);
  const parsed = new Date(`${seconds}Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 19) === seconds;
}

function isValidId(id: string, type: Listing['idType']): boolean {
  switch (type) {
    case 'uuid':
      return UUID.test(id);
    case 'bigint': {
      if (!BIGINT.test(id)) return false;
      const n = BigInt(id);
      return n >= -(2n ** 63n) && n < 2n ** 63n;
    }
    case 'text':
      // PostgreSQL text cannot hold NUL.
      return id.length > 0 && id.length <= MAX_TEXT_ID && !id.includes('\u0000');
  }
}

export function encodeCursor(listing: Listing, keyset: Keyset): string {
  return Buffer.from(JSON.stringify({ l: listing.name, t: keyset.t, id: keyset.id }), 'utf8').toString('base64url');
}

/** The position a cursor names, or why it is not one of this listing's cursors. */
export function readCursor(listing: Listing, cursor: string): { keyset: Keyset } | { error: string } {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) return { error: 'is not a cursor' };
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return { error: 'is not a cursor' };
  }
  const shape = cursorShape.safeParse(decoded);
  if (!shape.success) return { error: 'is not a cursor' };
  const { l, t, id } = shape.data;
  if (l !== listing.name) return { error: 'is a cursor of another listing' };
  if (!isValidTime(t) || !isValidId(id, listing.idType)) return { error: 'is not a valid cursor' };
  return { keyset: { t, id } };
}

/** As readCursor, for callers outside a zod schema: a bad cursor is a 400 problem. */
export function decodeCursor(listing: Listing, cursor: string): Keyset {
  const read = readCursor(listing, cursor);
  if ('keyset' in read) return read.keyset;
  const errors = [{ pointer: '/query/cursor', detail: read.error }];
  throw apiError('VALIDATION_FAILED', `Invalid query: cursor: ${read.error}`, { errors });
}

export interface PageLimits {
  defaultLimit?: number;
  maxLimit?: number;
}

/**
 * The `limit` and `cursor` query parameters, to spread into a route's query schema next to its filters:
 * `query: z.object({ tenantId: ..., ...pageParams(listing) })`. The cursor comes out decoded.
 */
export function pageParams(listing: Listing, limits: PageLimits = {}) {
  const maxLimit = limits.maxLimit ?? MAX_PAGE_LIMIT;
  const defaultLimit = Math.min(limits.defaultLimit ?? DEFAULT_PAGE_LIMIT, maxLimit);
  return {
    limit: z.coerce.number().int().min(1).max(maxLimit).default(defaultLimit).describe(`Page size (1 to ${maxLimit}, default ${defaultLimit})`),
    cursor: z
      .string()
      .optional()
      .transform((value, ctx): Keyset | undefined => {
        if (value === undefined) return undefined;
        const read = readCursor(listing, value);
        if ('keyset' in read) return read.keyset;
        ctx.addIssue({ code: 'custom', message: read.error });
        return z.NEVER;
      })
      .describe('Opaque cursor: the `next` of the previous page; omitted for the first page'),
  };
}

/** A query schema of just the paging parameters. */
export function pageQuery(listing: Listing, limits: PageLimits = {}) {
  return z.object(pageParams(listing, limits));
}

/** What pageParams parse to. */
export interface PageRequest {
  limit: number;
  cursor?: Keyset | undefined;
}

const CURSOR_TIME = 'keyset_cursor_t';
const CURSOR_ID = 'keyset_cursor_id';

/**
 * One page of `select` (a SELECT with its own filters and parameters $1..$n, no ORDER BY or LIMIT),
 * newest first. It runs as
 *
 *   SELECT ... FROM (select) AS page WHERE (time, id) < ($n+1, $n+2) ORDER BY time DESC, id DESC LIMIT limit + 1
 *
 * PostgreSQL flattens a plain subquery (no LIMIT, DISTINCT, aggregates or window functions), so an
 * index on (time, id) (or (tenant, time, id)) serves it; the
 * extra row tells whether a next page exists. The cursor's time is read back as text with microseconds.
 */
export async function keysetPage<T extends object>(
  q: Queryable,
  listing: Listing,
  select: { sql: string; params?: readonly unknown[] },
  page: PageRequest,
): Promise<Page<T>> {
  if (!IDENTIFIER.test(listing.time) || !IDENTIFIER.test(listing.id)) throw new Error(`listing ${listing.name}: column names must be plain identifiers`);
  const params = [...(select.params ?? [])];
  const time = `page.${listing.time}`;
  const id = `page.${listing.id}`;
  let where = '';
  if (page.cursor) {
    params.push(page.cursor.t, page.cursor.id);
    where = `WHERE (${time}, ${id}) < ($${params.length - 1}::timestamptz, $${params.length}::${listing.idType})`;
  }
  params.push(page.limit + 1);
  const { rows } = await q.query<T & Record<typeof CURSOR_TIME | typeof CURSOR_ID, string | null>>(
    `SELECT page.*,
            to_char(${time} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ${CURSOR_TIME},
            ${id}::text AS ${CURSOR_ID}
       FROM (${select.sql}) AS page
      ${where}
      ORDER BY ${time} DESC, ${id} DESC
      LIMIT $${params.length}`,
    params,
  );
  const more = rows.length > page.limit;
  const kept = more ? rows.slice(0, page.limit) : rows;
  const items = kept.map((row) => {
    const { [CURSOR_TIME]: _t, [CURSOR_ID]: _id, ...item } = row;
    return item as unknown as T;
  });
  const last = kept.at(-1);
  if (!more || !last) return { items, next: null };
  const t = last[CURSOR_TIME];
  const lastId = last[CURSOR_ID];
  if (t === null || lastId === null) throw new Error(`listing ${listing.name}: ${listing.time} and ${listing.id} must not be NULL`);
  return { items, next: encodeCursor(listing, { t, id: lastId }) };
}
