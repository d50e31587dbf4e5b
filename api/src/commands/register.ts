import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { commandRoutes } from './routes.js';
import { CommandsService } from './service.js';

export function register(router: ApiRouter, deps: DomainDeps): void {
  commandRoutes(router, new CommandsService(deps.commands, deps.logger));
}
