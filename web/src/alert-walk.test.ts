import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPglite } from '@clutch/db';
import { launchChromium } from '@clutch/test-support';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPages } from './build.js';
import { startDemoPlatform, type DemoPlatform } from './testing/demo-platform.js';
import { api, navReady, signIn } from './testing/marketplace-parties.js';

// Issue 15, item 5 from an ML alert (the trouble-code way is marketplace-walk.test.ts): the owner's
// dashboard shows the autoencoder's alert on their car, "Find a repair" on it leads to a shop, the
// booking request carries the alert and its explanation, and the shop reads that explanation on the
// repair order. On `npm start`'s demo: started once so it creates its demo cars, stopped, the alert
// stored the way ingest's scoring stores one (ingest/src/alerts/repository.ts: a row of `alerts`
// with the model's version), and started again on the same data directory.
const dataDir = mkdtempSync(join(tmpdir(), 'clutch-alert-walk-'));
let demo: DemoPlatform | undefined;
let origin: string;
let browser: Browser;

/** What the autoencoder raises (ml/src/health/anomaly.ts words it this way). */
const ALERT = {
  title: 'Readings inconsistent: Short-term fuel trim bank 1',
  explanation:
    'Over the last 30 s the readings do not fit together the way they do on healthy drives (anomaly score 4.12, ' +
    'limit 1.50): short-term fuel trim bank 1 mean 17.2 % (expected about 1.4 %); engine load mean 21 % ' +
    '(expected about 34 %). Check the first-named sensor and its wiring against a known-good gauge.',
};
/** Two starts of the platform on a busy machine (its first start migrates a new database). */
const STARTUP_MS = 180_000;
let alertId: string;
let carId: string;

beforeAll(async () => {
  await buildPages();
  // First start: the demo accounts, shops and cars are created; then the alert is stored offline.
  const first = await startDemoPlatform(dataDir, { startTimeoutMs: STARTUP_MS });
  await first.stop();
  const db = await openPglite(dataDir);
  try {
    const { rows: cars } = await db.query<{ id: string; tenant_id: string }>(
      `SELECT id::text, tenant_id FROM vehicles WHERE name LIKE 'Demo car 3%'`,
    );
    const car = cars[0]!;
    carId = car.id;
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO alerts (time, tenant_id, vehicle_id, kind, severity, title, explanation, signals, details, model_version)
       VALUES (now() - interval '5 minutes', $1, $2, 'anomaly', 'warning', $3, $4,
               '{fuel.trim.short_term_b1,engine.load}', '{"condition": "anomaly.autoencoder"}', 'autoencoder-demo')
       RETURNING id::text`,
      [car.tenant_id, car.id, ALERT.title, ALERT.explanation],
    );
    alertId = rows[0]!.id;
  } finally {
    await db.close();
  }
  demo = await startDemoPlatform(dataDir, { startTimeoutMs: STARTUP_MS });
  origin = demo.origin;
  browser = await launchChromium();
}, 480_000);

afterAll(async () => {
  await browser?.close();
  await demo?.kill();
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

describe('from an ML alert to the repair order', () => {
  it('books from the alert on the dashboard, and the shop reads the alert’s explanation', async () => {
    const owner = await signIn(browser, origin, demo!.account('owner@demo.clutch.test'));
    await owner.page.goto(`${origin}/dashboard.html?vehicle=${carId}`);
    const alert = owner.page.locator(`[data-testid="alert"][data-alert-id="${alertId}"]`);
    await alert.waitFor({ timeout: 60_000 });
    expect(await alert.textContent()).toContain(ALERT.title);
    await alert.getByTestId('find-repair').click();
    await owner.page.waitForURL(/\/shops\.html\?/);
    expect(new URL(owner.page.url()).searchParams.get('alert')).toBe(alertId);

    // A shop near the car, its first free slot, booked with the alert carried along.
    const shops = owner.page.getByTestId('shop');
    await expect.poll(() => shops.count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    await shops.filter({ hasText: 'Clutch Demo Garage Mitte' }).getByRole('link').click();
    await owner.page.waitForURL(/\/shop\.html\?/);
    expect(new URL(owner.page.url()).searchParams.get('alert')).toBe(alertId);
    const slot = owner.page.getByTestId('slot').first();
    await slot.waitFor({ timeout: 20_000 });
    await owner.page.getByTestId('book-vehicle').selectOption(carId);
    await slot.click();
    await owner.page.getByTestId('checkout').waitFor();
    await owner.page.getByTestId('confirm-booking').click();
    const follow = owner.page.getByTestId('follow-order');
    await follow.waitFor({ timeout: 10_000 });
    await follow.click();
    await owner.page.waitForURL(/\/repair-order\.html\?id=/);
    const orderId = new URL(owner.page.url()).searchParams.get('id')!;

    // The booking request carries the alert and the model's explanation.
    const order = await api<{ bookingId: string }>(owner, origin, 'GET', `/api/repair-orders/${orderId}`);
    const booking = await api<{ source: { kind: string; alertId?: string; explanation?: string } }>(
      owner,
      origin,
      'GET',
      `/api/bookings/${order.bookingId}`,
    );
    // (from-alert.ts stores it under the alert's title.)
    expect(booking.source).toMatchObject({
      kind: 'alert',
      alertId,
      explanation: `${ALERT.title}: ${ALERT.explanation}`,
    });

    // The shop opens the request from its job board and reads why the car comes in.
    const shop = await signIn(browser, origin, demo!.account('shop-admin@demo.clutch.test'));
    await shop.page.goto(`${origin}/jobs.html`);
    await navReady(shop.page);
    const job = shop.page.locator(`[data-testid="job"][data-order-id="${orderId}"]`);
    await job.waitFor({ timeout: 10_000 });
    await job.getByRole('link').click();
    await shop.page.waitForURL(/\/repair-order\.html\?id=/);
    await expect
      .poll(() => shop.page.getByTestId('order-source').textContent(), { timeout: 10_000 })
      .toContain(ALERT.explanation);
    expect([...owner.errors, ...shop.errors]).toEqual([]);
    await owner.context.close();
    await shop.context.close();
  }, 240_000);
});
