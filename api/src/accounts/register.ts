import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { accountRoutes } from './routes.js';

export function register(router: ApiRouter, deps: DomainDeps): void {
  accountRoutes(router, deps.identity.accounts, deps.identity.sessions, { openMode: deps.openMode ?? false });
}
