import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { dataQualityRoutes } from './routes.js';
import { DataQualityService } from './service.js';

export function register(router: ApiRouter, _deps: DomainDeps): void {
  dataQualityRoutes(router, new DataQualityService());
}
