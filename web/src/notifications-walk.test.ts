import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '@clutch/test-support';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPages } from './build.js';
import { UNLOCALISED_TEXTS } from './page-texts.js';
import { startDemoPlatform, type DemoPlatform } from './testing/demo-platform.js';
import { navReady, signIn, type Party } from './testing/marketplace-parties.js';

// Issue 17's notification pages in Chromium against `npm start` (embedded, open demo mode): the bell in
// the top bar counts a notification that arrives live and marks it read; the settings page keeps quiet
// hours over a reload; and a Web Push reaches the browser's service worker and shows as a notification.
//
// The push hop that is simulated: headless Chromium has no push service it can reach (offline, and its
// own is Google's). `npm start` runs C4's Web Push emulator beside its real web-push sender (a push
// service speaking RFC 8030/8291/8292, listed by the dev mailbox). The page registers the service worker
// and asks PushManager for a subscription; where that fails offline, a subscription of the emulator
// (`POST <dev mailbox>/push/subscribe`, for the platform's VAPID key) is registered for the user instead.
// The platform's sender encrypts and sends the push to the emulator, which decrypts it as a browser
// would; the test hands that payload to the page's service worker with CDP
// `ServiceWorker.deliverPushMessage` (the push service's hop to the browser) and reads the notification
// the service worker showed.
const dataDir = mkdtempSync(join(tmpdir(), 'clutch-notifications-walk-'));

let demo: DemoPlatform | undefined;
let origin: string;
let browser: Browser;
/** The dev mailbox's JSON listing (mail, and pushes the local push service received, decrypted). */
let mailbox: string;

