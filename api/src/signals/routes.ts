import type Router from '@koa/router';
import { signalCatalogue } from '@clutch/contracts';

export function signalRoutes(router: Router): void {
  router.get('/signals', (ctx) => {
    ctx.body = { signals: signalCatalogue };
  });
}
