import { createLoginLimiter } from '@clutch/identity';
import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { mobileRoutes } from './routes.js';
import { BiometricService } from './service.js';

export function register(router: ApiRouter, deps: DomainDeps): void {
  const redis = deps.mfa?.redis;
  const biometric = new BiometricService({
    platform: deps.identity.platform,
    sessions: deps.identity.sessions,
    limiter: createLoginLimiter({ keyPrefix: 'clutch-biometric', ...(redis !== undefined ? { redis } : {}) }),
  });
  mobileRoutes(router, biometric);
}
