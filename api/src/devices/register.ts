import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { deviceRoutes } from './routes.js';
import { DevicesService } from './service.js';

export function register(router: ApiRouter, deps: DomainDeps): void {
  deviceRoutes(router, new DevicesService(deps.shared.tenants));
}
