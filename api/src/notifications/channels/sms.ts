import { E164, MAX_SMS_LENGTH, SmsDeliveryError, type SmsSender } from '@clutch/identity';
import type { ChannelSender, SendResult } from './channel.js';
import { ChannelUnavailableError, invalidTarget, rejected, wrongTarget } from './payload.js';

export interface SmsChannelOptions {
  /** The platform's public origin: the deep link is sent as an absolute URL. Without it, no link. */
  baseUrl?: string;
}

/** Twilio codes that mean the number can never receive SMS: invalid number, not a mobile number. */
const INVALID_NUMBER_CODES = new Set([21211, 21614]);

/**
 * SMS through identity's SmsSender (the Twilio adapter, or the development sender): the sign-in
 * codes and notifications share one provider configuration.
 */
export function smsSender(sender: SmsSender, options: SmsChannelOptions = {}): ChannelSender {
  const origin = options.baseUrl?.replace(/\/+$/, '');
  return {
    channel: 'sms',
    async send(target, message): Promise<SendResult> {
      if (target.kind !== 'sms') return wrongTarget('sms', target);
      if (!E164.test(target.phone)) return invalidTarget('not an E.164 phone number');
      const link =
        origin && message.url !== null && message.url.startsWith('/') && !message.url.startsWith('//')
          ? `\n${origin}${message.url}`
          : '';
      // The link is what makes the text actionable: shorten the words, never the link.
      const body = clip(`${message.title}\n${message.body}`, MAX_SMS_LENGTH - link.length) + link;
      try {
        const { id } = await sender.send({ to: target.phone, body });
        return { ok: true, providerMessageId: id };
      } catch (err) {
        if (!(err instanceof SmsDeliveryError)) throw new ChannelUnavailableError('sms', (err as Error).message);
        if (err.providerCode !== undefined && INVALID_NUMBER_CODES.has(err.providerCode))
          return invalidTarget(err.message);
        if (err.permanent) return rejected(err.message);
        throw new ChannelUnavailableError('sms', err.message);
      }
    },
  };
}

/** SmsSender limits count UTF-16 code units (String.length): cut there, ending with an ellipsis. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max - 1).replace(/[\uD800-\uDBFF]$/, '')}…`;
}
