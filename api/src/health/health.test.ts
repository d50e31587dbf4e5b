import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, httpProbe, startFixture, type Fixture } from '../test-fixtures.js';

let fx: Fixture;

const { get } = httpProbe(() => fx.api.url);

describe.each(backends('api_health'))('health API on %s', (name, open) => {
  beforeAll(async () => {
    fx = await startFixture(open ? { open } : {});
  });

  afterAll(async () => {
    await fx?.close();
  });

  describe('GET /api/health', () => {
    it('reports the database and the injected components', async () => {
      const res = await get('/api/health');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: 'up',
        components: {
          database: { status: 'up', detail: name === 'PGlite' ? 'pglite' : 'postgres' },
          broker: { status: 'up' },
        },
      });
    });
  });
});

describe('health failures (PGlite)', () => {
  it('a failing database turns health into 503 down', async () => {
    const broken = await startFixture({
      health: async () => ({ broker: { status: 'degraded', detail: 'one of two' } }),
    });
    try {
      let res = await fetch(`${broken.api.url}/api/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        status: 'degraded',
        components: { database: { status: 'up' }, broker: { status: 'degraded' } },
      });
      await broken.db.close();
      res = await fetch(`${broken.api.url}/api/health`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'down', components: { database: { status: 'down' } } });
    } finally {
      await broken.close();
    }
  });
});
