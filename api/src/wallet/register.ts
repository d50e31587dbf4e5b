import type { DomainDeps } from '../domain.js';
import { assessRisk } from '../fraud/assess.js';
import type { ApiRouter } from '../http/route.js';
import { loadWalletLimits } from './limits.js';
import { walletRoutes } from './routes.js';
import { WalletService } from './service.js';

export function register(router: ApiRouter, _deps: DomainDeps): void {
  walletRoutes(router, new WalletService({ limits: loadWalletLimits(), assessRisk }));
}
