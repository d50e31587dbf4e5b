import { openPglite } from '@clutch/db';
import { describe, expect, it } from 'vitest';
import { HealthService, overallStatus } from './service.js';

describe('overallStatus', () => {
  it('lets the worst component win', () => {
    expect(overallStatus([])).toBe('up');
    expect(overallStatus([{ status: 'up' }, { status: 'degraded' }])).toBe('degraded');
    expect(overallStatus([{ status: 'degraded' }, { status: 'down' }, { status: 'up' }])).toBe('down');
  });
});

describe('HealthService', () => {
  it('reports a throwing check as down instead of failing, and keeps its own database entry', async () => {
    const db = await openPglite();
    try {
      const failing = new HealthService(db, async () => {
        throw new Error('broker unreachable');
      });
      expect(await failing.report()).toEqual({
        status: 'down',
        components: {
          database: { status: 'up', detail: 'pglite' },
          health: { status: 'down', detail: 'broker unreachable' },
        },
      });
      const masking = new HealthService(db, async () => ({ database: { status: 'up' }, ingest: { status: 'up' } }));
      await db.close();
      expect(await masking.report()).toMatchObject({
        status: 'down',
        components: { database: { status: 'down' }, ingest: { status: 'up' } },
      });
    } finally {
      await db.close();
    }
  });
});
