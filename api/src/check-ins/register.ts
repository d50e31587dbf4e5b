import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { VehicleHealthService } from '../vehicle-health/service.js';
import { checkInRoutes } from './routes.js';
import { CheckInsService } from './service.js';

/** Check-in reads the car's health through the shared services, as `GET /api/vehicles/:id/health` does. */
export function register(router: ApiRouter, deps: DomainDeps): void {
  const { diagnostics, alerts, telemetry } = deps.shared;
  const health = new VehicleHealthService(diagnostics, alerts, telemetry);
  checkInRoutes(router, new CheckInsService(health, telemetry, deps.prefix));
}
