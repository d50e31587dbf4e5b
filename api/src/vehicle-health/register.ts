import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { vehicleHealthRoutes } from './routes.js';
import { VehicleHealthService } from './service.js';

/** A summary over other domains' findings: it reads them through their shared services. */
export function register(router: ApiRouter, deps: DomainDeps): void {
  const { diagnostics, alerts, telemetry } = deps.shared;
  vehicleHealthRoutes(router, new VehicleHealthService(diagnostics, alerts, telemetry));
}
