import path from 'node:path';
import {
  createDevSmsSender,
  createTwilioSmsSender,
  generateMfaKey,
  loadOrCreateMfaKey,
  parseMfaKey,
  type FailureLimits,
  type MfaKey,
  type SmsSender,
  type WebAuthnConfig,
} from '@clutch/identity';
import type { Logger } from 'pino';

/**
 * How a deployment configures MFA (ApiDeps.mfa). Everything has a default so tests and the demo run
 * without settings; `loadMfaOptions` reads them from the environment for the platform.
 */
export interface MfaOptions {
  /** Protects TOTP secrets and code digests; default: generated per process (tests only: TOTP dies with it). */
  key?: MfaKey | undefined;
  /** WebAuthn relying party; default rpID `localhost`, origins `http://localhost:3000` and `http://127.0.0.1:3000`. */
  webauthn?: Partial<WebAuthnConfig> | undefined;
  /** Text messages; default: the development sender, which writes each message (and its code) to the log. */
  sms?: SmsSender | undefined;
  /** The name authenticator apps show beside the account (default `Clutch`). */
  issuer?: string | undefined;
  /** Wrong codes on one signed-in session that sign it out (default 5 within 10 minutes). */
  burstFailures?: number | undefined;
  /** Growing delays after wrong codes, per account and per address (identity's MFA_ACCOUNT_LIMITS, MFA_IP_LIMITS). */
  limits?: { account?: Partial<FailureLimits>; ip?: Partial<FailureLimits> } | undefined;
  /** ioredis client for the attempt counters when scaled out; default: the REST rate limits' Redis, else memory. */
  redis?: unknown;
}

export const DEFAULT_WEBAUTHN: WebAuthnConfig = {
  rpID: 'localhost',
  rpName: 'Clutch',
  origins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
};

/** The options with their defaults filled in. */
export function resolveMfaOptions(
  options: MfaOptions | undefined,
  logger: Logger,
): Required<Pick<MfaOptions, 'key' | 'sms' | 'issuer'>> & { webauthn: WebAuthnConfig } & MfaOptions {
  return {
    ...options,
    key: options?.key ?? generateMfaKey(),
    webauthn: { ...DEFAULT_WEBAUTHN, ...options?.webauthn },
    sms:
      options?.sms ??
      createDevSmsSender((m) =>
        logger.info({ to: m.to, body: m.body }, 'SMS (development sender: no provider configured)'),
      ),
    issuer: options?.issuer ?? 'Clutch',
  };
}

/**
 * MFA settings from the environment, for the platform:
 *
 * - `CLUTCH_MFA_KEY`: 32 bytes, base64 or hex (`openssl rand -base64 32`); unset, a key file
 *   `<identityDir>/mfa.key` (`data/identity/mfa.key` embedded) is created on first start.
 * - `CLUTCH_WEBAUTHN_RP_ID`, `CLUTCH_WEBAUTHN_ORIGINS` (comma-separated), `CLUTCH_WEBAUTHN_RP_NAME`.
 * - `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`, and `TWILIO_FROM` or `TWILIO_MESSAGING_SERVICE_SID`
 *   (`TWILIO_BASE_URL` to point at another server); unset, SMS goes to the log.
 */
export function loadMfaOptions(env: NodeJS.ProcessEnv, identityDir: string): MfaOptions {
  const key = env.CLUTCH_MFA_KEY
    ? parseMfaKey(env.CLUTCH_MFA_KEY)
    : loadOrCreateMfaKey(path.join(identityDir, 'mfa.key'));
  const origins = env.CLUTCH_WEBAUTHN_ORIGINS?.split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  const webauthn: Partial<WebAuthnConfig> = {
    ...(env.CLUTCH_WEBAUTHN_RP_ID ? { rpID: env.CLUTCH_WEBAUTHN_RP_ID } : {}),
    ...(env.CLUTCH_WEBAUTHN_RP_NAME ? { rpName: env.CLUTCH_WEBAUTHN_RP_NAME } : {}),
    ...(origins && origins.length > 0 ? { origins } : {}),
  };
  const sms =
    env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN
      ? createTwilioSmsSender({
          accountSid: env.TWILIO_ACCOUNT_SID,
          authToken: env.TWILIO_AUTH_TOKEN,
          ...(env.TWILIO_MESSAGING_SERVICE_SID
            ? { messagingServiceSid: env.TWILIO_MESSAGING_SERVICE_SID }
            : { from: env.TWILIO_FROM ?? '' }),
          ...(env.TWILIO_BASE_URL ? { baseUrl: env.TWILIO_BASE_URL } : {}),
        })
      : undefined;
  return { key, webauthn, ...(sms ? { sms } : {}) };
}
