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
      description:
        'Anyone gets the overall status. The per-component details (client counts, queue depths, error texts) are for administrators ' +
        '(the admin token; in open dev mode every caller is one); a partner key or an anonymous caller gets `{status}` alone.',
      response: {
        status: 200,
        description: 'Up or degraded; the same body comes with 503 when down',
        schema: z.object({ status: component.shape.status, components: z.record(z.string(), component).optional() }),
      },
    },
    async (ctx) => {
      // Anonymous is fine here; a token that is sent must be valid (same rule as every route).
      const caller = await router.identify(ctx);
      const report = await health.report();
      // Load balancers read the status code, people read the body.
      ctx.status = report.status === 'down' ? 503 : 200;
      ctx.set('Cache-Control', 'no-store');
      // Fleet-wide figures (connected clients, samples stored) are operator information, not public.
      ctx.body = caller?.kind === 'admin' ? report : { status: report.status };
    },
  );
}
