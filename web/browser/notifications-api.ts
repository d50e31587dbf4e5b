import { apiRequest, getJson } from './api.js';

/**
 * The notification routes the pages call (docs/notifications.md): the inbox behind the bell, the
 * settings page, the devices that get push notifications, and the Web Push key.
 */

export const CATEGORIES = [
  'health_alert',
  'trouble_code',
  'booking',
  'estimate',
  'payment',
  'chat',
  'announcement',
] as const;
export type NotificationCategory = (typeof CATEGORIES)[number];

export const CHANNELS = ['in_app', 'web_push', 'fcm', 'apns', 'email', 'sms'] as const;
export type NotificationChannel = (typeof CHANNELS)[number];

/** One notification in the inbox, as `GET /api/notifications/inbox` lists it and the `notification` event carries it. */
export interface InboxItem {
  id: string;
  category: string;
  title: string;
  body: string;
  url: string | null;
  createdAt: string;
  readAt: string | null;
}

export interface InboxPage {
  items: InboxItem[];
  next: string | null;
}

export interface NotificationSettings {
  timeZone: string;
  quietHours: { start: string; end: string } | null;
  doNotDisturbUntil: string | null;
  phone: string | null;
  channels: Record<NotificationChannel, boolean>;
  categories: Partial<Record<string, Partial<Record<NotificationChannel, boolean>>>>;
}

export interface NotificationDevice {
  id: string;
  kind: 'web_push' | 'fcm' | 'apns';
  /** The push endpoint's origin, or the token's last characters. */
  label: string;
  createdAt: string;
  lastUsedAt: string | null;
  /** Set when the provider said the subscription or token is gone: nothing is sent to it any more. */
  disabledAt: string | null;
  disabledReason: string | null;
}

export const loadInbox = (unread: boolean, limit: number): Promise<InboxPage> =>
  getJson<InboxPage>(`/api/notifications/inbox?limit=${limit}${unread ? '&unread=true' : ''}`);

export const markRead = (id: string): Promise<unknown> =>
  apiRequest('PUT', `/api/notifications/${encodeURIComponent(id)}/read`);

export const markAllRead = (): Promise<unknown> => apiRequest('POST', '/api/notifications/read-all');

export const loadSettings = (): Promise<NotificationSettings> =>
  getJson<NotificationSettings>('/api/notifications/settings');

export const saveSettings = (settings: NotificationSettings): Promise<NotificationSettings> =>
  apiRequest<NotificationSettings>('PUT', '/api/notifications/settings', settings);

export const loadDevices = async (): Promise<NotificationDevice[]> =>
  (await getJson<{ devices: NotificationDevice[] }>('/api/notifications/devices')).devices;

export const removeDevice = (id: string): Promise<unknown> =>
  apiRequest('DELETE', `/api/notifications/devices/${encodeURIComponent(id)}`);

export const registerWebPush = (subscription: {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}): Promise<NotificationDevice> =>
  apiRequest<NotificationDevice>('POST', '/api/notifications/devices', { kind: 'web_push', subscription });

export const webPushKey = (): Promise<{ publicKey: string }> =>
  getJson<{ publicKey: string }>('/api/notifications/web-push/key');
