import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { BookFromAlertService } from './from-alert.js';
import { bookFromAlertRoutes } from './from-alert-routes.js';
import { BookingsService } from './service.js';

/** "Book from the car" (M4): its own entry in domains.ts, beside the bookings domain it builds on. */
export function register(router: ApiRouter, deps: DomainDeps): void {
  bookFromAlertRoutes(router, new BookFromAlertService(new BookingsService(), deps.shared.diagnostics));
}
