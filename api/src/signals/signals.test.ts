import { signalCatalogue } from '@clutch/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpProbe, startFixture, type Fixture } from '../test-fixtures.js';
import { signalSchema } from './routes.js';

let fx: Fixture;

const { get } = httpProbe(() => fx.api.url);

// The catalogue never touches the database: one engine is enough.
describe('signals API', () => {
  beforeAll(async () => {
    fx = await startFixture();
  });

  afterAll(async () => {
    await fx?.close();
  });

  describe('GET /api/signals', () => {
    it('returns the catalogue', async () => {
      const res = await get('/api/signals');
      expect(res.status).toBe(200);
      expect(res.body.signals).toEqual(JSON.parse(JSON.stringify(signalCatalogue)));
    });
  });

  it('documents the catalogue with a schema every entry satisfies (strictly: no field undocumented)', () => {
    for (const signal of signalCatalogue)
      expect(signalSchema.strict().safeParse(signal).success, signal.key).toBe(true);
  });
});
