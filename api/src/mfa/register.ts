import { createMfaAttemptGuard } from '@clutch/identity';
import type { DomainDeps } from '../domain.js';
import type { ApiRouter } from '../http/route.js';
import { resolveMfaOptions } from './config.js';
import { MfaMessages } from './messages.js';
import { mfaRoutes } from './routes.js';
import { MfaService } from './service.js';

export function register(router: ApiRouter, deps: DomainDeps): void {
  const options = resolveMfaOptions(deps.mfa, deps.logger);
  const service = new MfaService({
    platform: deps.identity.platform,
    sessions: deps.identity.sessions,
    key: options.key,
    webauthn: options.webauthn,
    messages: new MfaMessages(deps.identity.mailer, options.sms),
    attempts: createMfaAttemptGuard({
      ...(options.redis !== undefined ? { redis: options.redis } : {}),
      ...(options.burstFailures !== undefined ? { burstFailures: options.burstFailures } : {}),
      ...(options.limits?.account ? { account: options.limits.account } : {}),
      ...(options.limits?.ip ? { ip: options.limits.ip } : {}),
    }),
    issuer: options.issuer,
    logger: deps.logger,
  });
  mfaRoutes(router, service);
}
