import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '@clutch/test-support';
import { generate } from 'otplib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPages } from './build.js';
import { startDemoPlatform, type DemoPlatform } from './testing/demo-platform.js';

// Issue 14's "done when": a newcomer runs `npm start`, signs in as the demo owner with TOTP, sees only
// their cars, and as the admin sees the audit trail of it. Runs the platform's built entry point the
// way `npm start` does (embedded, open demo mode), on free ports and a fresh data directory.
const dataDir = mkdtempSync(join(tmpdir(), 'clutch-demo-walk-'));

interface Vehicle {
  id: string;
  tenantId: string;
  name: string;
}

let demo: DemoPlatform | undefined;
let origin: string;
let browser: Browser;

const account = (email: string): { email: string; password: string } => demo!.account(email);

async function newPage(): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return { context, page, errors };
}

async function navReady(page: Page): Promise<void> {
  await page.locator('[data-testid="session-nav"][data-state="ready"]').waitFor();
}

async function signIn(page: Page, who: { email: string; password: string }): Promise<void> {
  await page.goto(`${origin}/signin.html`);
  await page.locator('#signin-email').fill(who.email);
  await page.locator('#signin-password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** The vehicle ids the list page shows once it has loaded. */
async function listedVehicles(page: Page): Promise<string[]> {
  const links = page.getByTestId('vehicles').locator('a[data-vehicle-id]');
  await expect.poll(() => links.count(), { timeout: 15_000 }).toBeGreaterThan(0);
  return (await links.evaluateAll((as) => as.map((a) => a.getAttribute('data-vehicle-id') ?? ''))).sort();
}

/** Epoch seconds of the TOTP code used last: each code is accepted once, so the next one is of a later step. */
let lastCodeAt = 0;
function nextCode(secret: string): Promise<string> {
  lastCodeAt = Math.max(Math.floor(Date.now() / 1000), lastCodeAt + 30);
  return generate({ secret, epoch: lastCodeAt });
}

async function startMain(): Promise<void> {
  demo = await startDemoPlatform(dataDir);
  origin = demo.origin;
}

beforeAll(async () => {
  await buildPages();
  await startMain();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await demo?.kill();
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

describe('the demo walk of npm start', () => {
  let ownerId: string;
  let secret: string;

  it("signs in as the demo owner, sees only the owner's cars with live data, and sets up TOTP", async () => {
    // The whole simulated fleet, as the open demo's anonymous administrator sees it.
    const all = (await (await fetch(`${origin}/api/vehicles`)).json()) as { vehicles: Vehicle[] };
    expect(all.vehicles).toHaveLength(3);
    const owned = all.vehicles.filter((v) => v.tenantId === 'consumers');
    // Cars 1 and 3 are the owner's private cars, car 2 is the demo partner's.
    expect(owned.map((v) => v.name.replace(/:.*/, '')).sort()).toEqual(['Demo car 1', 'Demo car 3']);

    const owner = account('owner@demo.clutch.test');
    const { context, page, errors } = await newPage();
    await signIn(page, owner);
    await page.waitForURL(`${origin}/`);
    await navReady(page);
    expect(await page.getByTestId('nav-user').textContent()).toBe('Olivia Owner');
    expect(await listedVehicles(page)).toEqual(owned.map((v) => v.id).sort());
    const me = (await (await context.request.get(`${origin}/api/me`)).json()) as { user: { id: string } };
    ownerId = me.user.id;

    // The dashboard of one of them updates live (Socket.io with the access cookie).
    await page.goto(`${origin}/dashboard.html?vehicle=${owned[0]!.id}`);
    await expect
      .poll(async () => (await page.getByTestId('connection').textContent())?.toLowerCase(), { timeout: 20_000 })
      .toContain('live');
    const rpm = page.getByTestId('value-engine.rpm');
    const speed = page.getByTestId('value-vehicle.speed');
    await expect.poll(async () => (await rpm.textContent())?.trim() ?? '', { timeout: 30_000 }).toMatch(/\d/);
    const before = `${await rpm.textContent()}|${await speed.textContent()}`;
    await expect
      .poll(async () => `${await rpm.textContent()}|${await speed.textContent()}`, { timeout: 30_000, interval: 250 })
      .not.toBe(before);
    // Another's car is not there for the owner: the API answers like a missing one.
    const other = all.vehicles.find((v) => v.tenantId !== 'consumers')!;
    expect((await context.request.get(`${origin}/api/vehicles/${other.id}`)).status()).toBe(404);

    // TOTP on the MFA page.
    await page.goto(`${origin}/mfa.html`);
    await page.getByTestId('totp-start').click();
    await expect.poll(() => page.getByTestId('totp-secret').textContent()).toMatch(/^[A-Z2-7]{32}$/);
    secret = (await page.getByTestId('totp-secret').textContent())!;
    await page.getByTestId('totp-code').fill(await nextCode(secret));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => page.getByTestId('message').textContent()).toBe('Done: your authenticator app is set up.');

    // Sign out from the top bar (the MFA page has none of its own).
    await page.goto(`${origin}/`);
    await navReady(page);
    await page.getByTestId('sign-out').click();
    await page.waitForURL(/\/signin\.html/);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('signs the owner in again with the TOTP code, to the same cars only', async () => {
    const owner = account('owner@demo.clutch.test');
    const { context, page, errors } = await newPage();
    await signIn(page, owner);
    await page.getByRole('radio', { name: 'Authenticator app' }).check();
    await page.locator('#mfa-code').fill(await nextCode(secret));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${origin}/`);
    await navReady(page);
    const me = (await (await context.request.get(`${origin}/api/me`)).json()) as {
      user: { id: string };
      session: { mfaAt: string | null };
      roles: unknown[];
    };
    expect(me.user.id).toBe(ownerId);
    expect(me.session.mfaAt).not.toBeNull();
    const all = (await (await fetch(`${origin}/api/vehicles`)).json()) as { vehicles: Vehicle[] };
    expect(await listedVehicles(page)).toEqual(
      all.vehicles
        .filter((v) => v.tenantId === 'consumers')
        .map((v) => v.id)
        .sort(),
    );
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it("shows the platform admin the owner's sign-ins on the audit page, with a CSV export", async () => {
    const admin = account('admin@demo.clutch.test');
    const { context, page, errors } = await newPage();
    await signIn(page, admin);
    await page.waitForURL(`${origin}/`);
    await navReady(page);
    expect(await page.getByTestId('nav-user').textContent()).toBe('Ada Admin');

    await page.goto(`${origin}/audit.html`);
    await navReady(page);
    await page.getByTestId('filter-actor').fill(`user:${ownerId}`);
    await page.getByTestId('filter-action').fill('auth.login');
    await page.getByTestId('apply').click();
    const rows = page.locator(`[data-testid="event"][data-actor="user:${ownerId}"][data-action="auth.login"]`);
    // The password sign-in and the one completed with TOTP.
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 10_000 }).toBe('2 events shown');
    expect(await rows.count()).toBe(2);
    expect(await page.getByTestId('event').count()).toBe(2);
    expect(await page.getByTestId('error').isVisible()).toBe(false);

    const csv = await page.getByTestId('csv').getAttribute('href');
    expect(csv).toContain('format=csv');
    const exported = await context.request.get(`${origin}${csv}`);
    expect(exported.status()).toBe(200);
    const lines = (await exported.text()).trim().split(/\r?\n/);
    expect(lines.filter((l) => l.includes(`user:${ownerId}`) && l.includes('auth.login'))).toHaveLength(2);

    // Every event of the owner: the TOTP setup is there too.
    await page.getByTestId('filter-action').fill('');
    await page.getByTestId('apply').click();
    await expect
      .poll(() =>
        page.locator(`[data-testid="event"][data-actor="user:${ownerId}"][data-action="mfa.enabled"]`).count(),
      )
      .toBe(1);

    // Older events page by page, without gaps or repeats.
    await page.getByTestId('filter-actor').fill('');
    await page.getByTestId('filter-limit').selectOption('10');
    await page.getByTestId('apply').click();
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('10 events shown');
    const idsOf = (): Promise<(string | null)[]> =>
      page.getByTestId('event').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    const firstPage = await idsOf();
    expect(await page.getByTestId('csv').getAttribute('href')).toBe('/api/security/reports?format=csv');
    await page.getByTestId('next').click();
    // The walk so far recorded more than ten events; the next page is appended, older ones only.
    await expect.poll(async () => (await idsOf()).length).toBeGreaterThan(10);
    const ids = await idsOf();
    expect(ids.slice(0, 10)).toEqual(firstPage);
    expect(new Set(ids).size).toBe(ids.length);

    // Its texts come from the catalogue: the pseudo-locale replaces every one of them.
    await page.goto(`${origin}/audit.html?lang=en-XA`);
    await expect.poll(() => page.getByTestId('status').textContent()).toMatch(/^\[.*\]$/);
    const texts = await page
      .locator('h1, th, label > span, button, [data-testid="csv"], [data-testid="filter-outcome"] option')
      .allTextContents();
    expect(texts.length).toBeGreaterThan(15);
    // An empty text (the bell's badge with nothing unread) is no untranslated literal.
    expect(texts.filter((t) => t.trim() !== '' && !/^\[.*\]$/.test(t.trim()))).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('keeps the demo accounts, their roles and cars across a restart on the same data directory', async () => {
    const before = account('owner@demo.clutch.test');
    expect(await demo!.stop()).toBe(0);
    await startMain();
    expect(account('owner@demo.clutch.test')).toEqual(before);

    const { vehicles } = (await (await fetch(`${origin}/api/vehicles`)).json()) as { vehicles: Vehicle[] };
    expect(vehicles.map((v) => `${v.tenantId} ${v.name.replace(/:.*/, '')}`).sort()).toEqual([
      'consumers Demo car 1',
      'consumers Demo car 3',
      'demo Demo car 2',
    ]);
    // Each account was granted its role once, at the first start.
    const granted = (await (
      await fetch(`${origin}/api/security/reports?actor=demo-seed&action=role.granted`)
    ).json()) as { events: { detail: { role: string } }[] };
    expect(granted.events.map((e) => e.detail.role).sort()).toEqual([
      'owner',
      'partner-admin',
      'platform-admin',
      'technician',
    ]);
    // The owner still has TOTP: a correct password asks for the second factor.
    const login = await fetch(`${origin}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(before),
    });
    expect(await login.json()).toMatchObject({ mfaRequired: true, methods: expect.arrayContaining(['totp']) });
  }, 120_000);
});
