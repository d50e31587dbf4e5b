import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { launchChromium } from '@clutch/test-support';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPages } from './build.js';
import { UNLOCALISED_TEXTS } from './page-texts.js';
import { startDemoPlatform, type DemoPlatform } from './testing/demo-platform.js';
import { api, bookDemoGarage, demoCar, navReady, signIn, type Party } from './testing/marketplace-parties.js';

// Issue 17's chat on the booking page, in Chromium against `npm start` (embedded, open demo mode): the
// demo owner and the demo shop's admin open the same repair order in two browser contexts. The shop
// types (the owner sees "… is typing") and sends; the owner's open page shows the message live; the
// owner's page reads it and the shop's page shows "Seen"; the owner answers with a photo and a PDF;
// the shop deletes a message and the owner's page shows it deleted; the owner reports one; paging up
// through a long history, and reconnects after the connection drops, show every message once, in order.
const dataDir = mkdtempSync(join(tmpdir(), 'clutch-chat-walk-'));

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

/** A 1×1 PNG, and a small PDF: what a person attaches from their phone or computer. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');

const messages = (page: Page) => page.getByTestId('chat-messages').getByTestId('chat-message');
const messageWith = (page: Page, text: string) => messages(page).filter({ hasText: text });

async function openOrder(party: Party, orderId: string): Promise<void> {
  await party.page.goto(`${origin}/repair-order.html?id=${orderId}`);
  await navReady(party.page);
  await party.page.locator('[data-testid="chat"][data-state="ready"]').waitFor({ timeout: 15_000 });
  // Subscribed to the room: from here on nothing is missed.
  await party.page.locator('[data-testid="chat"][data-live="true"]').waitFor({ timeout: 15_000 });
}

async function displayName(party: Party): Promise<string> {
  const me = await api<{ user: { displayName: string } }>(party, origin, 'GET', '/api/me');
  return me.user.displayName;
}

describe('the chat on the booking page', () => {
  it('carries messages live between the owner and the shop, with typing, "Seen", attachments and moderation', async () => {
    const owner = await signIn(browser, origin, demo!.account('owner@demo.clutch.test'));
    const shop = await signIn(browser, origin, demo!.account('shop-admin@demo.clutch.test'));
    const car = await demoCar(owner, origin, 'Demo car');
    const { repairOrderId, bookingId } = await bookDemoGarage(owner, origin, car.id, 'diagnostics');

    await openOrder(owner, repairOrderId);
    await openOrder(shop, repairOrderId);
    // One room per booking: both pages opened the same one.
    const roomId = await owner.page.getByTestId('chat').getAttribute('data-room-id');
    expect(roomId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await shop.page.getByTestId('chat').getAttribute('data-room-id')).toBe(roomId);
    const room = await api<{ bookingId: string }>(owner, origin, 'GET', `/api/chat/rooms/${roomId}`);
    expect(room.bookingId).toBe(bookingId);
    expect(await owner.page.getByTestId('chat-status').textContent()).toBe('No messages yet. Write the first one.');

    // The shop types: the owner's page says so.
    const shopName = await displayName(shop);
    const question = `Hello! We can look at the misfire tomorrow at 9. ${randomUUID().slice(0, 8)}`;
    await shop.page.getByTestId('chat-input').pressSequentially(question.slice(0, 12));
    await expect
      .poll(() => owner.page.getByTestId('chat-typing').textContent(), { timeout: 10_000 })
      .toBe(`${shopName} is typing…`);
    await shop.page.getByTestId('chat-input').fill(question);
    await shop.page.getByTestId('chat-input').press('Enter');

    // Live on the owner's open page, once, with the shop's name; the typing line is gone.
    await expect.poll(() => messageWith(owner.page, question).count(), { timeout: 10_000 }).toBe(1);
    const received = messageWith(owner.page, question);
    expect(await received.getAttribute('data-mine')).toBe('false');
    expect(await received.getByTestId('chat-sender').textContent()).toBe(shopName);
    expect(await owner.page.getByTestId('chat-typing').isVisible()).toBe(false);
    // The owner's page is in sight, so it read the message: the shop sees "Seen".
    const sent = messageWith(shop.page, question);
    await expect.poll(() => sent.getAttribute('data-state'), { timeout: 10_000 }).toBe('seen');
    expect(await sent.getByTestId('chat-state').textContent()).toBe('Seen');
    expect(await messageWith(shop.page, question).count()).toBe(1);

    // The owner answers by clicking Send: shown at once, then stored; never twice on either page.
    const answer = 'Tomorrow at 9 works. Photo of the dashboard attached.';
    await owner.page.getByTestId('chat-file').setInputFiles([
      { name: 'dashboard.png', mimeType: 'image/png', buffer: PNG },
      { name: 'last-invoice.pdf', mimeType: 'application/pdf', buffer: PDF },
    ]);
    await expect
      .poll(() => owner.page.locator('[data-testid="chat-staged-item"][data-state="ready"]').count(), {
        timeout: 15_000,
      })
      .toBe(2);
    await owner.page.getByTestId('chat-input').fill(answer);
    await owner.page.getByTestId('chat-send').click();
    await expect
      .poll(() => messageWith(owner.page, answer).getAttribute('data-seq'), { timeout: 10_000 })
      .toMatch(/^\d+$/);
    await expect.poll(() => messageWith(shop.page, answer).count(), { timeout: 10_000 }).toBe(1);
    expect(await messageWith(owner.page, answer).count()).toBe(1);
    const onShop = messageWith(shop.page, answer);
    // The image as a preview, the PDF as a link with its size.
    const image = onShop.getByTestId('chat-image');
    await image.waitFor();
    // Stored re-encoded and stripped of metadata (docs/chat.md), under the name the owner gave it.
    expect(await image.getAttribute('alt')).toMatch(/^Image: dashboard\.(png|webp)$/);
    await expect
      .poll(() =>
        image.evaluate((img: { complete: boolean; naturalWidth: number }) => img.complete && img.naturalWidth > 0),
      )
      .toBe(true);
    const file = onShop.locator('[data-testid="chat-attachment"]', { hasText: 'last-invoice.pdf' });
    expect(await file.count()).toBe(1);
    const fileUrl = await file.getAttribute('href');
    const download = await shop.context.request.get(`${origin}${fileUrl}`);
    expect(download.status()).toBe(200);
    expect(Buffer.from(await download.body()).equals(PDF)).toBe(true);

    // The shop deletes a message it sent: the owner's page shows it deleted, live.
    const mistake = 'Sorry, wrong customer: please ignore.';
    await shop.page.getByTestId('chat-input').fill(mistake);
    await shop.page.getByTestId('chat-send').click();
    await expect.poll(() => messageWith(owner.page, mistake).count(), { timeout: 10_000 }).toBe(1);
    const seq = await messageWith(shop.page, mistake).getAttribute('data-seq');
    await messageWith(shop.page, mistake).getByTestId('chat-delete').click();
    const deletedOnOwner = owner.page.locator(`[data-testid="chat-message"][data-seq="${seq}"]`);
    await expect.poll(() => deletedOnOwner.getAttribute('data-state'), { timeout: 10_000 }).toBe('deleted');
    expect(await deletedOnOwner.textContent()).toContain('Message deleted');
    expect(await deletedOnOwner.textContent()).not.toContain(mistake);

    // The owner reports the shop's first message.
    await received.getByTestId('chat-report').click();
    await received.getByTestId('chat-report-reason').fill('Testing the report button');
    await received.getByTestId('chat-report-submit').click();
    await received.getByTestId('chat-reported').waitFor();

    // A reload shows the same conversation from the history, in order, each message once.
    await openOrder(owner, repairOrderId);
    const texts = await messages(owner.page).getByTestId('chat-text').allTextContents();
    expect(texts).toEqual([question, answer]);

    // The shop's admin leaves the room: the owner's open page shows the room's line live.
    await api(shop, origin, 'POST', `/api/chat/rooms/${roomId}/leave`);
    const left = owner.page.getByTestId('chat-left');
    await left.waitFor({ timeout: 10_000 });
    expect(await left.textContent()).toBe(`${shopName} left the conversation`);
    expect(owner.errors).toEqual([]);
    expect(shop.errors).toEqual([]);
    await owner.context.close();
    await shop.context.close();
  }, 180_000);

  it('pages up through a long history, every message once and in order', async () => {
    const owner = await signIn(browser, origin, demo!.account('owner@demo.clutch.test'));
    const shop = await signIn(browser, origin, demo!.account('shop-admin@demo.clutch.test'));
    const car = await demoCar(owner, origin, 'Demo car');
    const { bookingId, repairOrderId } = await bookDemoGarage(owner, origin, car.id, 'diagnostics');
    // The owner's Socket.io connections pass through the test, which can cut them (a train tunnel).
    const links: { page: WebSocketRoute; server: WebSocketRoute }[] = [];
    await owner.page.routeWebSocket(/\/socket\.io\//, (ws) => {
      links.push({ page: ws, server: ws.connectToServer() });
    });
    const room = await api<{ id: string }>(shop, origin, 'POST', '/api/chat/rooms', { kind: 'booking', bookingId });
    const sent: string[] = [];
    for (let i = 1; i <= 45; i++) {
      const body = `Update ${i}`;
      await api(shop, origin, 'POST', `/api/chat/rooms/${room.id}/messages`, { clientMessageId: randomUUID(), body });
      sent.push(body);
    }
    await openOrder(owner, repairOrderId);
    const shown = (): Promise<string[]> => messages(owner.page).getByTestId('chat-text').allTextContents();
    // The latest page first.
    expect(await shown()).toEqual(sent.slice(-30));
    await owner.page.getByTestId('chat-older').click();
    await expect.poll(shown, { timeout: 10_000 }).toEqual(sent);
    await expect.poll(() => owner.page.getByTestId('chat-older').isVisible()).toBe(false);
    const seqs = await messages(owner.page).evaluateAll((li) => li.map((e) => Number(e.getAttribute('data-seq'))));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(45);

    // The connection drops three times while the shop writes: after each reconnect the page subscribes
    // again from the last message it holds and shows every message once, in order.
    const chat = owner.page.getByTestId('chat');
    for (let round = 1; round <= 3; round++) {
      // Every connection of the page (the order's live updates have their own besides the chat's).
      for (const link of links.splice(0)) {
        await link.server.close();
        await link.page.close();
      }
      await expect.poll(() => chat.getAttribute('data-live'), { timeout: 10_000 }).toBe('false');
      for (let i = 1; i <= 3; i++) {
        const body = `While offline ${round}.${i}`;
        await api(shop, origin, 'POST', `/api/chat/rooms/${room.id}/messages`, { clientMessageId: randomUUID(), body });
        sent.push(body);
      }
      await expect.poll(() => chat.getAttribute('data-live'), { timeout: 20_000 }).toBe('true');
      await expect.poll(shown, { timeout: 10_000 }).toEqual(sent);
    }
    expect(links.length).toBeGreaterThan(0);

    // Words from the catalogue only (en-XA), a person's messages and names aside; and right-to-left.
    await owner.page.goto(`${origin}/repair-order.html?id=${repairOrderId}&lang=en-XA`);
    await owner.page.locator('[data-testid="chat"][data-state="ready"]').waitFor({ timeout: 15_000 });
    await owner.page.waitForLoadState('networkidle');
    expect(await owner.page.evaluate(UNLOCALISED_TEXTS)).toEqual([]);
    await owner.page.goto(`${origin}/repair-order.html?id=${repairOrderId}&lang=ar-XB`);
    await owner.page.locator('[data-testid="chat"][data-state="ready"]').waitFor({ timeout: 15_000 });
    expect(await owner.page.getAttribute('html', 'dir')).toBe('rtl');
    // Received messages sit at the start of the line (the right in right-to-left), own ones at the end.
    const box = await messages(owner.page).last().boundingBox();
    const list = await owner.page.getByTestId('chat-messages').boundingBox();
    expect(box!.x + box!.width).toBeGreaterThan(list!.x + list!.width - 20);
    expect(owner.errors).toEqual([]);
    await owner.context.close();
    await shop.context.close();
  }, 180_000);
});
