import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, VEHICLE_A, type Fixture } from '../test-fixtures.js';

let fx: Fixture;

async function get(
  path: string,
  init?: RequestInit,
): Promise<{ status: number; type: string | null; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(fx.api.url + path, init);
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: res.headers,
  };
}

async function expectProblem(
  path: string,
  status: number,
  code: string,
  init?: RequestInit,
): Promise<Record<string, unknown>> {
  const res = await get(path, init);
  expect(res.status).toBe(status);
  expect(res.type).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, instance: path });
  expect(typeof res.body.type).toBe('string');
  expect(typeof res.body.title).toBe('string');
  expect(typeof res.body.detail).toBe('string');
  expect(JSON.stringify(res.body)).not.toMatch(/ at .*\.(ts|js):\d+/);
  return res.body;
}

describe('answers for routes that do not exist', () => {
  beforeAll(async () => {
    fx = await startFixture();
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('unknown route under /api -> 404 ROUTE_NOT_FOUND', async () => {
    await expectProblem('/api/nope', 404, 'ROUTE_NOT_FOUND');
    await expectProblem('/api', 404, 'ROUTE_NOT_FOUND');
    await expectProblem(`/api/vehicles/${VEHICLE_A}/latest/extra`, 404, 'ROUTE_NOT_FOUND');
  });

  it('wrong method on a known route -> 405 METHOD_NOT_ALLOWED with Allow', async () => {
    // X-Requested-With: a bodiless DELETE needs it (or the JSON type) to pass the CSRF check first.
    const res = await get('/api/vehicles', { method: 'DELETE', headers: { 'x-requested-with': 'test' } });
    expect(res.status).toBe(405);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('METHOD_NOT_ALLOWED');
    expect(res.headers.get('allow')).toContain('GET');
  });
});
