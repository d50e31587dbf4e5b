import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '@clutch/test-support';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPages } from './build.js';
import { UNLOCALISED_TEXTS } from './page-texts.js';
import { startDemoPlatform, type DemoPlatform } from './testing/demo-platform.js';
import { api, bookDemoGarage, demoCar, navReady, signIn, type Party } from './testing/marketplace-parties.js';

// Issue 15, item 4: a repair center orders parts from a parts shop for a repair order, the parts shop
// accepts and ships, the repair center confirms the delivery; on `npm start`'s demo (its built entry
// point, open demo mode, a fresh data directory). The demo has no parts-shop account: the platform
// administrator works the parts shop's side, which the API allows staff (either side's moves).
const dataDir = mkdtempSync(join(tmpdir(), 'clutch-parts-orders-walk-'));
let demo: DemoPlatform | undefined;
let origin: string;
let browser: Browser;

beforeAll(async () => {
  await buildPages();
  demo = await startDemoPlatform(dataDir);
  origin = demo.origin;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await demo?.kill();
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

interface Part {
  sku: string;
  stock: number;
}

async function depotStock(party: Party, sku: string): Promise<number> {
  const { partners } = await api<{ partners: { id: string; name: string }[] }>(
    party,
    origin,
    'GET',
    '/api/partners?kind=parts_shop',
  );
  const depot = partners.find((p) => p.name === 'Demo Parts Depot')!;
  const { parts } = await api<{ parts: Part[] }>(party, origin, 'GET', `/api/partners/${depot.id}/parts?limit=100`);
  return parts.find((p) => p.sku === sku)!.stock;
}

describe('parts orders in the browser', () => {
  it('orders an ignition coil for a repair order, and the parts shop accepts and ships it', async () => {
    const account = (email: string): { email: string; password: string } => demo!.account(email);
    const owner = await signIn(browser, origin, account('owner@demo.clutch.test'));
    const car = await demoCar(owner, origin, 'Demo car 3');
    const { repairOrderId } = await bookDemoGarage(owner, origin, car.id, 'diagnostics');

    // The repair center: the page reached from the top bar, the repair order preselected by `?order=`.
    const shop = await signIn(browser, origin, account('shop-admin@demo.clutch.test'));
    const coilBefore = await depotStock(shop, 'BOSCH-0221504470');
    await shop.page.goto(`${origin}/jobs.html`);
    await navReady(shop.page);
    expect(await shop.page.getByTestId('nav-parts-orders').getAttribute('href')).toBe('/parts-orders.html');
    await shop.page.goto(`${origin}/parts-orders.html?order=${repairOrderId}`);
    await navReady(shop.page);
    const form = shop.page.getByTestId('order-form');
    await form.waitFor();
    await expect.poll(() => shop.page.getByTestId('repair-order').inputValue()).toBe(repairOrderId);
    // Nothing chosen yet: the page says so, and nothing is sent.
    await shop.page.getByTestId('place-order').click();
    await expect.poll(() => shop.page.getByTestId('error').textContent()).toContain('at least one part');
    await shop.page.getByTestId('supplier').selectOption({ label: 'Demo Parts Depot' });
    const coil = shop.page.locator('[data-testid="part"][data-sku="BOSCH-0221504470"]');
    await coil.waitFor({ timeout: 10_000 });
    expect(await coil.textContent()).toContain('€45.90');
    expect(await coil.textContent()).toContain(`${coilBefore} in stock`);
    await coil.locator('[data-role="quantity"]').fill('2');
    await shop.page.getByTestId('notes').fill('For the misfire on cylinder 1');
    await shop.page.getByTestId('place-order').click();
    const mine = shop.page.getByTestId('placed').getByTestId('parts-order');
    await expect.poll(() => mine.count(), { timeout: 10_000 }).toBe(1);
    expect(await mine.getAttribute('data-status')).toBe('ordered');
    expect(await mine.getByTestId('parts-order-line').textContent()).toBe('2 × Ignition coil');
    expect(await mine.getByTestId('parts-order-total').textContent()).toBe('€91.80');
    expect(await mine.getByTestId('parts-order-repair-order').getAttribute('href')).toBe(
      `/repair-order.html?id=${repairOrderId}`,
    );
    // The repair center cannot accept its own order: only cancel is offered while it is new.
    expect(await mine.getByTestId('action-accept').count()).toBe(0);
    expect(await mine.getByTestId('action-cancel').count()).toBe(1);
    const orderId = (await mine.getAttribute('data-order-id'))!;

    // The parts shop's side: the order comes in; accepted (the stock is taken), then shipped.
    const depot = await signIn(browser, origin, account('admin@demo.clutch.test'));
    await depot.page.goto(`${origin}/parts-orders.html`);
    await navReady(depot.page);
    const incoming = depot.page.locator(`[data-testid="incoming"] [data-order-id="${orderId}"]`);
    await incoming.waitFor({ timeout: 10_000 });
    expect(await incoming.textContent()).toContain('From Clutch Demo Garage Mitte to Demo Parts Depot');
    await incoming.getByTestId('action-accept').click();
    await expect.poll(() => incoming.getAttribute('data-status'), { timeout: 10_000 }).toBe('accepted');
    expect(await depotStock(depot, 'BOSCH-0221504470')).toBe(coilBefore - 2);
    await incoming.getByTestId('tracking').fill('DHL 00340434161094042557');
    await incoming.getByTestId('action-ship').click();
    await expect.poll(() => incoming.getAttribute('data-status'), { timeout: 10_000 }).toBe('shipped');
    expect(await incoming.getByTestId('parts-order-tracking').textContent()).toContain('DHL 00340434161094042557');

    // The repair center sees it shipped and confirms the delivery.
    await shop.page.reload();
    await navReady(shop.page);
    await expect.poll(() => mine.getAttribute('data-status'), { timeout: 10_000 }).toBe('shipped');
    await mine.getByTestId('action-deliver').click();
    await expect.poll(() => mine.getAttribute('data-status'), { timeout: 10_000 }).toBe('delivered');
    const stored = await api<{ status: string; deliveredAt: string | null; repairOrderId: string }>(
      shop,
      origin,
      'GET',
      `/api/parts-orders/${orderId}`,
    );
    expect(stored).toMatchObject({ status: 'delivered', repairOrderId });
    expect(stored.deliveredAt).not.toBeNull();
    // A delivered order offers no more moves to anyone.
    expect(await mine.locator('button').count()).toBe(0);

    // Every text of the page comes from the catalogue (en-XA), data aside.
    for (const party of [shop, depot]) {
      await party.page.goto(`${origin}/parts-orders.html?lang=en-XA`);
      await navReady(party.page);
      await party.page.waitForLoadState('networkidle');
      await party.page.getByTestId('parts-order').first().waitFor();
      expect(await party.page.evaluate(UNLOCALISED_TEXTS)).toEqual([]);
    }
    expect([...owner.errors, ...shop.errors, ...depot.errors]).toEqual([]);
    for (const party of [owner, shop, depot]) await party.context.close();
  }, 240_000);
});
