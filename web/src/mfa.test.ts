import { startApiServer, type ApiServer } from '@clutch/api';
import { createInProcessBus, signalCatalogue } from '@clutch/contracts';
import { migrate, openPglite, syncSignals, type Database } from '@clutch/db';
import { freePort, launchChromium } from '@clutch/test-support';
import { generate } from 'otplib';
import { pino } from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPages } from './build.js';
import { webRoot } from './index.js';

const PASSWORD = 'correct horse battery staple';

let db: Database;
let api: ApiServer;
let browser: Browser;
/** `localhost`, not 127.0.0.1: WebAuthn wants a domain as relying party id (and localhost is a secure context). */
let origin: string;

beforeAll(async () => {
  await buildPages();
  db = await openPglite();
  await migrate(db);
  await syncSignals(db, signalCatalogue);
  // The relying party's origin names the port, so it is chosen before the server starts.
  const port = await freePort();
  origin = `http://localhost:${port}`;
  api = await startApiServer({
    db,
    bus: createInProcessBus(),
    health: async () => ({}),
    logger: pino({ level: 'silent' }),
    webRoot,
    port,
    requireAuth: true,
    mfa: { webauthn: { rpID: 'localhost', rpName: 'Clutch', origins: [origin] } },
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await db?.close();
});

/** A new owner signed in in a fresh browser context (the session cookies live in the context). */
async function signedIn(name: string): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext();
  const email = `${name}@example.com`;
  const reg = await context.request.post(`${origin}/api/auth/register`, {
    data: { email, password: PASSWORD, displayName: name },
  });
  expect(reg.status()).toBe(202);
  const login = await context.request.post(`${origin}/api/auth/login`, { data: { email, password: PASSWORD } });
  expect(login.status()).toBe(200);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  return { context, page, errors };
}

describe('MFA setup page', () => {
  it('sets up an authenticator app from the QR code and a code, and shows the backup codes once', async () => {
    const { context, page, errors } = await signedIn('totp-page');
    await page.goto(`${origin}/mfa.html`);
    await expect.poll(() => page.getByTestId('methods').textContent()).toContain('None yet');
    await page.getByTestId('totp-start').click();
    const qr = page.getByTestId('totp-qr');
    await expect.poll(() => qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml/);
    // The QR image decodes in the browser (an SVG it can draw).
    await expect
      .poll(() => qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth))
      .toBeGreaterThan(0);
    const secret = (await page.getByTestId('totp-secret').textContent())!;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);

    await page.getByTestId('totp-code').fill(await generate({ secret }));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => page.getByTestId('message').textContent()).toBe('Done: your authenticator app is set up.');
    const codes = page.getByTestId('backup-codes').locator('li');
    await expect.poll(() => codes.count()).toBe(10);
    expect(await codes.first().textContent()).toMatch(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
    await expect
      .poll(() => page.getByTestId('methods').locator('li').allTextContents())
      .toEqual(['authenticator app', 'backup code']);
    expect(await page.getByTestId('totp-active').isVisible()).toBe(true);
    expect(await page.getByTestId('backup-remaining').textContent()).toBe('10 backup codes left');

    // Shown once: a reload lists the factors, not the codes.
    await page.reload();
    await expect.poll(() => page.getByTestId('methods').locator('li').count()).toBe(2);
    expect(await page.getByTestId('backup').isVisible()).toBe(false);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('registers a passkey with the DevTools virtual authenticator', async () => {
    const { context, page, errors } = await signedIn('passkey-page');
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await page.goto(`${origin}/mfa.html`);
    await expect.poll(() => page.getByTestId('methods').textContent()).toContain('None yet');
    await page.getByTestId('passkey-add').click();
    await expect.poll(() => page.getByTestId('message').textContent()).toBe('Done: your passkey is set up.');
    await expect
      .poll(() => page.getByTestId('passkeys').locator('li').allTextContents())
      .toEqual(['Passkey on this device']);
    await expect.poll(() => page.getByTestId('backup-codes').locator('li').count()).toBe(10);

    // The credential the server stored is the one the authenticator holds.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    const { rows } = await db.query<{ id: string }>('SELECT id FROM webauthn_credentials');
    expect(rows.map((r) => r.id)).toContain(Buffer.from(credentials[0]!.credentialId, 'base64').toString('base64url'));
    expect(errors).toEqual([]);
    await context.close();
  });

  it('tells a visitor without a session to sign in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/mfa.html`);
    await expect.poll(() => page.getByTestId('signed-out').isVisible()).toBe(true);
    expect(await page.getByTestId('signed-in').isVisible()).toBe(false);
    await context.close();
  });
});
