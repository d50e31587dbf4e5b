import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { repairOrderRoutes } from './routes.js';
import { RepairOrdersService } from './service.js';

export function register(router: ApiRouter, _deps: DomainDeps): void {
  repairOrderRoutes(router, new RepairOrdersService());
}
