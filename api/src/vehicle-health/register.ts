import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { createCalibrationReader } from './calibration.js';
import { createHealthPartsCache } from './parts-cache.js';
import { vehicleHealthRoutes } from './routes.js';
import { VehicleHealthService } from './service.js';

/** A summary over other domains' findings: it reads them through their shared services. */
export function register(router: ApiRouter, deps: DomainDeps): void {
  const { diagnostics, alerts, telemetry } = deps.shared;
  // Codes and alerts of own vehicles per process, dropped by ingest's events on the bus; each stored
  // normal parsed once per version.
  const parts = createHealthPartsCache();
  parts.listen(deps.bus);
  vehicleHealthRoutes(
    router,
    new VehicleHealthService(diagnostics, alerts, telemetry, undefined, parts, createCalibrationReader()),
  );
}
