import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { chatRoutes } from './routes.js';

export function register(router: ApiRouter, deps: DomainDeps): void {
  chatRoutes(router, deps.shared.chat);
}
