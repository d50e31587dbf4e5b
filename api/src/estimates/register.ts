import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { estimateRoutes } from './routes.js';
import { EstimatesService } from './service.js';

export function register(router: ApiRouter, _deps: DomainDeps): void {
  estimateRoutes(router, new EstimatesService());
}
