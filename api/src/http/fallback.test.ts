import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpProbe, startFixture, VEHICLE_A, type Fixture } from '../test-fixtures.js';

let fx: Fixture;

const { get, expectProblem } = httpProbe(() => fx.api.url);

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
