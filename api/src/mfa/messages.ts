import { SmsDeliveryError, type Mailer, type SmsSender, type User } from '@clutch/identity';
import { createTranslator, type MessageKey, type MessageValues, type Translator } from '@clutch/i18n';
import { apiError } from '../errors.js';

export type CodeChannel = 'email' | 'sms';
export type CodePurpose = 'setup' | 'login' | 'step-up';

/** Where "change your password" links in security notices point. */
export const SECURITY_LINK = '/signin.html?forgot=1';

/**
 * What MFA tells people, in their language from the message catalogue: codes by email or SMS, and
 * security notices (a factor added or removed; a device signed out after a burst of wrong codes).
 *
 * Sent from the request, right after the use case committed, not through the outbox and job
 * queue: a code must not sit in clear text in a job table, and it is useless if it arrives late (a
 * lost one is replaced by asking again). Notices follow the account mails' rule (api/src/accounts/mail.ts).
 */
export class MfaMessages {
  private readonly translators = new Map<string, Translator>();

  constructor(
    private readonly mailer: Mailer,
    /** Absent: SMS is not configured and the SMS factor is refused (MFA_CHANNEL_UNAVAILABLE). */
    private readonly sms: SmsSender | undefined,
  ) {}

  get smsAvailable(): boolean {
    return this.sms !== undefined;
  }

  private i18n(locale: string): Translator {
    let t = this.translators.get(locale);
    if (!t) this.translators.set(locale, (t = createTranslator(locale)));
    return t;
  }

  /** Sends a one-time code; MFA_DELIVERY_FAILED (502) when the mail server or SMS provider refuses. */
  async sendCode(
    channel: CodeChannel,
    to: string,
    user: Pick<User, 'locale'>,
    code: string,
    purpose: CodePurpose,
  ): Promise<void> {
    const t = this.i18n(user.locale);
    try {
      if (channel === 'sms') {
        if (!this.sms) throw apiError('MFA_CHANNEL_UNAVAILABLE', 'SMS is not configured on this server');
        await this.sms.send({ to, body: t.t('sms.mfaCode', { code }) });
      } else {
        await this.mailer.send({
          to,
          subject: t.t('mail.mfaCode.subject', { code }),
          text: t.t('mail.mfaCode.body', { code, purpose }),
        });
      }
    } catch (err) {
      if ((err as { code?: unknown }).code === 'MFA_CHANNEL_UNAVAILABLE') throw err;
      throw apiError(
        'MFA_DELIVERY_FAILED',
        err instanceof SmsDeliveryError && err.permanent
          ? 'The phone number cannot receive text messages'
          : 'The code could not be sent; try again in a moment',
      );
    }
  }

  /** `origin`: the site the request came to (`https://clutch.example`), for the link in the notice. */
  factorChanged(user: User, change: 'added' | 'removed', method: string, origin: string): Promise<void> {
    const t = this.i18n(user.locale);
    return this.notice(user, 'mail.mfaChanged.subject', 'mail.mfaChanged.body', {
      change,
      method: t.t('mfa.method', { method }),
      link: origin + SECURITY_LINK,
    });
  }

  burstRevoked(user: User, device: string | null, origin: string): Promise<void> {
    const t = this.i18n(user.locale);
    return this.notice(user, 'mail.mfaBurst.subject', 'mail.mfaBurst.body', {
      device: device ?? t.t('mail.unknownDevice'),
      link: origin + SECURITY_LINK,
    });
  }

  private async notice(user: User, subject: MessageKey, body: MessageKey, values: MessageValues): Promise<void> {
    const t = this.i18n(user.locale);
    const text = [
      t.t('mail.greeting', { name: user.displayName }),
      '',
      t.t(body, values),
      '',
      t.t('mail.signature'),
    ].join('\n');
    await this.mailer.send({ to: user.email, subject: t.t(subject, values), text });
  }
}
