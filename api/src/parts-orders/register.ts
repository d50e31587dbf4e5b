import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { partsOrderRoutes } from './routes.js';
import { PartsOrdersService } from './service.js';

export function register(router: ApiRouter, _deps: DomainDeps): void {
  partsOrderRoutes(router, new PartsOrdersService());
}
