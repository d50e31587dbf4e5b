import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { telemetryImportRoutes } from './routes.js';
import { TelemetryImportsService } from './service.js';

/** Logs from apps imported into a vehicle's history (docs/imports.md); the import runs on the job queue. */
export function register(router: ApiRouter, deps: DomainDeps): void {
  telemetryImportRoutes(router, new TelemetryImportsService(deps.jobs));
}
