import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { openApiRoutes } from './routes.js';

/** Last in the list by habit, though the document is built on first request, when every route is declared. */
export function register(router: ApiRouter, deps: DomainDeps): void {
  openApiRoutes(router, deps.prefix);
}
