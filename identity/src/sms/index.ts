export {
  assertSendable,
  E164,
  MAX_SMS_LENGTH,
  SmsDeliveryError,
  type SmsMessage,
  type SmsSender,
} from './sms-sender.js';
export { createDevSmsSender, type DevSmsSender } from './dev-sender.js';
export { createTwilioSmsSender, type TwilioSmsOptions } from './twilio-sender.js';
