import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { vehicleRoutes } from './routes.js';

/** The vehicles service is shared (the realtime gateway checks rooms with it), so it comes built. */
export function register(router: ApiRouter, deps: DomainDeps): void {
  vehicleRoutes(router, deps.shared.vehicles);
}
