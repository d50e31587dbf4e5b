import { randomUUID } from 'node:crypto';
import { assertSendable, type SmsMessage, type SmsSender } from './sms-sender.js';

export interface DevSmsSender extends SmsSender {
  /** Everything sent, oldest first. */
  readonly sent: readonly (SmsMessage & { id: string; at: Date })[];
}

/**
 * The embedded (`npm start`) sender when no provider is configured: messages stay in memory and go
 * to the log, so a developer reads the code there. Never for production: the code is in the log.
 */
export function createDevSmsSender(log?: (message: SmsMessage & { id: string }) => void): DevSmsSender {
  const sent: (SmsMessage & { id: string; at: Date })[] = [];
  return {
    sent,
    async send(message) {
      assertSendable(message);
      const id = `dev-${randomUUID()}`;
      sent.push({ ...message, id, at: new Date() });
      log?.({ ...message, id });
      return { id };
    },
  };
}
