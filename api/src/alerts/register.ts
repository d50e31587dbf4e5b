import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { alertRoutes } from './routes.js';

/** Shared: the health summary lists recent alerts through the same service. */
export function register(router: ApiRouter, deps: DomainDeps): void {
  alertRoutes(router, deps.shared.alerts);
}
