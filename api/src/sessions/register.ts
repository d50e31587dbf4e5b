import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { sessionRoutes } from './routes.js';

export function register(router: ApiRouter, deps: DomainDeps): void {
  sessionRoutes(router, deps.identity.sessions);
}
