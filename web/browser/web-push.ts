import { ApiProblem } from './api.js';
import { registerWebPush, webPushKey } from './notifications-api.js';

/**
 * "Enable browser notifications": the service worker (`/sw.js`, scope `/`), the browser's permission,
 * a push subscription for the platform's VAPID key (`GET /api/notifications/web-push/key`), and the
 * subscription registered as a device (`POST /api/notifications/devices`).
 */

export type PushOutcome =
  | { state: 'enabled'; deviceId: string }
  | { state: 'unsupported' | 'denied' | 'unavailable' }
  | { state: 'failed'; error: unknown };

/** The VAPID key as the bytes PushManager.subscribe takes (it is URL-safe base64 without padding). */
export function applicationServerKey(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = base64url
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(base64url.length / 4) * 4, '=');
  const raw = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

export const pushSupported = (): boolean => 'serviceWorker' in navigator && 'PushManager' in window;

/** Where this browser keeps the id of the device it registered (to mark it in the devices list). */
const DEVICE_KEY = 'clutch.pushDeviceId';

/** The device this browser registered, if it did. */
export function thisBrowsersDevice(): string | null {
  try {
    return localStorage.getItem(DEVICE_KEY);
  } catch {
    return null; // storage blocked: nothing is marked
  }
}

export async function enableWebPush(): Promise<PushOutcome> {
  if (!pushSupported() || !('Notification' in window)) return { state: 'unsupported' };
  let publicKey: string;
  try {
    ({ publicKey } = await webPushKey());
  } catch (err) {
    if (err instanceof ApiProblem && err.status === 404) return { state: 'unavailable' };
    return { state: 'failed', error: err };
  }
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return { state: 'denied' };
  try {
    await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    const registration = await navigator.serviceWorker.ready;
    const subscription =
      (await registration.pushManager.getSubscription()) ??
      (await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: applicationServerKey(publicKey),
      }));
    const json = subscription.toJSON();
    const p256dh = json.keys?.p256dh;
    const auth = json.keys?.auth;
    if (!json.endpoint || !p256dh || !auth) throw new Error('the push subscription has no keys');
    const device = await registerWebPush({ endpoint: json.endpoint, keys: { p256dh, auth } });
    try {
      localStorage.setItem(DEVICE_KEY, device.id);
    } catch {
      // storage blocked: the device works, it is just not marked as this browser
    }
    return { state: 'enabled', deviceId: device.id };
  } catch (err) {
    return { state: 'failed', error: err };
  }
}
