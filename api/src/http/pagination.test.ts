import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import Router from '@koa/router';
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import Koa from 'koa';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  decodeCursor,
  encodeCursor,
  keysetPage,
  pageParams,
  pageQuery,
  readCursor,
  type Listing,
} from './pagination.js';
import { problemMiddleware } from './problem.js';
import { parseInput } from './validate.js';

const vehicles: Listing = { name: 'vehicles', key: 'created_at', id: 'id', idType: 'uuid' };
const deadLetters: Listing = { name: 'dead-letters', key: 'received_at', id: 'id', idType: 'bigint' };

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');
const cursorOf = (value: unknown): string => b64(JSON.stringify(value));

describe('cursors', () => {
  const keyset = { t: '2025-03-01T10:00:00.123456Z', id: '0b9e8f2a-1c3d-4e5f-8a6b-7c8d9e0f1a2b' };

  it('round-trip, opaque and URL-safe', () => {
    const cursor = encodeCursor(vehicles, keyset);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(vehicles, cursor)).toEqual(keyset);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'abc+/='],
    ['not JSON', b64('{"l":"vehicles"')],
    ['a JSON array', cursorOf([1, 2])],
    ['missing id', cursorOf({ l: 'vehicles', t: keyset.t })],
    ['an extra field', cursorOf({ ...keyset, l: 'vehicles', x: 1 })],
    ['a number id', cursorOf({ l: 'vehicles', t: keyset.t, id: 7 })],
    ['another listing', encodeCursor(deadLetters, { t: keyset.t, id: '42' })],
    ['a bad uuid', cursorOf({ l: 'vehicles', t: keyset.t, id: "x' OR 1=1 --" })],
    ['month 13', cursorOf({ l: 'vehicles', t: '2025-13-01T00:00:00Z', id: keyset.id })],
    ['30 February', cursorOf({ l: 'vehicles', t: '2025-02-30T00:00:00Z', id: keyset.id })],
    ['year 0', cursorOf({ l: 'vehicles', t: '0000-01-01T00:00:00Z', id: keyset.id })],
    ['a local time', cursorOf({ l: 'vehicles', t: '2025-03-01T10:00:00', id: keyset.id })],
    ['nanoseconds', cursorOf({ l: 'vehicles', t: '2025-03-01T10:00:00.123456789Z', id: keyset.id })],
    ['too long', 'A'.repeat(1537)],
  ])('refuses %s with a 400 problem', (_what, cursor) => {
    expect('error' in readCursor(vehicles, cursor)).toBe(true);
    expect(() => decodeCursor(vehicles, cursor)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  it('checks ids by their SQL type (bigint range, text without NUL)', () => {
    const t = keyset.t;
    expect(readCursor(deadLetters, encodeCursor(deadLetters, { t, id: '9223372036854775807' }))).toEqual({
      keyset: { t, id: '9223372036854775807' },
    });
    expect('error' in readCursor(deadLetters, encodeCursor(deadLetters, { t, id: '9223372036854775808' }))).toBe(true);
    const names: Listing = { name: 'names', key: 'at', id: 'name', idType: 'text' };
    expect('error' in readCursor(names, encodeCursor(names, { t, id: 'a\u0000b' }))).toBe(true);
    expect(readCursor(names, encodeCursor(names, { t, id: 'zoë' }))).toEqual({ keyset: { t, id: 'zoë' } });
  });

  it('parses limit and cursor in a query schema, with defaults and bounds', () => {
    const schema = pageQuery(vehicles, { defaultLimit: 20, maxLimit: 100 });
    expect(schema.parse({})).toEqual({ limit: 20, cursor: undefined });
    expect(schema.parse({ limit: '100', cursor: encodeCursor(vehicles, keyset) })).toEqual({
      limit: 100,
      cursor: keyset,
    });
    for (const limit of ['0', '101', '2.5', 'ten', ['1', '2']]) expect(schema.safeParse({ limit }).success).toBe(false);
    expect(schema.safeParse({ cursor: ['a', 'b'] }).success).toBe(false);
    // Spread next to a route's own filters.
    const withFilter = z.object({ tenantId: z.string().optional(), ...pageParams(vehicles) });
    expect(withFilter.parse({ tenantId: 'acme' })).toEqual({ tenantId: 'acme', limit: 50, cursor: undefined });
  });
});

describe('keyset pages over a real table (PGlite)', () => {
  let db: Database;
  let server: Server;
  let base: string;
  /** Every vehicle id, in the order the listing must return them (newest first, ties by id). */
  let expected: string[];

  const TENANT = 'acme';

  const listVehicles = (
    q: Parameters<typeof keysetPage>[0],
    tenantId: string,
    page: { limit: number; cursor?: { t: string; id: string } | undefined },
  ) =>
    keysetPage<{ id: string; name: string; created_at: Date }>(
      q,
      vehicles,
      { sql: 'SELECT id, name, created_at FROM vehicles WHERE tenant_id = $1', params: [tenantId] },
      page,
    );

  beforeAll(async () => {
    db = await openTestDatabase('pglite', { signals: false });
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme'), ('globex', 'Globex')`);
    // 31 vehicles in groups of three sharing a timestamp (so ties straddle the page boundaries at 10,
    // 20 and 30), two groups a microsecond apart (lost if the cursor kept only milliseconds).
    await db.query(
      `INSERT INTO vehicles (tenant_id, name, created_at)
       SELECT 'acme', 'v' || i, timestamptz '2025-03-01 10:00:00+00' + (i / 3) * interval '1 second'
              + CASE WHEN i / 3 = 5 THEN interval '1 microsecond' ELSE interval '0' END
         FROM generate_series(0, 30) AS i`,
    );
    await db.query(`UPDATE vehicles SET created_at = timestamptz '2025-03-01 10:00:05+00' WHERE name = 'v14'`);
    // Another tenant's rows, which the listing must never show.
    await db.query(
      `INSERT INTO vehicles (tenant_id, name, created_at) SELECT 'globex', 'g' || i, now() FROM generate_series(1, 5) AS i`,
    );
    expected = (
      await db.query<{ id: string }>(
        `SELECT id FROM vehicles WHERE tenant_id = 'acme' ORDER BY created_at DESC, id DESC`,
      )
    ).rows.map((r) => r.id);
    expect(expected).toHaveLength(31);

    // The shape of a list route: the query schema parses limit and cursor, the handler pages under RLS.
    const router = new Router();
    const query = pageQuery(vehicles, { defaultLimit: 10, maxLimit: 50 });
    router.get('/vehicles', async (ctx) => {
      const page = parseInput(query, ctx.query, 'query');
      const { items, next } = await db.withTenant(TENANT, (q) => listVehicles(q, TENANT, page));
      ctx.body = { vehicles: items.map((v) => ({ id: v.id, name: v.name })), next };
    });
    const app = new Koa();
    app.use(problemMiddleware(pino({ level: 'silent' })));
    app.use(router.routes());
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await db?.close();
  });

  it('sees each of 31 rows exactly once, in order, in pages of 10, ties on time included', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let splitTies = 0;
    let previousLast: Date | undefined;
    let cursor: { t: string; id: string } | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await listVehicles(db, TENANT, { limit: 10, cursor });
      seen.push(...page.items.map((v) => v.id));
      sizes.push(page.items.length);
      if (previousLast && page.items[0]!.created_at.getTime() === previousLast.getTime()) splitTies++;
      previousLast = page.items.at(-1)?.created_at;
      if (page.next === null) break;
      cursor = decodeCursor(vehicles, page.next);
    }
    expect(sizes).toEqual([10, 10, 10, 1]);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(31);
    // The data set is laid out so that page boundaries fall inside groups of equal times.
    expect(splitTies).toBeGreaterThan(0);
  });

  it('keeps microseconds in the cursor', async () => {
    const first = await listVehicles(db, TENANT, { limit: 14 });
    // Newest first: 1 + 3 + 3 + 3 + 3 rows, then the 14th is the first of the group at 10:00:05.000001;
    // its two siblings and v14 (10:00:05.000000) follow, all lost to a cursor cut to milliseconds.
    const cursor = decodeCursor(vehicles, first.next!);
    expect(cursor.t).toBe('2025-03-01T10:00:05.000001Z');
    const rest = await listVehicles(db, TENANT, { limit: 100, cursor });
    expect([...first.items, ...rest.items].map((v) => v.id)).toEqual(expected);
    expect(rest.next).toBeNull();
  });

  it('pages through HTTP with the opaque next cursor, under row-level security', async () => {
    const seen: string[] = [];
    let url = `${base}/vehicles?limit=10`;
    for (let pages = 0; pages < 10; pages++) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { vehicles: { id: string }[]; next: string | null };
      seen.push(...body.vehicles.map((v) => v.id));
      if (body.next === null) break;
      url = `${base}/vehicles?limit=10&cursor=${encodeURIComponent(body.next)}`;
    }
    expect(seen).toEqual(expected);
  });

  it('uses the default limit, and a page exactly as long as the rest has no next', async () => {
    const res = await fetch(`${base}/vehicles`);
    const body = (await res.json()) as { vehicles: unknown[]; next: string | null };
    expect(body.vehicles).toHaveLength(10);
    const all = await listVehicles(db, TENANT, { limit: 31 });
    expect(all.items).toHaveLength(31);
    expect(all.next).toBeNull();
  });

  it.each([
    ['garbage', 'not-a-cursor!'],
    ['tampered JSON', b64('{"l":"vehicles","t":"2025-03-01T10:00:00Z","id":"1; DROP TABLE vehicles"}')],
    ['foreign', encodeCursor(deadLetters, { t: '2025-03-01T10:00:00Z', id: '1' })],
    [
      'impossible time',
      cursorOf({ l: 'vehicles', t: '2025-02-31T25:00:00Z', id: '0b9e8f2a-1c3d-4e5f-8a6b-7c8d9e0f1a2b' }),
    ],
  ])('answers a %s cursor with a 400 problem', async (_what, cursor) => {
    const res = await fetch(`${base}/vehicles?cursor=${encodeURIComponent(cursor)}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await res.json()) as { code: string; errors: { pointer: string }[] };
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect(problem.errors[0]!.pointer).toBe('/query/cursor');
  });

  it.each(['0', '51', 'x'])('answers limit=%s with a 400 problem', async (limit) => {
    const res = await fetch(`${base}/vehicles?limit=${limit}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('VALIDATION_FAILED');
  });
});
