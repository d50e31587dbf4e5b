import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { deadLetterRoutes } from './routes.js';
import { DeadLettersService } from './service.js';

export function register(router: ApiRouter, deps: DomainDeps): void {
  deadLetterRoutes(router, new DeadLettersService(deps.replayDeadLetter));
}