beforeAll(async () => {
  await buildPages();
  demo = await startDemoPlatform(dataDir);
  origin = demo.origin;
  const printed = /Dev mailbox: (http:\/\/\S+)/.exec(demo.stdout());
  if (!printed) throw new Error(`npm start printed no dev mailbox:\n${demo.stdout()}`);
  mailbox = printed[1]!;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await demo?.kill();
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

interface ReceivedPush {
  endpoint: string;
  data: { notificationId: string; title: string; body: string; url: string | null };
}

/** The pushes npm start's local push service received for one endpoint, decrypted. */
async function pushesTo(endpoint: string): Promise<ReceivedPush[]> {
  const all = (await (await fetch(new URL('/push', mailbox))).json()) as ReceivedPush[];
  return all.filter((p) => p.endpoint === endpoint);
}

async function userId(party: Party): Promise<string> {
  const res = await party.context.request.get(`${origin}/api/me`);
  return ((await res.json()) as { user: { id: string } }).user.id;
}

/**
 * Sends a notification to a user as the open demo's administrator (a caller without credentials), through
 * `POST /api/notifications/send` like a platform admin's announcement.
 */
async function announce(to: string, title: string, body: string, url = '/notifications.html'): Promise<void> {
  const res = await fetch(`${origin}/api/notifications/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ userIds: [to], category: 'announcement', title, body, url }),
  });
  if (res.status !== 202) throw new Error(`send: ${res.status} ${await res.text()}`);
}

const count = (page: Page): Promise<number> =>
  page
    .getByTestId('bell-button')
    .getAttribute('data-count')
    .then((c) => Number(c));

describe('notifications in the browser', () => {
  it('counts a notification arriving live in the bell, opens the inbox and marks it read', async () => {
    // The demo's administrator: nothing else notifies them while the walk counts (the demo owner gets the
    // simulated cars' alerts and trouble codes at any moment).
    const admin = await signIn(browser, origin, demo!.account('admin@demo.clutch.test'));
    const me = await userId(admin);
    await admin.page.addInitScript(`
      window.__shifts = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shifts.push(e.value);
      }).observe({ type: 'layout-shift', buffered: true });
    `);
    await admin.page.goto(`${origin}/`);
    await navReady(admin.page);
    await admin.page.locator('[data-testid="bell"][data-state="ready"][data-live="true"]').waitFor({ timeout: 15_000 });
    // Whatever the demo already told them, read: the walk starts at zero.
    await admin.page.getByTestId('bell-button').click();
    await admin.page.locator('[data-testid="bell-panel"][data-state="ready"]').waitFor();
    if ((await count(admin.page)) > 0) await admin.page.getByTestId('bell-mark-all').click();
    await expect.poll(() => count(admin.page)).toBe(0);
    expect(await admin.page.getByTestId('bell-count').isVisible()).toBe(false);
    await admin.page.keyboard.press('Escape');
    expect(await admin.page.getByTestId('bell-panel').isVisible()).toBe(false);

    // Two arrive while the page is open: the count follows live, without a reload, and moves nothing.
    await admin.page.evaluate('window.__shifts = []');
    await announce(me, 'Workshop closed on Friday', 'Our garage is closed this Friday for a training day.');
    await expect.poll(() => count(admin.page), { timeout: 15_000 }).toBe(1);
    expect(await admin.page.getByTestId('bell-count').textContent()).toBe('1');
    expect(await admin.page.getByTestId('bell-button').getAttribute('aria-label')).toBe('Notifications, 1 unread');
    await announce(me, 'New shop near you', 'Kreuzberg Auto Service now takes bookings.');
    await expect.poll(() => count(admin.page), { timeout: 15_000 }).toBe(2);
    const shifts = (await admin.page.evaluate('window.__shifts')) as number[];
    expect(shifts.reduce((a, b) => a + b, 0)).toBeLessThan(0.001);

    // The inbox: newest first, unread marked; mark one read, then the rest.
    await admin.page.getByTestId('bell-button').click();
    const items = admin.page.getByTestId('inbox-item');
    await expect
      .poll(() => items.getByTestId('inbox-title').allTextContents(), { timeout: 10_000 })
      .toEqual(expect.arrayContaining(['New shop near you', 'Workshop closed on Friday']));
    const first = items.first();
    expect(await first.getByTestId('inbox-title').textContent()).toBe('New shop near you');
    expect(await first.getAttribute('data-read')).toBe('false');
    await first.getByTestId('inbox-mark-read').click();
    await expect.poll(() => count(admin.page)).toBe(1);
    // Read on the server too: a reload counts one.
    await admin.page.reload();
    await admin.page.locator('[data-testid="bell"][data-state="ready"]').waitFor();
    expect(await count(admin.page)).toBe(1);
    await admin.page.getByTestId('bell-button').click();
    await admin.page.getByTestId('bell-mark-all').click();
    await expect.poll(() => count(admin.page)).toBe(0);
    // The item's link opens its page (here: the settings, named by the notification's url).
    await admin.page.getByTestId('inbox-title').first().click();
    await admin.page.waitForURL(`${origin}/notifications.html`);
    expect(admin.errors).toEqual([]);
    await admin.context.close();
  }, 120_000);

  it('keeps quiet hours, time zone and channel choices over a reload', async () => {
    const owner = await signIn(browser, origin, demo!.account('owner@demo.clutch.test'));
    await owner.page.goto(`${origin}/notifications.html`);
    await navReady(owner.page);
    const form = owner.page.getByTestId('settings-form');
    await form.waitFor();
    await owner.page.getByTestId('time-zone').selectOption('Europe/Berlin');
    await owner.page.getByTestId('quiet-on').check();
    await owner.page.getByTestId('quiet-start').fill('21:30');
    await owner.page.getByTestId('quiet-end').fill('06:45');
    await owner.page.getByTestId('dnd-until').fill('2030-01-02T08:00');
    // A phone number that is not in international format is refused by the browser before anything is sent.
    await owner.page.getByTestId('phone').fill('0170 1234567');
    await owner.page.getByTestId('save').click();
    expect(
      await owner.page.getByTestId('phone').evaluate((e: { validity: { valid: boolean } }) => e.validity.valid),
    ).toBe(false);
    expect(await owner.page.getByTestId('saved').isVisible()).toBe(false);
    await owner.page.getByTestId('phone').fill('+491701234567');
    await owner.page.getByTestId('category-chat-email').uncheck();
    await owner.page.getByTestId('channel-sms').check();
    await owner.page.getByTestId('save').click();
    await owner.page.getByTestId('saved').waitFor();

    await owner.page.reload();
    await form.waitFor();
    expect(await owner.page.getByTestId('time-zone').inputValue()).toBe('Europe/Berlin');
    expect(await owner.page.getByTestId('quiet-on').isChecked()).toBe(true);
    expect(await owner.page.getByTestId('quiet-start').inputValue()).toBe('21:30');
    expect(await owner.page.getByTestId('quiet-end').inputValue()).toBe('06:45');
    // 08:00 in Berlin on 2 January is 07:00 UTC: stored as an instant, shown in the user's zone.
    expect(await owner.page.getByTestId('dnd-until').inputValue()).toBe('2030-01-02T08:00');
    const stored = (await (await owner.context.request.get(`${origin}/api/notifications/settings`)).json()) as {
      doNotDisturbUntil: string;
      phone: string;
      quietHours: { start: string; end: string };
    };
    expect(Date.parse(stored.doNotDisturbUntil)).toBe(Date.parse('2030-01-02T07:00:00Z'));
    expect(stored.quietHours).toEqual({ start: '21:30', end: '06:45' });
    expect(await owner.page.getByTestId('phone').inputValue()).toBe('+491701234567');
    expect(await owner.page.getByTestId('category-chat-email').isChecked()).toBe(false);
    expect(await owner.page.getByTestId('category-chat-in_app').isChecked()).toBe(true);
    expect(await owner.page.getByTestId('channel-sms').isChecked()).toBe(true);

    // Reachable again: quiet hours and do-not-disturb off, so the push walk below is not deferred.
    await owner.page.getByTestId('quiet-on').uncheck();
    await owner.page.getByTestId('dnd-until').fill('');
    await owner.page.getByTestId('save').click();
    await owner.page.getByTestId('saved').waitFor();

    // Every text from the catalogue (en-XA), with the settings, the devices and the open bell.
    await owner.page.goto(`${origin}/notifications.html?lang=en-XA`);
    await form.waitFor();
    await owner.page.getByTestId('bell-button').click();
    await owner.page.locator('[data-testid="bell-panel"][data-state="ready"]').waitFor();
    expect(await owner.page.evaluate(UNLOCALISED_TEXTS)).toEqual([]);
    expect(owner.errors).toEqual([]);
    await owner.context.close();
  }, 120_000);

  it('shows a Web Push the platform sent as a notification of the page’s service worker', async () => {
    const owner = await signIn(browser, origin, demo!.account('owner@demo.clutch.test'));
    await owner.context.grantPermissions(['notifications'], { origin });
    const me = await userId(owner);
    const cdp = await owner.context.newCDPSession(owner.page);
    const registrations = new Map<string, string>();
    cdp.on(
      'ServiceWorker.workerRegistrationUpdated',
      (e: { registrations: { registrationId: string; scopeURL: string }[] }) => {
        for (const r of e.registrations) registrations.set(r.scopeURL, r.registrationId);
      },
    );
    await cdp.send('ServiceWorker.enable');

    await owner.page.goto(`${origin}/notifications.html`);
    await owner.page.getByTestId('devices-panel').waitFor();
    await owner.page.getByTestId('enable-push').click();
    const state = owner.page.getByTestId('push-state');
    await expect.poll(() => state.getAttribute('data-state'), { timeout: 20_000 }).toMatch(/^(enabled|failed)$/);
    // The service worker is installed and controls the site either way.
    // (Page scripts as strings: this package compiles for Node, without DOM types.)
    const active = await owner.page.evaluate<string | null>(
      `navigator.serviceWorker.ready.then((reg) => reg.active?.scriptURL ?? null)`,
    );
    expect(active).toBe(`${origin}/sw.js`);

    // Headless Chromium cannot reach a push service: register the emulator's subscription for this user.
    let endpoint: string;
    if ((await state.getAttribute('data-state')) === 'failed') {
      const subscription = (await (await fetch(new URL('/push/subscribe', mailbox), { method: 'POST' })).json()) as {
        endpoint: string;
        keys: { p256dh: string; auth: string };
      };
      const csrf = (await owner.context.cookies(origin)).find((c) => c.name === 'clutch_csrf')?.value ?? '';
      const res = await owner.context.request.post(`${origin}/api/notifications/devices`, {
        headers: { 'x-csrf-token': decodeURIComponent(csrf) },
        data: { kind: 'web_push', subscription },
      });
      expect(res.status()).toBeLessThan(300);
      endpoint = subscription.endpoint;
    } else {
      endpoint = await owner.page.evaluate<string>(
        `navigator.serviceWorker.ready.then((reg) => reg.pushManager.getSubscription()).then((s) => s.endpoint)`,
      );
    }
    // The devices list shows the browser.
    await owner.page.reload();
    await expect
      .poll(() => owner.page.locator('[data-testid="device"][data-kind="web_push"]').count(), { timeout: 10_000 })
      .toBeGreaterThan(0);

    // The platform notifies the user: its web-push sender encrypts and sends to the push service.
    await announce(
      me,
      'Your car is ready',
      'Pick it up at Clutch Demo Garage Mitte until 18:00.',
      '/notifications.html',
    );
    // (The owner's cars may have notified them meanwhile too: the walk's push is the one with its title.)
    const ours = async (): Promise<ReceivedPush | undefined> =>
      (await pushesTo(endpoint)).find((p) => p.data.title === 'Your car is ready');
    await expect.poll(ours, { timeout: 30_000 }).toBeDefined();
    const data = (await ours())!.data;
    expect(data).toMatchObject({
      title: 'Your car is ready',
      body: 'Pick it up at Clutch Demo Garage Mitte until 18:00.',
      url: '/notifications.html',
    });
    const payload = JSON.stringify(data);

    // The push service's hop to the browser: the decrypted message delivered to the service worker.
    await expect.poll(() => registrations.get(`${origin}/`), { timeout: 10_000 }).toBeDefined();
    const deliver = () =>
      cdp.send('ServiceWorker.deliverPushMessage', {
        origin,
        registrationId: registrations.get(`${origin}/`)!,
        data: payload,
      });
    const shown = (): Promise<{ title: string; body: string; tag: string; data: unknown }[]> =>
      owner.page.evaluate(
        `navigator.serviceWorker.ready.then((reg) => reg.getNotifications()).then((all) =>
          all.map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })))`,
      );
    // A push that reaches a worker still starting up can be lost (a loaded CI machine showed it), as a
    // push service would redeliver: deliver again until it shows (the tag makes a repeat replace it).
    await owner.page.evaluate('navigator.serviceWorker.ready.then(() => true)');
    await expect
      .poll(
        async () => {
          const now = await shown();
          if (now.length === 0) await deliver();
          return now;
        },
        { timeout: 20_000 },
      )
      .toEqual([
        {
          title: 'Your car is ready',
          body: 'Pick it up at Clutch Demo Garage Mitte until 18:00.',
          tag: data.notificationId,
          data: { url: '/notifications.html', notificationId: data.notificationId },
        },
      ]);
    // The same push delivered again replaces the notification instead of showing it twice.
    await deliver();
    await expect.poll(async () => (await shown()).length).toBe(1);

    // A click on it: headless Chromium shows no system notification to click, so the test dispatches
    // the service worker's `notificationclick` itself, with the notification the worker showed. The
    // worker reports it opened: the notification and its Web Push delivery turn `opened` at the API.
    const history = async (): Promise<{ openedAt: string | null; web: string | undefined }> => {
      const res = await owner.context.request.get(`${origin}/api/notifications/history?limit=20`);
      const { items } = (await res.json()) as {
        items: { id: string; openedAt: string | null; deliveries: { channel: string; state: string }[] }[];
      };
      const item = items.find((i) => i.id === data.notificationId);
      return { openedAt: item?.openedAt ?? null, web: item?.deliveries.find((d) => d.channel === 'web_push')?.state };
    };
    // The push service has it, but the platform records a batch of pushes as sent when the whole batch
    // is back: a click before that opens the notification, not yet its delivery (sent comes first).
    await expect.poll(async () => (await history()).web, { timeout: 10_000 }).toBe('sent');
    const worker = owner.context.serviceWorkers().find((w) => w.url() === `${origin}/sw.js`);
    expect(worker).toBeDefined();
    // An event a script makes is not trusted, so its waitUntil cannot keep the worker running the way a
    // real click's does: the test keeps the worker busy until the API has its report, reading the
    // history as the worker itself.
    const reported = await worker!.evaluate(`self.registration.getNotifications().then(async ([notification]) => {
      self.dispatchEvent(new NotificationEvent('notificationclick', { notification }));
      const id = notification.data.notificationId;
      for (let i = 0; i < 50; i++) {
        const res = await fetch('/api/notifications/history?limit=20', { credentials: 'same-origin' });
        if ((await res.json()).items.some((n) => n.id === id && n.openedAt)) return true;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return false;
    })`);
    expect(reported).toBe(true);
    await expect.poll(async () => (await history()).web, { timeout: 10_000 }).toBe('opened');
    expect((await history()).openedAt).not.toBeNull();
    expect(owner.errors).toEqual([]);
    await owner.context.close();
  }, 120_000);
});
