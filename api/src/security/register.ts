import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { securityRoutes } from './routes.js';
import { SecurityReportsService } from './service.js';

export function register(router: ApiRouter, _deps: DomainDeps): void {
  securityRoutes(router, new SecurityReportsService());
}
