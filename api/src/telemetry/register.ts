import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { telemetryRoutes } from './routes.js';

/** Shared: the health summary reads latest values through the same service. */
export function register(router: ApiRouter, deps: DomainDeps): void {
  telemetryRoutes(router, deps.shared.telemetry);
}
