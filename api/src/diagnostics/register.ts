import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { diagnosticsRoutes } from './routes.js';

/** Shared: the health summary reads the current codes through the same service (and its loaded descriptions). */
export function register(router: ApiRouter, deps: DomainDeps): void {
  diagnosticsRoutes(router, deps.shared.diagnostics);
}
