/**
 * The seam between notification dispatch (C3) and the provider adapters (C4).
 * A thrown error from `send` means transient (retry); a provider rejection comes back as
 * `{ ok: false }` and is never reported as sent.
 */
export type PushChannel = 'web_push' | 'fcm' | 'apns';
export type ChannelName = PushChannel | 'email' | 'sms';
export type ChannelTarget =
  | { kind: 'web_push'; endpoint: string; p256dh: string; auth: string }
  | { kind: 'fcm'; token: string }
  | { kind: 'apns'; token: string }
  | { kind: 'email'; address: string }
  | { kind: 'sms'; phone: string };
export interface RenderedNotification {
  notificationId: string;
  category: string;
  title: string;
  body: string;
  url: string | null;
  locale: string;
  badge?: number;
}
export type SendResult =
  | { ok: true; providerMessageId: string | null }
  | { ok: false; permanent: boolean; invalidTarget: boolean; reason: string };
export interface ChannelSender {
  readonly channel: ChannelName;
  /**
   * Sends it takes at once (its connection pool's size): a send job keeps at most this many of its
   * batch in flight on it. Absent: the jobs' default (jobs.ts).
   */
  readonly concurrency?: number;
  send(target: ChannelTarget, message: RenderedNotification): Promise<SendResult>;
}
export interface NotificationChannels {
  web_push?: ChannelSender & { publicKey: string };
  fcm?: ChannelSender;
  apns?: ChannelSender;
  email?: ChannelSender;
  sms?: ChannelSender;
}
