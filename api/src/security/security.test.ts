import { createApiKey } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, call, expectProblem, startFixture, TENANT, type Fixture } from '../test-fixtures.js';

const ADMIN = 'admin-token-for-security-reports-01';

/** RFC 4180 records, written independently of the exporter: quoted fields, doubled quotes, CRLF. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || record.length > 0) throw new Error('the last record does not end with CRLF');
  return records;
}

interface EventView {
  id: string;
  at: string;
  actor: string;
  action: string;
  outcome: string;
  tenantId: string | null;
  target: string | null;
  ip: string | null;
  hash: string;
}

describe.each(backends('api_security_reports'))('GET /api/security/reports on %s', (_name, open) => {
  let fx: Fixture;
  let partner: string;
  const day = (n: number): string => new Date(Date.UTC(2025, 0, n, 12)).toISOString();
  const get = (path: string, headers: Record<string, string> = {}) =>
    call(fx.api.url, 'GET', `/api/security/reports${path}`, { token: ADMIN, headers });
  const csv = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${fx.api.url}/api/security/reports${path}`, {
      headers: { authorization: `Bearer ${ADMIN}`, ...headers },
    });
    return { status: res.status, type: res.headers.get('content-type'), headers: res.headers, text: await res.text() };
  };

  beforeAll(async () => {
    fx = await startFixture({ requireAuth: true, adminToken: ADMIN, ...(open ? { open } : {}) });
    partner = (await createApiKey(fx.db, { tenantId: TENANT, name: 'garage', scopes: ['status:read'] })).token;
    // Dated events (the API records with now(); these stand for days of history).
    await fx.db.query(
      `INSERT INTO audit_log (at, tenant_id, actor, action, target, ip, outcome, detail) VALUES
         ($1, 'acme', 'user:1', 'auth.login', NULL, '198.51.100.7', 'success', '{}'),
         ($2, 'acme', 'anonymous', 'auth.login.failed', 'a@acme.test', '198.51.100.8', 'failure', '{"reason":"password"}'),
         ($3, 'globex', 'user:2', 'role.granted', 'user:3', NULL, 'denied', '{}'),
         ($4, NULL, '=HYPERLINK("http://evil.test","x")', 'auth.login.failed', 'line one
line two, with "quotes"', '2001:db8::2', 'failure', '{}')`,
      [day(1), day(2), day(3), day(4)],
    );
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('is for administrators: anonymous callers get 401, partner keys 403', async () => {
    expectProblem(await call(fx.api.url, 'GET', '/api/security/reports'), 401, 'UNAUTHENTICATED');
    expectProblem(await call(fx.api.url, 'GET', '/api/security/reports', { token: partner }), 403, 'FORBIDDEN');
  });

  it('lists who did what, from where, with what outcome, newest first', async () => {
    const res = await get(`?from=${day(1)}&to=${day(5)}`);
    expect(res.status).toBe(200);
    const events = res.body.events as EventView[];
    expect(events.map((e) => [e.at, e.tenantId, e.actor, e.action, e.target, e.ip, e.outcome])).toEqual([
      [
        day(4),
        null,
        '=HYPERLINK("http://evil.test","x")',
        'auth.login.failed',
        'line one\nline two, with "quotes"',
        '2001:db8::2',
        'failure',
      ],
      [day(3), 'globex', 'user:2', 'role.granted', 'user:3', null, 'denied'],
      [day(2), 'acme', 'anonymous', 'auth.login.failed', 'a@acme.test', '198.51.100.8', 'failure'],
      [day(1), 'acme', 'user:1', 'auth.login', null, '198.51.100.7', 'success'],
    ]);
    expect(events.every((e) => /^[0-9a-f]{64}$/.test(e.hash))).toBe(true);
    expect(res.body.next).toBeNull();
  });

  it('filters by time range, actor, action, outcome and tenant', async () => {
    // The seeded days only (the fixture's own audit rows are from today).
    const actions = async (query: string): Promise<string[]> => {
      const range = query.includes('from=') ? '' : `from=${day(1)}&to=${day(5)}&`;
      const res = await get(`?${range}${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return (res.body.events as EventView[]).map((e) => e.at);
    };
    expect(await actions(`from=${day(2)}&to=${day(4)}`)).toEqual([day(3), day(2)]);
    expect(await actions('actor=user%3A1')).toEqual([day(1)]);
    expect(await actions('action=auth.login.failed')).toEqual([day(4), day(2)]);
    expect(await actions('outcome=denied')).toEqual([day(3)]);
    expect(await actions('tenantId=acme')).toEqual([day(2), day(1)]);
    expect(await actions('tenantId=acme&outcome=failure&action=auth.login.failed')).toEqual([day(2)]);
  });

  it('pages with a cursor without skipping or repeating', async () => {
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const query: string = `?from=${day(1)}&to=${day(5)}&limit=3${next ? `&cursor=${next}` : ''}`;
      const res = await get(query);
      seen.push(...(res.body.events as EventView[]).map((e) => e.at));
      next = res.body.next as string | null;
    } while (next);
    expect(seen).toEqual([day(4), day(3), day(2), day(1)]);
  });

  it('refuses a reversed time range, an unknown outcome and a foreign cursor', async () => {
    expectProblem(await get(`?from=${day(3)}&to=${day(2)}`), 400, 'TIME_RANGE_INVALID');
    expectProblem(await get('?outcome=maybe'), 400, 'VALIDATION_FAILED');
    expectProblem(await get('?action=DROP%20TABLE'), 400, 'VALIDATION_FAILED');
    expectProblem(await get('?cursor=eyJsIjoieCIsInQiOiJ5IiwiaWQiOiIxIn0'), 400, 'VALIDATION_FAILED');
  });

  it('exports the filtered rows as CSV, quoted and safe to open in a spreadsheet, and records the export', async () => {
    const res = await csv(`?format=csv&from=${day(1)}&to=${day(5)}&action=auth.login.failed`);
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="security-report.csv"');
    const [header, ...rows] = parseCsv(res.text);
    expect(header).toEqual([
      'id',
      'seq',
      'at',
      'tenant_id',
      'actor',
      'action',
      'target',
      'ip',
      'outcome',
      'detail',
      'hash',
    ]);
    expect(rows.map((r) => [r[2], r[3], r[4], r[6], r[7], r[8], r[9]])).toEqual([
      [
        day(4),
        '',
        `'=HYPERLINK("http://evil.test","x")`,
        'line one\nline two, with "quotes"',
        '2001:db8::2',
        'failure',
        '{}',
      ],
      [day(2), 'acme', 'anonymous', 'a@acme.test', '198.51.100.8', 'failure', '{"reason":"password"}'],
    ]);

    const exports = (await get('?action=security.report.export')).body.events as (EventView & {
      detail: Record<string, unknown>;
    })[];
    expect(exports[0]).toMatchObject({
      actor: 'admin',
      outcome: 'success',
      detail: { filter: { from: day(1), to: day(5), action: 'auth.login.failed' } },
    });
  });

  it('answers Accept: text/csv with CSV too, and exports more rows than one batch', async () => {
    await fx.db.query(
      `INSERT INTO audit_log (at, actor, action, outcome)
         SELECT $1::timestamptz + make_interval(secs => n), 'load', 'bulk.row', 'success' FROM generate_series(1, 1203) AS n`,
      [day(10)],
    );
    const res = await csv('?action=bulk.row', { accept: 'text/csv' });
    expect(res.type).toBe('text/csv; charset=utf-8');
    const [, ...rows] = parseCsv(res.text);
    expect(rows).toHaveLength(1203);
    expect(new Set(rows.map((r) => r[0])).size).toBe(1203);
  });
});
