import { findUserById, type Mailer, type Session } from '@clutch/identity';
import { createTranslator, type MessageKey, type Translator } from '@clutch/i18n';
import type { PlatformAccess, RevocationNotice, SessionNotices } from '../sessions/service.js';
import { describeAgent } from '../sessions/device.js';

/** The pages the links in account mail open (web/public). */
export const ACCOUNT_PAGES = {
  verifyEmail: '/signin.html?verify=',
  resetPassword: '/signin.html?reset=',
  acceptInvitation: '/signin.html?invitation=',
  forgotPassword: '/signin.html?forgot=1',
} as const;

/**
 * The mail an account receives, in the user's language from the message catalogue. Sent from this
 * process right after the use case committed, not through the job queue: most carry a single-use
 * secret (a verification, reset or invitation link) that must not sit in clear text in a job table;
 * a lost message is recovered by asking again. Failures are logged by the caller, never shown to
 * the requester (that would tell whether an address has an account).
 */
export class AccountMail implements SessionNotices {
  private readonly translators = new Map<string, Translator>();

  constructor(
    private readonly mailer: Mailer,
    private readonly platform: PlatformAccess,
    /** Where links point when there is no request to take the origin from (security notices). */
    private readonly publicUrl: string = '',
  ) {}

  private i18n(locale: string): Translator {
    let t = this.translators.get(locale);
    if (!t) this.translators.set(locale, (t = createTranslator(locale)));
    return t;
  }

  private async send(
    to: string,
    locale: string,
    name: string | null,
    subject: MessageKey,
    body: MessageKey,
    values: Record<string, string>,
  ): Promise<void> {
    const t = this.i18n(locale);
    const text = [
      ...(name ? [t.t('mail.greeting', { name }), ''] : []),
      t.t(body, values),
      '',
      t.t('mail.signature'),
    ].join('\n');
    await this.mailer.send({ to, subject: t.t(subject, values), text });
  }

  verifyEmail(
    to: { email: string; locale: string; displayName: string },
    origin: string,
    token: string,
  ): Promise<void> {
    return this.send(to.email, to.locale, to.displayName, 'mail.verify.subject', 'mail.verify.body', {
      link: origin + ACCOUNT_PAGES.verifyEmail + token,
    });
  }

  alreadyRegistered(to: { email: string; locale: string; displayName: string }, origin: string): Promise<void> {
    return this.send(
      to.email,
      to.locale,
      to.displayName,
      'mail.alreadyRegistered.subject',
      'mail.alreadyRegistered.body',
      {
        link: origin + ACCOUNT_PAGES.forgotPassword,
      },
    );
  }

  resetPassword(
    to: { email: string; locale: string; displayName: string },
    origin: string,
    token: string,
  ): Promise<void> {
    return this.send(to.email, to.locale, to.displayName, 'mail.reset.subject', 'mail.reset.body', {
      link: origin + ACCOUNT_PAGES.resetPassword + token,
    });
  }

  resetUnknown(email: string, locale: string): Promise<void> {
    return this.send(email, locale, null, 'mail.resetUnknown.subject', 'mail.resetUnknown.body', {});
  }

  invitation(
    to: { email: string; locale: string; displayName: string },
    organisation: string,
    origin: string,
    token: string,
  ): Promise<void> {
    return this.send(to.email, to.locale, to.displayName, 'mail.invitation.subject', 'mail.invitation.body', {
      organisation,
      link: origin + ACCOUNT_PAGES.acceptInvitation + token,
    });
  }

  passwordChanged(to: { email: string; locale: string; displayName: string }, origin: string): Promise<void> {
    return this.send(to.email, to.locale, to.displayName, 'mail.passwordChanged.subject', 'mail.passwordChanged.body', {
      link: origin + ACCOUNT_PAGES.forgotPassword,
    });
  }

  /** SessionNotices: one message per revoked session, naming the device. */
  async sessionsRevoked(userId: string, sessions: readonly Session[], reason: RevocationNotice): Promise<void> {
    const user = await this.platform.run((q) => findUserById(q, userId));
    if (!user) return;
    const t = this.i18n(user.locale);
    for (const s of sessions) {
      const device = s.deviceName ?? describeAgent(s.userAgent) ?? t.t('mail.unknownDevice');
      await this.send(
        user.email,
        user.locale,
        user.displayName,
        'mail.sessionRevoked.subject',
        'mail.sessionRevoked.body',
        {
          // ICU select keys cannot hold hyphens: token-reused reads token_reused in the catalogue.
          reason: reason.replaceAll('-', '_'),
          device,
          link: this.publicUrl + ACCOUNT_PAGES.forgotPassword,
        },
      );
    }
  }
}
