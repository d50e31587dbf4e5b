import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { warrantyRoutes } from './routes.js';
import { WarrantiesService } from './service.js';

export function register(router: ApiRouter, _deps: DomainDeps): void {
  warrantyRoutes(router, new WarrantiesService());
}
