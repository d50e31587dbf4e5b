import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { fraudRoutes } from './routes.js';
import { FraudService } from './service.js';

export function register(router: ApiRouter, _deps: DomainDeps): void {
  fraudRoutes(router, new FraudService());
}
