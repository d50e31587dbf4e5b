import { launchChromium } from '@clutch/test-support';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPages } from './build.js';
import { DEMO_VEHICLE, startDemoServer, type DemoServer } from './demo.js';
import { webRoot } from './index.js';

/**
 * The pages that fill lists after they are drawn (shops, roles) keep still while their data arrives: what
 * a person started reading is not pushed away (Lighthouse's cumulative layout shift; docs/web.md). The
 * API's answers are held until the page has been drawn, as on a slow network, so every late arrival is
 * one the page must have made room for.
 */

const NO_POSITION = 'We do not know where this car is. Use your own location instead.';
/** Where Red roadster was last seen, and two repair shops near it. */
const CAR_AT = { lat: 52.52, lon: 13.41 };

let demo: DemoServer;
let browser: Browser;

beforeAll(async () => {
  await buildPages();
  demo = await startDemoServer(webRoot);
  await demo.db.query(`INSERT INTO tenants (id, name, kind) VALUES ('garages', 'Garages', 'partner')`);
  for (const [name, dLat, city] of [
    ['Corner Garage', 0.004, 'Berlin'],
    ['Riverside Motor Works', 0.012, null],
  ] as const) {
    const { rows } = await demo.db.query<{ id: string }>(
      `INSERT INTO partners (tenant_id, name, kinds, time_zone, currency, labour_rate_minor, lat, lon, address, status)
       VALUES ('garages', $1, ARRAY['repair_center'], 'Europe/Berlin', 'EUR', 8000, $2, $3, $4, 'active')
       RETURNING id::text AS id`,
      [name, CAR_AT.lat + dLat, CAR_AT.lon, city ? JSON.stringify({ city }) : null],
    );
    await demo.db.query(
      `INSERT INTO partner_services (tenant_id, partner_id, code, name, price_kind, price_minor, currency, duration_minutes)
       VALUES ('garages', $1, 'diagnostics', 'Diagnostics', 'fixed', 4900, 'EUR', 30)`,
      [rows[0]!.id],
    );
  }
  await demo.db.query(
    `INSERT INTO locations (time, tenant_id, vehicle_id, lat, lon) VALUES (now() - interval '1 hour', 'acme', $1, $2, $3)`,
    [DEMO_VEHICLE, CAR_AT.lat, CAR_AT.lon],
  );
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

const SCREENS = [
  // Lighthouse's mobile and desktop screens.
  { name: 'phone', viewport: { width: 412, height: 823 }, deviceScaleFactor: 1.75, isMobile: true },
  { name: 'desktop', viewport: { width: 1350, height: 940 }, deviceScaleFactor: 1, isMobile: false },
] as const;

/** Resolves after the next frame has been drawn (evaluated in the page). */
const NEXT_FRAME = 'new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))';

interface Shift {
  value: number;
  moved: string;
}

/**
 * Opens the page with every API answer (and map tile) held back until it has been drawn, then lets them
 * through; resolves once `settled` says the data is shown. Returns what moved meanwhile, and how many
 * placeholder rows the first drawing had.
 */
async function loadHeldBack(
  screen: (typeof SCREENS)[number],
  path: string,
  settled: (page: Page) => Promise<void>,
): Promise<{ page: Page; shifts: Shift[]; placeholders: number; errors: string[] }> {
  const { name: _name, ...options } = screen;
  const page = await browser.newPage(options);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  // Every shift counts, hadRecentInput or not: nobody types or clicks here, yet on the emulated phone
  // Chromium flags the first half second's shifts as after input (Lighthouse counted them).
  await page.addInitScript(`
    window.__shifts = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const rect = (r) => [r.x, r.y, r.width, r.height].map(Math.round).join(',');
        const moved = e.sources.map((s) => (s.node ? s.node.nodeName + '.' + (s.node.className || '') + ' "' + (s.node.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40) + '"' : '?') + ' ' + rect(s.previousRect) + ' -> ' + rect(s.currentRect));
        window.__shifts.push({ value: e.value, moved: moved.join(', ') });
      }
    }).observe({ type: 'layout-shift', buffered: true });
  `);
  let release!: () => void;
  const drawn = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/api/**', async (route) => {
    await drawn;
    await route.continue();
  });
  // The machine is offline: the tile server fails, once the page is drawn (the fallback notice arrives late).
  await page.route('https://tile.openstreetmap.org/**', async (route) => {
    await drawn;
    await route.abort();
  });
  // Not `load`: that waits for the map's tiles, which wait for the page to be drawn.
  await page.goto(`${demo.url}${path}`, { waitUntil: 'domcontentloaded' });
  // The page as first drawn (its first contentful paint), its scripts run, no data yet.
  await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0);
  await page.evaluate(NEXT_FRAME);
  const placeholders = await page.locator('.placeholder-row').count();
  release();
  await settled(page);
  await page.evaluate(NEXT_FRAME);
  const shifts = (await page.evaluate('window.__shifts')) as Shift[];
  return { page, shifts, placeholders, errors };
}

const total = (shifts: Shift[]): number => shifts.reduce((sum, s) => sum + s.value, 0);
const moved = (shifts: Shift[]): string => JSON.stringify(shifts.filter((s) => s.value > 0.00005));

describe('pages that fill lists after they are drawn keep still', () => {
  for (const screen of SCREENS) {
    it(`roles: the role list's rows take the space kept for them (${screen.name})`, async () => {
      const { page, shifts, placeholders, errors } = await loadHeldBack(screen, '/roles.html', async (p) => {
        await expect.poll(() => p.getByTestId('status').textContent()).toMatch(/^\d+ roles$/);
      });
      // What a person reads first does not move (Lighthouse scored 0.376 on shops, 0.276 on roles, on a phone).
      expect(total(shifts), `layout shifts: ${moved(shifts)}`).toBeLessThan(0.001);
      expect(placeholders).toBeGreaterThan(0);
      expect(await page.getByTestId('roles').locator('button').count()).toBeGreaterThan(0);
      expect(await page.locator('.placeholder-row, [aria-busy]').count()).toBe(0);
      expect(errors).toEqual([]);
      await page.close();
    });

    it(`shops near the car: codes explained, shops listed, the map's fallback over the map (${screen.name})`, async () => {
      const { page, shifts, placeholders, errors } = await loadHeldBack(
        screen,
        `/shops.html?vehicle=${DEMO_VEHICLE}&codes=P0171`,
        async (p) => {
          await p.getByTestId('shop').first().waitFor();
          await p.getByTestId('code').waitFor();
          await p.getByTestId('map-fallback').waitFor();
        },
      );
      expect(total(shifts), `layout shifts: ${moved(shifts)}`).toBeLessThan(0.001);
      // One for the carried code and some for the shop list.
      expect(placeholders).toBeGreaterThan(1);
      expect(await page.getByTestId('shop').locator('[data-role="name"]').allTextContents()).toEqual([
        'Corner Garage',
        'Riverside Motor Works',
      ]);
      expect(await page.getByTestId('position').textContent()).toBe('Shops near where Red roadster was last seen.');
      expect(await page.getByTestId('map-fallback').isVisible()).toBe(true);
      expect(await page.locator('.placeholder-row, [aria-busy]').count()).toBe(0);
      expect(errors).toEqual([]);
      await page.close();
    });

    it(`shops for a car without a position: the way on offered, nothing pushed (${screen.name})`, async () => {
      // The first car (Other car) has never sent a position: the page Lighthouse scores.
      const { page, shifts, errors } = await loadHeldBack(screen, '/shops.html', async (p) => {
        await expect.poll(() => p.getByTestId('position').textContent()).toBe(NO_POSITION);
      });
      expect(total(shifts), `layout shifts: ${moved(shifts)}`).toBeLessThan(0.001);
      expect(await page.getByTestId('use-my-location').isVisible()).toBe(true);
      expect(await page.getByTestId('shop').count()).toBe(0);
      expect(await page.locator('.placeholder-row, [aria-busy]').count()).toBe(0);
      expect(errors).toEqual([]);
      await page.close();
    });
  }
});
