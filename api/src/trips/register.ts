import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { tripRoutes } from './routes.js';
import { TripsService } from './service.js';

export function register(router: ApiRouter, _deps: DomainDeps): void {
  tripRoutes(router, new TripsService());
}
