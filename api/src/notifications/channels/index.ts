// Provider adapters for notification delivery (C3's notification-send jobs call them through
// NotificationChannels). Each is tested against a local server speaking its provider's wire format
// (@clutch/emulators); docs/notifications.md, "Channels and their local servers".
export type {
  ChannelName,
  ChannelSender,
  ChannelTarget,
  NotificationChannels,
  PushChannel,
  RenderedNotification,
  SendResult,
} from './channel.js';
export { ChannelUnavailableError, type PushPayload } from './payload.js';
export { webPushSender, type WebPushOptions } from './web-push.js';
export { fcmSender, type FcmOptions } from './fcm.js';
export { apnsSender, type ApnsOptions } from './apns.js';
export { emailSender, renderEmail, type EmailOptions, type RenderedEmail } from './email.js';
export { smsSender, type SmsChannelOptions } from './sms.js';
