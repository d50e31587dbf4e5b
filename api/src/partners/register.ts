import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { partnerRoutes } from './routes.js';
import { PartnersService } from './service.js';

export function register(router: ApiRouter, _deps: DomainDeps): void {
  partnerRoutes(router, new PartnersService());
}
