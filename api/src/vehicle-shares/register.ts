import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { vehicleShareRoutes } from './routes.js';
import { VehicleSharesService } from './service.js';

export function register(router: ApiRouter, _deps: DomainDeps): void {
  vehicleShareRoutes(router, new VehicleSharesService());
}
