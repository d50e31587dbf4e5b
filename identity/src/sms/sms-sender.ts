/**
 * Sending a text message, whatever the provider. Implementations: the Twilio adapter
 * (`twilio-sender.ts`, the official SDK) and the development sender (`dev-sender.ts`), which keeps
 * messages in memory and logs them. Both pass the same contract test (`sms-sender.contract.test.ts`).
 */
export interface SmsMessage {
  /** E.164: `+` and 7 to 15 digits. */
  to: string;
  body: string;
}

export interface SmsSender {
  /** Resolves with the provider's message id once it accepted the message; rejects with SmsDeliveryError. */
  send(message: SmsMessage): Promise<{ id: string }>;
}

/** The provider refused or could not be reached; `permanent` when retrying the same message cannot help. */
export class SmsDeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly providerCode?: number,
  ) {
    super(message);
    this.name = 'SmsDeliveryError';
  }
}

export const E164 = /^\+[1-9]\d{6,14}$/;
/** A segment is 160 GSM-7 characters; a code message never needs more than a few. */
export const MAX_SMS_LENGTH = 640;

/** Refuses what no provider would deliver, before any network call. */
export function assertSendable(message: SmsMessage): void {
  if (!E164.test(message.to)) throw new SmsDeliveryError(`not an E.164 phone number: ${message.to}`, true);
  if (message.body.length === 0 || message.body.length > MAX_SMS_LENGTH)
    throw new SmsDeliveryError(`the message must be 1-${MAX_SMS_LENGTH} characters`, true);
}
