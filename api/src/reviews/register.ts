import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { reviewRoutes } from './routes.js';
import { ReviewsService } from './service.js';

export function register(router: ApiRouter, _deps: DomainDeps): void {
  reviewRoutes(router, new ReviewsService());
}
