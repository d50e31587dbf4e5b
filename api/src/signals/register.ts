import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { signalRoutes } from './routes.js';

export function register(router: ApiRouter, _deps: DomainDeps): void {
  signalRoutes(router);
}
