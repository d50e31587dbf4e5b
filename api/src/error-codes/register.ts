import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { errorCodeRoutes } from './routes.js';
import { ErrorCodesService } from './service.js';

/** Trouble-code interpretation: shares the diagnostics service (its loaded descriptions, the current codes). */
export function register(router: ApiRouter, deps: DomainDeps): void {
  errorCodeRoutes(router, new ErrorCodesService(deps.shared.diagnostics));
}
