import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { ShopResourcesService } from './resources.js';
import { bookingRoutes } from './routes.js';
import { BookingsService } from './service.js';

export function register(router: ApiRouter, _deps: DomainDeps): void {
  bookingRoutes(router, new BookingsService(), new ShopResourcesService());
}
