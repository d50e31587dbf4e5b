import path from 'node:path';
import {
  devOutboxMailer,
  loadOrCreateSigningKeys,
  parseKeySet,
  signingKeysFrom,
  smtpMailer,
  type Mailer,
  type SigningKeys,
} from '@clutch/identity';
import type { Logger } from 'pino';

/** Where the embedded platform keeps identity files: `data/identity` beside the PGlite folder. */
export function identityDir(dataDir: string): string {
  return path.join(path.dirname(dataDir), 'identity');
}

export interface PlatformIdentity {
  signingKeys: SigningKeys;
  mailer?: Mailer | undefined;
  publicUrl?: string | undefined;
}

/**
 * Accounts and sessions settings from the environment (docs/identity.md):
 *
 * - `CLUTCH_SIGNING_KEYS`: `{"keys":[<Ed25519 private JWK>, ...]}`, the first signs. Every API
 *   process of a deployment needs the same keys; unset, they are created once in
 *   `data/identity/signing-keys.json` (the embedded default).
 * - `CLUTCH_SMTP_URL` (`smtp://user:pass@host:587`) and `CLUTCH_MAIL_FROM`: unset, mail goes to the
 *   dev outbox (the log).
 * - `CLUTCH_PUBLIC_URL`: the base of links in mail; unset, the origin of the request.
 */
export function platformIdentity(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  logger: Logger,
  scaledOut: boolean,
): PlatformIdentity {
  const configured = env.CLUTCH_SIGNING_KEYS?.trim();
  let signingKeys: SigningKeys;
  if (configured) signingKeys = signingKeysFrom(parseKeySet(configured));
  else {
    const file = path.join(identityDir(dataDir), 'signing-keys.json');
    if (scaledOut)
      logger.warn(
        { file },
        'CLUTCH_SIGNING_KEYS is not set: API processes that do not share this file reject each other’s tokens',
      );
    signingKeys = loadOrCreateSigningKeys(file);
  }
  const smtp = env.CLUTCH_SMTP_URL?.trim();
  return {
    signingKeys,
    ...(smtp
      ? { mailer: smtpMailer({ url: smtp, from: env.CLUTCH_MAIL_FROM?.trim() || 'Clutch <no-reply@localhost>' }) }
      : {}),
    ...(env.CLUTCH_PUBLIC_URL?.trim() ? { publicUrl: env.CLUTCH_PUBLIC_URL.trim().replace(/\/+$/, '') } : {}),
  };
}

/**
 * The mailer of the platform's background work (receipts): SMTP from `CLUTCH_SMTP_URL` like account
 * mail, else the dev outbox (the log).
 */
export function platformMailer(env: NodeJS.ProcessEnv, logger: Logger): Mailer {
  const smtp = env.CLUTCH_SMTP_URL?.trim();
  if (smtp) return smtpMailer({ url: smtp, from: env.CLUTCH_MAIL_FROM?.trim() || 'Clutch <no-reply@localhost>' });
  return devOutboxMailer((mail) =>
    logger.info({ to: mail.to, subject: mail.subject, text: mail.text }, 'mail (dev outbox: no SMTP configured)'),
  );
}
