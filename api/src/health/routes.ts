import type Router from '@koa/router';
import type { HealthService } from './service.js';

export function healthRoutes(router: Router, health: HealthService): void {
  router.get('/health', async (ctx) => {
    const report = await health.report();
    // Load balancers read the status code, people read the body.
    ctx.status = report.status === 'down' ? 503 : 200;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = report;
  });
}
