import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { commandRoutes } from './routes.js';
import { CommandsService } from './service.js';

/** The commands domain's entry point (its other files are owned and changed elsewhere: wrap, do not edit). */
export function register(router: ApiRouter, deps: DomainDeps): void {
  commandRoutes(router, new CommandsService(deps.commands, deps.bus, deps.logger));
}
