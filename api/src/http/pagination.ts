import type { Queryable } from '@clutch/db';
import { z } from 'zod';
import { apiError } from '../errors.js';

/**
 * Cursor pagination for every list endpoint: keyset on (key, id), newest first by default, `limit`
 * and an opaque `cursor` in the query, `{ items, next }` out (`next` null on the last page).
 *
 * Keyset rather than OFFSET: a page costs the same however deep it is, and rows inserted while a
 * client pages do not shift later pages (no duplicates, no gaps). The id breaks ties on the key, so
 * rows sharing a timestamp (or a name) are neither skipped nor repeated.
 *
 * The key is usually a time (`timestamptz`, newest first); a listing that clients have always seen in
 * another order (vehicles by name) keeps it with a `text` key and `order: 'asc'`.
 *
 * The cursor is base64url of `{"l": listing, "t": key (a time: ISO with microseconds), "id": id}`. It is opaque
 * to clients but not secret: a client can forge one, which only moves its start position (row-level
 * security still decides what it sees). Decoding validates everything, so a tampered cursor, or one from
 * another listing, is a 400 problem (VALIDATION_FAILED on /query/cursor), never a 500 from SQL.
 */

/** How a list endpoint's rows are ordered: output column names of its SELECT, and their SQL types. */
export interface Listing {
  /** Names the listing inside its cursors, so a cursor of another endpoint is refused. */
  name: string;
  /** The NOT NULL sort column. */
  key: string;
  /** Its SQL type; default timestamptz. */
  keyType?: 'timestamptz' | 'text';
  /** A NOT NULL column unique within the listing. */
  id: string;
  idType: 'uuid' | 'bigint' | 'text';
  /** Default `desc` (newest first). */
  order?: 'asc' | 'desc';
}

/** A position: the (key, id) of the last row of the previous page. */
export interface Keyset {
  /** The key: for a time, ISO 8601 UTC with up to microseconds (PostgreSQL precision; a JS Date would drop them). */
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
/** Above any cursor we issue (a 256-character text key of 3-byte characters and an id); bounds the work on a hostile one. */
const MAX_CURSOR_LENGTH = 1536;

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

/** PostgreSQL text cannot hold NUL; the bound keeps cursors short. */
const isValidText = (s: string): boolean => s.length > 0 && s.length <= MAX_TEXT_ID && !s.includes('\u0000');

function isValidKey(t: string, listing: Listing): boolean {
  return (listing.keyType ?? 'timestamptz') === 'text' ? isValidText(t) : isValidTime(t);
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
      return isValidText(id);
  }
}

export function encodeCursor(listing: Listing, keyset: Keyset): string {
  return Buffer.from(JSON.stringify({ l: listing.name, t: keyset.t, id: keyset.id }), 'utf8').toString('base64url');
}

/** The position a cursor names, or why it is not one of this listing's cursors. */
export function readCursor(listing: Listing, cursor: string): { keyset: Keyset } | { error: string } {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor))
    return { error: 'is not a cursor' };
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
  if (!isValidKey(t, listing) || !isValidId(id, listing.idType)) return { error: 'is not a valid cursor' };
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
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(maxLimit)
      .default(defaultLimit)
      .describe(`Page size (1 to ${maxLimit}, default ${defaultLimit})`),
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
 * in the listing's order. Newest first, it runs as
 *
 *   SELECT ... FROM (select) AS page WHERE (key, id) < ($n+1, $n+2) ORDER BY key DESC, id DESC LIMIT limit + 1
 *
 * (`>` and ASC for an ascending listing). PostgreSQL flattens a plain subquery (no LIMIT, DISTINCT,
 * aggregates or window functions), so an index on (key, id) (or (tenant, key, id)) serves it; the
 * extra row tells whether a next page exists. A time key is read back as text with microseconds.
 */
export async function keysetPage<T extends object>(
  q: Queryable,
  listing: Listing,
  select: { sql: string; params?: readonly unknown[] },
  page: PageRequest,
): Promise<Page<T>> {
  if (!IDENTIFIER.test(listing.key) || !IDENTIFIER.test(listing.id))
    throw new Error(`listing ${listing.name}: column names must be plain identifiers`);
  const params = [...(select.params ?? [])];
  const key = `page.${listing.key}`;
  const id = `page.${listing.id}`;
  const keyType = listing.keyType ?? 'timestamptz';
  const asc = listing.order === 'asc';
  let where = '';
  if (page.cursor) {
    params.push(page.cursor.t, page.cursor.id);
    where = `WHERE (${key}, ${id}) ${asc ? '>' : '<'} ($${params.length - 1}::${keyType}, $${params.length}::${listing.idType})`;
  }
  params.push(page.limit + 1);
  const keyText =
    keyType === 'text' ? `${key}::text` : `to_char(${key} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
  const direction = asc ? 'ASC' : 'DESC';
  const { rows } = await q.query<T & Record<typeof CURSOR_TIME | typeof CURSOR_ID, string | null>>(
    `SELECT page.*,
            ${keyText} AS ${CURSOR_TIME},
            ${id}::text AS ${CURSOR_ID}
       FROM (${select.sql}) AS page
      ${where}
      ORDER BY ${key} ${direction}, ${id} ${direction}
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
  if (t === null || lastId === null)
    throw new Error(`listing ${listing.name}: ${listing.key} and ${listing.id} must not be NULL`);
  return { items, next: encodeCursor(listing, { t, id: lastId }) };
}
