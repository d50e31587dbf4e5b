/* global self, clients */
/**
 * The service worker of the pages (registered by web/browser/web-push.ts at scope `/`): shows a Web Push
 * the platform sent (docs/notifications.md: `{notificationId, title, body, url}`, already worded by the
 * API in the user's language) as a system notification, and on a click opens its link and tells the API
 * the notification was opened (`POST /api/notifications/:id/opened`). Plain JavaScript: a service worker
 * must be served from the scope it controls, not from the bundles' /js/ folder.
 */

self.addEventListener('install', () => {
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

/** The push's JSON; a push that is not JSON shows its text as the body. */
function payloadOf(event) {
  if (!event.data) return {};
  try {
    const data = event.data.json();
    return data && typeof data === 'object' ? data : {};
  } catch {
    return { body: event.data.text() };
  }
}

self.addEventListener('push', (event) => {
  const data = payloadOf(event);
  const nested = data.data && typeof data.data === 'object' ? data.data : {};
  const notificationId = data.notificationId ?? nested.notificationId ?? data.id ?? null;
  const url = data.url ?? nested.url ?? '/';
  // The brand, when a push carries no title: it is a name, not a sentence to translate.
  const title = typeof data.title === 'string' && data.title !== '' ? data.title : 'Clutch';
  event.waitUntil(
    self.registration.showNotification(title, {
      body: typeof data.body === 'string' ? data.body : '',
      icon: '/favicon.svg',
      // One notification per stored notification: a redelivered push replaces it instead of doubling it.
      ...(notificationId ? { tag: String(notificationId) } : {}),
      ...(typeof data.locale === 'string' ? { lang: data.locale } : {}),
      data: { url, notificationId },
    }),
  );
});

/** The link of a notification, on this site only (a stored URL never sends the user elsewhere). */
function sameSiteUrl(url) {
  try {
    const target = new URL(url || '/', self.location.origin);
    return target.origin === self.location.origin ? target.href : `${self.location.origin}/`;
  } catch {
    return `${self.location.origin}/`;
  }
}

/** The session's CSRF cookie (docs/identity.md), read through the Cookie Store API where there is one. */
async function csrfToken() {
  if (!self.cookieStore) return undefined;
  const cookie = await self.cookieStore.get('clutch_csrf').catch(() => null);
  return cookie ? decodeURIComponent(cookie.value) : undefined;
}

async function reportOpened(notificationId) {
  if (!notificationId) return;
  const headers = { accept: 'application/json', 'x-requested-with': 'clutch-web' };
  const csrf = await csrfToken();
  if (csrf) headers['x-csrf-token'] = csrf;
  await fetch(`/api/notifications/${encodeURIComponent(notificationId)}/opened`, {
    method: 'POST',
    headers,
    credentials: 'same-origin',
  }).catch(() => undefined);
}

async function focusOrOpen(url) {
  const windows = await clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((w) => w.url === url);
  if (open) return open.focus();
  return clients.openWindow(url);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const { url, notificationId } = event.notification.data ?? {};
  event.waitUntil(Promise.all([reportOpened(notificationId), focusOrOpen(sameSiteUrl(url))]));
});
