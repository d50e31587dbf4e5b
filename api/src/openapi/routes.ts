import type { ApiRouter } from '../http/route.js';
import { buildOpenApi, type OpenApiDocument } from './document.js';

export function openApiRoutes(router: ApiRouter, prefix: string): void {
  let document: OpenApiDocument | undefined;
  router.publicRoute(
    {
      method: 'get',
      path: '/openapi.json',
      tag: 'platform',
      summary: 'This OpenAPI 3.1 document',
      response: { status: 200, description: 'The document' },
    },
    (ctx) => {
      // Built on first request, when every route is registered; routes do not change afterwards.
      document ??= buildOpenApi(router.specs, prefix);
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = document;
    },
  );
}
