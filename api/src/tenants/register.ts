import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { tenantRoutes } from './routes.js';

/** Shared: devices and API keys check tenants through the same service. */
export function register(router: ApiRouter, deps: DomainDeps): void {
  tenantRoutes(router, deps.shared.tenants);
}
