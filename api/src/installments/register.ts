import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { paymentDeps } from '../payments/deps.js';
import { installmentRoutes } from './routes.js';
import { InstallmentsService } from './service.js';

export function register(router: ApiRouter, deps: DomainDeps): void {
  installmentRoutes(router, new InstallmentsService({ payments: paymentDeps(deps), jobs: deps.jobs }));
}
