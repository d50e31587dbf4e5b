import type { ChannelName } from './channels/channel.js';

/** What a notification is about; preferences are set per category (COMMS.md). */
export const NOTIFICATION_CATEGORIES = [
  'health_alert',
  'trouble_code',
  'booking',
  'estimate',
  'payment',
  'chat',
  'announcement',
] as const;
export type NotificationCategory = (typeof NOTIFICATION_CATEGORIES)[number];

/** Every channel a user can switch: the inbox and the ChannelSenders (channels/channel.ts). */
export const USER_CHANNELS = ['in_app', 'web_push', 'fcm', 'apns', 'email', 'sms'] as const;
export type UserChannel = (typeof USER_CHANNELS)[number];

export const PUSH_CHANNELS: readonly ChannelName[] = ['web_push', 'fcm', 'apns'];

export const DELIVERY_STATES = ['queued', 'deferred', 'sent', 'delivered', 'opened', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** The template of an administrator's own title and body (no catalogue text to render). */
export const CUSTOM_TEMPLATE = 'notify.custom';

/** Channel switches where the user set none: everything on but SMS, which needs a phone and an opt-in. */
export const DEFAULT_CHANNELS: Readonly<Record<UserChannel, boolean>> = {
  in_app: true,
  web_push: true,
  fcm: true,
  apns: true,
  email: true,
  sms: false,
};

/** Categories that mail by default; chat and trouble codes stay off e-mail unless the user asks. */
const EMAIL_BY_DEFAULT: ReadonlySet<NotificationCategory> = new Set([
  'booking',
  'estimate',
  'payment',
  'health_alert',
  'announcement',
]);

/** The per-category default of a channel (the channel switch applies on top). */
export function categoryDefault(category: NotificationCategory, channel: UserChannel): boolean {
  return channel === 'email' ? EMAIL_BY_DEFAULT.has(category) : true;
}

/** A user's notification settings as stored, with the defaults applied (settings.ts reads and writes them). */
export interface NotificationSettings {
  /** IANA time zone quiet hours and do-not-disturb are read in. */
  timeZone: string;
  /** Local wall-clock `HH:MM`; end before start crosses midnight. */
  quietHours: { start: string; end: string } | null;
  doNotDisturbUntil: Date | null;
  /** E.164; SMS goes only here, and only with `channels.sms` on. */
  phone: string | null;
  channels: Record<UserChannel, boolean>;
  /** Only what the user set; categoryDefault fills the rest. */
  categories: Partial<Record<NotificationCategory, Partial<Record<UserChannel, boolean>>>>;
}

/** Whether `channel` is on for `category` under these settings (SMS also needs a phone number). */
export function channelEnabled(
  settings: NotificationSettings,
  category: NotificationCategory,
  channel: UserChannel,
): boolean {
  if (!settings.channels[channel]) return false;
  if (channel === 'sms' && settings.phone === null) return false;
  return settings.categories[category]?.[channel] ?? categoryDefault(category, channel);
}

/** What the inbox, the live event and the history show of a notification (COMMS.md InboxItem). */
export interface InboxItem {
  id: string;
  category: NotificationCategory;
  title: string;
  body: string;
  url: string | null;
  createdAt: string;
  readAt: string | null;
}
