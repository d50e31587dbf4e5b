import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { notificationRoutes } from './routes.js';
import { NotificationsService } from './service.js';

export function register(router: ApiRouter, deps: DomainDeps): void {
  notificationRoutes(router, new NotificationsService({ jobs: deps.jobs, channels: deps.notificationChannels }));
}
