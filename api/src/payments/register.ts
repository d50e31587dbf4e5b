import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { paymentDeps } from './deps.js';
import { ReconciliationsService } from './reconcile.js';
import { paymentRoutes } from './routes.js';
import { PaymentsService } from './service.js';

/** Payments (docs/payments-flows.md). The public webhook route is declared by app.ts (it needs a system scope). */
export function register(router: ApiRouter, deps: DomainDeps): void {
  paymentRoutes(router, new PaymentsService(paymentDeps(deps)), new ReconciliationsService());
}
