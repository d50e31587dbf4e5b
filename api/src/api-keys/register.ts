import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { apiKeyRoutes } from './routes.js';
import { ApiKeysService } from './service.js';

export function register(router: ApiRouter, deps: DomainDeps): void {
  apiKeyRoutes(router, new ApiKeysService(deps.shared.tenants));
}
