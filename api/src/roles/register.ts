import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { roleRoutes } from './routes.js';
import { RolesService } from './service.js';

export function register(router: ApiRouter, deps: DomainDeps): void {
  roleRoutes(router, new RolesService(deps.policy));
}
