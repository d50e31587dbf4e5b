import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { analyticsRoutes } from './routes.js';
import { AnalyticsService } from './service.js';

export function register(router: ApiRouter, _deps: DomainDeps): void {
  analyticsRoutes(router, new AnalyticsService());
}
