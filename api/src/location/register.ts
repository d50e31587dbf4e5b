import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { locationRoutes } from './routes.js';
import { LocationService } from './service.js';

export function register(router: ApiRouter, deps: DomainDeps): void {
  locationRoutes(router, new LocationService(deps.bus));
}
