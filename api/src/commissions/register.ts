import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { commissionRoutes } from './routes.js';
import { CommissionsService } from './service.js';

export function register(router: ApiRouter, deps: DomainDeps): void {
  commissionRoutes(router, new CommissionsService({ payouts: deps.payments?.payouts }));
}
