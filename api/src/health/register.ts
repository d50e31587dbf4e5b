import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { healthRoutes } from './routes.js';
import { HealthService } from './service.js';

export function register(router: ApiRouter, deps: DomainDeps): void {
  healthRoutes(router, new HealthService(deps.databaseProbe, deps.health));
}
