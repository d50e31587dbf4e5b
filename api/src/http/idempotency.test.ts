import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import Router from '@koa/router';
import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import Koa from 'koa';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Principal } from '../auth/principal.js';
import { apiError } from '../errors.js';
import { readJsonBody } from './body.js';
import {
  canonicalJson,
  parseIdempotencyKey,
  purgeIdempotencyKeys,
  requestFingerprint,
  withIdempotency,
} from './idempotency.js';
import { problemMiddleware } from './problem.js';

describe('parseIdempotencyKey', () => {
  it.each([
    ['"8e03978e-40d5-43e8-bc93-6894a57f9324"', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
    ['8e03978e-40d5-43e8-bc93-6894a57f9324', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
    ['  "spaced out"  ', 'spaced out'],
    ['"say \\"hi\\" \\\\o/"', 'say "hi" \\o/'],
    ['order:42/attempt', 'order:42/attempt'],
    [`"${'k'.repeat(255)}"`, 'k'.repeat(255)],
  ])('reads %s', (header, key) => {
    expect(parseIdempotencyKey(header)).toBe(key);
  });

  it('is undefined without the header', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['an empty string', '""'],
    ['too long', `"${'k'.repeat(256)}"`],
    ['too long bare', 'k'.repeat(256)],
    ['unterminated', '"abc'],
    ['a bad escape', '"a\\nb"'],
    ['two values', '"a", "b"'],
    ['parameters', '"a";x=1'],
    ['a bare token with spaces', 'a b'],
    ['control characters', '"a\tb"'],
    ['non-ASCII', '"clé"'],
  ])('refuses %s', (_what, header) => {
    expect(() => parseIdempotencyKey(header)).toThrow(expect.objectContaining({ code: 'IDEMPOTENCY_KEY_INVALID' }));
  });

  it('refuses a repeated header', () => {
    expect(() => parseIdempotencyKey(['"a"', '"b"'])).toThrow(
      expect.objectContaining({ code: 'IDEMPOTENCY_KEY_INVALID' }),
    );
  });
});

describe('fingerprint', () => {
  it('ignores key order and whitespace, not values, method or path', () => {
    expect(canonicalJson({ b: [1, { d: 'x', c: null }], a: true })).toBe('{"a":true,"b":[1,{"c":null,"d":"x"}]}');
    const fp = requestFingerprint('POST', '/things', { a: 1, b: 2 });
    expect(requestFingerprint('post', '/things', JSON.parse('{ "b": 2, "a": 1 }'))).toEqual(fp);
    expect(requestFingerprint('POST', '/things', { a: 1, b: 3 })).not.toEqual(fp);
    expect(requestFingerprint('POST', '/other', { a: 1, b: 2 })).not.toEqual(fp);
    expect(requestFingerprint('PUT', '/things', { a: 1, b: 2 })).not.toEqual(fp);
    expect(requestFingerprint('POST', '/things', undefined)).not.toEqual(requestFingerprint('POST', '/things', {}));
    expect(fp).toHaveLength(32);
  });
});

interface Gate {
  entered: Promise<void>;
  open(): void;
}

const backends = testDatabases(inject('pgAdminUrl'), 'idempotency');

describe.each(backends)('Idempotency-Key over HTTP on %s', (_name, open) => {
  let db: Database;
  let server: Server;
  let base: string;
  let calls: Record<string, number>;
  /** Set by a test: the next /things request waits for it after entering the handler. */
  let gate: (Gate & { enter(): void; opened: Promise<void> }) | undefined;

  const newGate = (): NonNullable<typeof gate> => {
    let enter!: () => void;
    let open!: () => void;
    const entered = new Promise<void>((resolve) => (enter = resolve));
    const opened = new Promise<void>((resolve) => (open = resolve));
    return { entered, enter, open, opened };
  };

  /** admin, or `tenant:keyId` for a partner key. */
  const principalOf = (header: string): Principal =>
    header === '' || header === 'admin'
      ? { kind: 'admin', dev: false }
      : ({
          kind: 'partner',
          tenantId: header.split(':')[0]!,
          keyId: header.split(':')[1]!,
          scopes: [],
          expiresAt: null,
        } as Principal);

  beforeAll(async () => {
    db = await open({ signals: false });
    // The use case's own table: one row per execution, written in its own transaction.
    await db.exec('CREATE TABLE things (id serial PRIMARY KEY, name text NOT NULL)');

    const idempotent = withIdempotency({ db, lockTimeoutMs: 60_000 });
    const router = new Router();
    // What the route wrapper does for a route declared `idempotent: true`: authenticate, read the body,
    // then run validation and the handler inside the idempotency wrapper.
    const route = (path: string, handler: (ctx: Koa.Context, body: Record<string, unknown>) => Promise<void>): void => {
      router.post(path, async (ctx) => {
        const principal = principalOf(ctx.get('X-Test-Principal'));
        const body = (await readJsonBody(ctx)) as Record<string, unknown>;
        await idempotent(ctx, principal, body, () => handler(ctx, body));
      });
    };
    route('/things', async (ctx, body) => {
      calls.things = (calls.things ?? 0) + 1;
      if (typeof body.name !== 'string') throw apiError('VALIDATION_FAILED', 'name is required');
      if (gate) {
        const g = gate;
        g.enter();
        await g.opened;
      }
      const id = (
        await db.transaction((q) =>
          q.query<{ id: number }>('INSERT INTO things (name) VALUES ($1) RETURNING id', [body.name]),
        )
      ).rows[0]!.id;
      ctx.status = 201;
      ctx.set('Location', `/things/${id}`);
      ctx.set('X-Not-Replayed', 'per-request');
      ctx.body = { id, name: body.name, tags: body.tags ?? [] };
    });
    route('/flaky', async (ctx) => {
      calls.flaky = (calls.flaky ?? 0) + 1;
      if (calls.flaky === 1) throw new Error('database went away');
      ctx.status = 201;
      ctx.body = { attempt: calls.flaky };
    });
    route('/missing', async () => {
      calls.missing = (calls.missing ?? 0) + 1;
      throw apiError('VEHICLE_NOT_FOUND', 'No vehicle 42', { vehicleId: '42' });
    });
    route('/unavailable', async () => {
      calls.unavailable = (calls.unavailable ?? 0) + 1;
      throw apiError('COMMANDS_UNAVAILABLE');
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

  beforeEach(async () => {
    calls = {};
    gate = undefined;
    await db.query('DELETE FROM idempotency_keys');
  });

  let keyCounter = 0;
  const freshKey = (): string => `"test-key-${++keyCounter}-${Date.now()}"`;

  async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(base + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      text,
      json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
    };
  }

  const thingsCount = async (): Promise<number> =>
    (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM things')).rows[0]!.n;

  it('replays the stored response for the same key and body; the handler ran once', async () => {
    const key = freshKey();
    const before = await thingsCount();
    const first = await post('/things', { name: 'wrench', tags: ['a', 'b'] }, { 'Idempotency-Key': key });
    expect(first.status).toBe(201);
    expect(first.headers.get('Idempotent-Replayed')).toBeNull();

    // The same document, keys in another order and other whitespace: the same request.
    const again = await post('/things', '{ "tags": ["a", "b"],  "name": "wrench" }', { 'Idempotency-Key': key });
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('Location')).toBe(first.headers.get('Location'));
    expect(again.headers.get('Content-Type')).toBe(first.headers.get('Content-Type'));
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    expect(again.headers.get('X-Not-Replayed')).toBeNull();
    expect(calls.things).toBe(1);
    expect(await thingsCount()).toBe(before + 1);
  });

  it('runs every request without a key', async () => {
    await post('/things', { name: 'a' });
    await post('/things', { name: 'a' });
    expect(calls.things).toBe(2);
    expect((await db.query('SELECT 1 FROM idempotency_keys')).rows).toHaveLength(0);
  });

  it('answers 422 for the same key with another body or path', async () => {
    const key = freshKey();
    expect((await post('/things', { name: 'wrench' }, { 'Idempotency-Key': key })).status).toBe(201);
    const other = await post('/things', { name: 'hammer' }, { 'Idempotency-Key': key });
    expect(other.status).toBe(422);
    expect(other.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(other.json).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED', instance: '/things' });
    expect((await post('/missing', { name: 'wrench' }, { 'Idempotency-Key': key })).status).toBe(422);
    expect(calls.things).toBe(1);
    expect(calls.missing).toBeUndefined();
  });

  it('answers 409 with Retry-After to a duplicate while the first still runs, then replays', async () => {
    const key = freshKey();
    gate = newGate();
    const g = gate;
    const first = post('/things', { name: 'slow' }, { 'Idempotency-Key': key });
    await g.entered;
    const duplicate = await post('/things', { name: 'slow' }, { 'Idempotency-Key': key });
    expect(duplicate.status).toBe(409);
    expect(duplicate.headers.get('Retry-After')).toBe('1');
    expect(duplicate.json).toMatchObject({ status: 409, code: 'IDEMPOTENCY_KEY_IN_USE' });
    g.open();
    expect((await first).status).toBe(201);
    gate = undefined;
    const later = await post('/things', { name: 'slow' }, { 'Idempotency-Key': key });
    expect(later.status).toBe(201);
    expect(later.text).toBe((await first).text);
    expect(calls.things).toBe(1);
  });

  it('lets exactly one of several simultaneous duplicates run', async () => {
    const key = freshKey();
    gate = newGate();
    const g = gate;
    const all = Promise.all(
      Array.from({ length: 5 }, () => post('/things', { name: 'race' }, { 'Idempotency-Key': key })),
    );
    await g.entered;
    // The other four are refused while the first waits at the gate.
    await new Promise((resolve) => setTimeout(resolve, 300));
    g.open();
    const statuses = (await all).map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409]);
    expect(calls.things).toBe(1);
  });

  it('does not store a 5xx: the retry runs again', async () => {
    const key = freshKey();
    const failed = await post('/flaky', {}, { 'Idempotency-Key': key });
    expect(failed.status).toBe(500);
    const retried = await post('/flaky', {}, { 'Idempotency-Key': key });
    expect(retried.status).toBe(201);
    expect(retried.json).toEqual({ attempt: 2 });
    expect(retried.headers.get('Idempotent-Replayed')).toBeNull();
    expect((await post('/flaky', {}, { 'Idempotency-Key': key })).headers.get('Idempotent-Replayed')).toBe('true');
    expect(calls.flaky).toBe(2);

    expect((await post('/unavailable', {}, { 'Idempotency-Key': key.replace('"', '"u-') })).status).toBe(503);
    expect((await post('/unavailable', {}, { 'Idempotency-Key': key.replace('"', '"u-') })).status).toBe(503);
    expect(calls.unavailable).toBe(2);
  });

  it('stores a 4xx problem as the final outcome and replays it', async () => {
    const key = freshKey();
    const first = await post('/missing', {}, { 'Idempotency-Key': key });
    expect(first.status).toBe(404);
    expect(first.json).toMatchObject({ code: 'VEHICLE_NOT_FOUND', detail: 'No vehicle 42', vehicleId: '42' });
    const again = await post('/missing', {}, { 'Idempotency-Key': key });
    expect(again.status).toBe(404);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    expect(calls.missing).toBe(1);

    // A validation failure inside the handler is a 4xx as well.
    const invalidKey = freshKey();
    expect((await post('/things', { nom: 'x' }, { 'Idempotency-Key': invalidKey })).status).toBe(400);
    expect(
      (await post('/things', { nom: 'x' }, { 'Idempotency-Key': invalidKey })).headers.get('Idempotent-Replayed'),
    ).toBe('true');
    expect(calls.things).toBe(1);
  });

  it('keeps the keys of different callers apart, partner rows under row-level security', async () => {
    const key = freshKey();
    const callers = ['admin', 'acme:k1', 'acme:k2', 'globex:k9'];
    const results = [];
    for (const caller of callers)
      results.push(await post('/things', { name: 'shared' }, { 'Idempotency-Key': key, 'X-Test-Principal': caller }));
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect(new Set(results.map((r) => r.headers.get('Location'))).size).toBe(4);
    expect(calls.things).toBe(4);
    // Each still replays its own.
    const replay = await post('/things', { name: 'shared' }, { 'Idempotency-Key': key, 'X-Test-Principal': 'acme:k2' });
    expect(replay.text).toBe(results[2]!.text);

    const rows = await db.query<{ tenant_id: string | null; principal: string }>(
      'SELECT tenant_id, principal FROM idempotency_keys ORDER BY principal',
    );
    expect(rows.rows).toEqual(
      [
        { tenant_id: 'acme', principal: 'partner:acme:k1' },
        { tenant_id: 'acme', principal: 'partner:acme:k2' },
        { tenant_id: 'globex', principal: 'partner:globex:k9' },
        { tenant_id: null, principal: 'admin' },
      ].sort((a, b) => (a.principal < b.principal ? -1 : 1)),
    );
    const seenByAcme = await db.withTenant('acme', (q) =>
      q.query<{ principal: string }>('SELECT principal FROM idempotency_keys ORDER BY principal'),
    );
    expect(seenByAcme.rows.map((r) => r.principal)).toEqual(['partner:acme:k1', 'partner:acme:k2']);
  });

  it('lets a retry take over a key whose request died, after the lock timeout only', async () => {
    const body = { name: 'orphan' };
    const fingerprint = requestFingerprint('POST', '/things', body);
    // As a crashed process leaves it: claimed, never completed.
    await db.query(
      `INSERT INTO idempotency_keys (tenant_id, principal, key, method, path, fingerprint, claim, created_at)
       VALUES (NULL, 'admin', 'crashed', 'POST', '/things', $1, gen_random_uuid(), now() - interval '2 minutes'),
              (NULL, 'admin', 'running', 'POST', '/things', $1, gen_random_uuid(), now() - interval '5 seconds')`,
      [fingerprint],
    );
    expect((await post('/things', body, { 'Idempotency-Key': '"running"' })).status).toBe(409);
    expect((await post('/things', { name: 'other' }, { 'Idempotency-Key': '"crashed"' })).status).toBe(422);
    const retried = await post('/things', body, { 'Idempotency-Key': '"crashed"' });
    expect(retried.status).toBe(201);
    expect((await post('/things', body, { 'Idempotency-Key': '"crashed"' })).headers.get('Idempotent-Replayed')).toBe(
      'true',
    );
    expect(calls.things).toBe(1);
  });

  it('forgets keys after 24 h: the purge deletes them, and an expired key not yet purged runs anew', async () => {
    const old = freshKey();
    const fresh = freshKey();
    expect(
      (await post('/things', { name: 'old' }, { 'Idempotency-Key': old, 'X-Test-Principal': 'acme:k1' })).status,
    ).toBe(201);
    expect(
      (await post('/things', { name: 'fresh' }, { 'Idempotency-Key': fresh, 'X-Test-Principal': 'acme:k1' })).status,
    ).toBe(201);
    await db.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1`, [
      parseIdempotencyKey(old),
    ]);

    // Past its TTL the key is no longer honoured, even before the purge: a new request, a new outcome.
    const reused = await post(
      '/things',
      { name: 'another' },
      { 'Idempotency-Key': old, 'X-Test-Principal': 'acme:k1' },
    );
    expect(reused.status).toBe(201);
    expect(reused.headers.get('Idempotent-Replayed')).toBeNull();

    await db.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1`, [
      parseIdempotencyKey(old),
    ]);
    expect(await purgeIdempotencyKeys(db)).toBe(1);
    const left = await db.query<{ key: string }>('SELECT key FROM idempotency_keys');
    expect(left.rows.map((r) => r.key)).toEqual([parseIdempotencyKey(fresh)]);
    expect(await purgeIdempotencyKeys(db)).toBe(0);
  });

  it.each([
    ['too long', `"${'k'.repeat(256)}"`],
    ['an empty string', '""'],
    ['empty', ''],
    ['malformed', '"unterminated'],
    ['two values', '"a", "b"'],
  ])('answers a key that is %s with 400 and runs nothing', async (_what, header) => {
    const res = await post('/things', { name: 'x' }, { 'Idempotency-Key': header });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ status: 400, code: 'IDEMPOTENCY_KEY_INVALID' });
    expect(calls.things).toBeUndefined();
  });

  it('accepts a bare token and the longest key', async () => {
    expect(
      (await post('/things', { name: 'x' }, { 'Idempotency-Key': '8e03978e-40d5-43e8-bc93-6894a57f9324' })).status,
    ).toBe(201);
    expect(
      (
        await post('/things', { name: 'x' }, { 'Idempotency-Key': '"8e03978e-40d5-43e8-bc93-6894a57f9324"' })
      ).headers.get('Idempotent-Replayed'),
    ).toBe('true');
    expect((await post('/things', { name: 'x' }, { 'Idempotency-Key': `"${'k'.repeat(255)}"` })).status).toBe(201);
    expect(calls.things).toBe(2);
  });
});
