import { startApiServer, type ApiServer } from '@clutch/api';
import { createInProcessBus, signalCatalogue } from '@clutch/contracts';
import { migrate, openPglite, syncSignals, type Database } from '@clutch/db';
import { launchChromium } from '@clutch/test-support';
import type { Browser, Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPages } from './build.js';
import { webRoot } from './index.js';
import { UNLOCALISED_TEXTS } from './page-texts.js';

const TINA = '714a0000-0000-4000-8000-0000000000f1';

let db: Database;
let api: ApiServer;
let browser: Browser;

beforeAll(async () => {
  await buildPages();
  db = await openPglite();
  await migrate(db);
  await syncSignals(db, signalCatalogue);
  await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme Repairs')`);
  await db.query(
    `INSERT INTO users (id, tenant_id, email, display_name) VALUES ($1, 'acme', 'tina@acme.example', 'Tina')`,
    [TINA],
  );
  // Open dev mode: the page's caller is the (development) administrator, as in the `npm start` demo.
  api = await startApiServer({
    db,
    bus: createInProcessBus(),
    health: async () => ({}),
    logger: pino({ level: 'silent' }),
    webRoot,
    port: 0,
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await db?.close();
});

async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  await page.goto(url);
  return { page, errors };
}

describe('roles page', () => {
  it('creates a role inheriting from another, gives it a permission and grants it to a user', async () => {
    const { page, errors } = await openPage(`${api.url}/roles.html`);
    const roles = page.getByTestId('roles').locator('button');
    await expect.poll(() => roles.count()).toBe(7);
    expect(await page.getByTestId('status').textContent()).toBe('7 roles');

    // A new role that inherits from the built-in technician.
    await page.getByTestId('new-key').fill('senior-tech');
    await page.getByTestId('new-name').fill('Senior technician');
    await page.getByTestId('new-tenant').fill('acme');
    const technician = await page
      .locator('[data-testid="new-parents"] option', { hasText: 'Technician' })
      .getAttribute('value');
    await page.getByTestId('new-parents').selectOption([technician!]);
    await page.getByRole('button', { name: 'Create role' }).click();
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('Role Senior technician created.');
    expect(await roles.count()).toBe(8);
    expect(await page.getByTestId('role-heading').textContent()).toBe('Permissions of Senior technician');
    const row = (permission: string) =>
      page.locator(`[data-testid="permission-list"] li[data-permission="${permission}"]`);
    // Inherited permissions say where they come from; the role's own list starts empty.
    expect(await row('dtc:read').locator('.permission-note').textContent()).toBe('from technician');
    expect(await row('bookings:read').locator('.permission-note').textContent()).toBe(
      'from technician (own shop only)',
    );
    // Every permission is live now (chat was the last planned one): no "not used yet" note.
    expect(await row('chat:read').locator('.permission-note').textContent()).toBe('from technician (own shop only)');
    expect(await row('location:read').locator('input').isChecked()).toBe(false);

    // Give it a permission of its own.
    await row('location:read').locator('input').check();
    await page.getByTestId('save-permissions').click();
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('Permissions of Senior technician saved.');
    const roleId = (await page
      .getByTestId('roles')
      .locator('button[aria-pressed="true"]')
      .getAttribute('data-role-id'))!;
    const stored = (await (await fetch(`${api.url}/api/roles/${roleId}/permissions`)).json()) as {
      permissions: { permission: string }[];
      inherited: { permission: string; from: { key: string } }[];
    };
    expect(stored.permissions).toEqual([{ permission: 'location:read', condition: null }]);
    expect(stored.inherited.map((p) => p.from.key)).toContain('technician');

    // Grant it to Tina.
    await page.getByTestId('grant-user').fill(TINA);
    await page.getByRole('button', { name: 'Grant role' }).click();
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('Senior technician granted.');
    expect(await page.getByTestId('grants').locator('li').allTextContents()).toEqual(['Senior technician · no end']);
    const { rows } = await db.query<{ key: string }>(
      `SELECT r.key FROM role_grants g JOIN roles r ON r.id = g.role_id WHERE g.user_id = $1`,
      [TINA],
    );
    expect(rows).toEqual([{ key: 'senior-tech' }]);

    // Built-in roles keep their permissions: the page does not offer to change them.
    await roles.filter({ has: page.locator('.role-key', { hasText: /^technician$/ }) }).click();
    await expect.poll(() => page.getByTestId('role-heading').textContent()).toBe('Permissions of Technician');
    // The heading changes before the role's permissions arrive; the button settles once they have.
    await expect.poll(() => row('dtc:read').locator('input').isDisabled()).toBe(true);
    expect(await page.getByTestId('save-permissions').isDisabled()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows only catalogue texts in the en-XA pseudo-locale', async () => {
    const { page, errors } = await openPage(`${api.url}/roles.html?lang=en-XA`);
    await expect.poll(() => page.getByTestId('roles').locator('button').count()).toBeGreaterThan(6);
    await page.getByTestId('roles').locator('button').first().click();
    await expect.poll(() => page.getByTestId('permission-list').locator('li').count()).toBeGreaterThan(30);
    expect(await page.evaluate(UNLOCALISED_TEXTS)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
