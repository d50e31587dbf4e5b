import { signalCatalogue } from '@clutch/contracts';
import type { ApiRouter } from '../http/route.js';

export function signalRoutes(router: ApiRouter): void {
  router.publicRoute(
    { method: 'get', path: '/signals', tag: 'platform', summary: 'The signal catalogue (keys, units, plausible ranges)', response: { status: 200, description: 'Catalogue' } },
    (ctx) => {
      ctx.body = { signals: signalCatalogue };
    },
  );
}
