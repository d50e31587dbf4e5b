import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import type { HealthService } from './service.js';

const component = z.object({ status: z.enum(['up', 'down', 'degraded']), detail: z.string().optional() });

export function healthRoutes(router: ApiRouter, health: HealthService): void {
  router.publicRoute(
    {
      method: 'get',
      path: '/health',
      tag: 'platform',
      summary: 'Health of the database and the other components (503 when any is down)',
      response: {
        status: 200,
        description: 'Up or degraded; the same body comes with 503 when down',
        schema: z.object({ status: component.shape.status, components: z.record(z.string(), component) }),
      },
    },
    async (ctx) => {
      const report = await health.report();
      // Load balancers read the status code, people read the body.
      ctx.status = report.status === 'down' ? 503 : 200;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = report;
    },
  );
}
