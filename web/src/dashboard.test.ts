import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signalByKey } from '@clutch/contracts';
import { launchChromium } from '@clutch/test-support';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPages } from './build.js';
import {
  DEMO_TENANT as TENANT,
  DEMO_VEHICLE as VEHICLE,
  driveDemoVehicle,
  OTHER_VEHICLE as OTHER,
  startDemoServer,
  type DemoServer,
} from './demo.js';
import { webRoot } from './index.js';
import { UNLOCALISED_TEXTS } from './page-texts.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Descriptions of trouble codes come from this data set when it is present. */
const hasDtcDescriptions = existsSync(path.join(repoRoot, '..', 'shared', 'datasets', 'dtc-codes-wal33d'));

let demo: DemoServer;
let browser: Browser;

beforeAll(async () => {
  // The pages load the bundles; esbuild takes well under a second, so build every time rather than guess staleness.
  await buildPages();
  demo = await startDemoServer(webRoot);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('response', (res) => {
    if (res.status() >= 400) errors.push(`${res.status()} ${res.url()}`);
  });
  await page.goto(url);
  return { page, errors };
}

const text = (page: Page, testId: string) => page.getByTestId(testId);

describe('owner dashboard', () => {
  it('shows stored values, goes live, and follows bus readings for its vehicle only', async () => {
    const { page, errors } = await openPage(`${demo.url}/dashboard.html?vehicle=${VEHICLE}`);
    await expect.poll(() => text(page, 'value-engine.rpm').textContent()).toBe('2150');
    await expect.poll(() => text(page, 'value-vehicle.speed').textContent()).toBe('57');
    await expect.poll(() => text(page, 'value-engine.coolant_temp').textContent()).toBe('91');
    await expect.poll(() => text(page, 'value-battery.voltage').textContent()).toBe('13.9');
    await expect.poll(() => text(page, 'vehicle-name').textContent()).toBe('Red roadster');
    await expect.poll(() => text(page, 'connection').textContent()).toBe('live');
    expect(await page.locator('.tile[data-signal="engine.rpm"]').count()).toBe(1);

    const time = new Date().toISOString();
    demo.bus.publish({
      type: 'readings',
      tenantId: TENANT,
      vehicleId: OTHER,
      readings: [{ signal: 'engine.rpm', time, value: 6000 }],
    });
    demo.bus.publish({
      type: 'readings',
      tenantId: TENANT,
      vehicleId: VEHICLE,
      readings: [
        { signal: 'engine.rpm', time, value: 3210 },
        { signal: 'vehicle.speed', time, value: 88 },
        { signal: 'battery.voltage', time, value: 12.4 },
      ],
    });
    await expect.poll(() => text(page, 'value-engine.rpm').textContent()).toBe('3210');
    await expect.poll(() => text(page, 'value-vehicle.speed').textContent()).toBe('88');
    await expect.poll(() => text(page, 'value-battery.voltage').textContent()).toBe('12.4');
    expect(await text(page, 'connection').textContent()).toBe('live');

    // An out-of-order reading older than what is shown must not move the tile backwards.
    demo.bus.publish({
      type: 'readings',
      tenantId: TENANT,
      vehicleId: VEHICLE,
      readings: [{ signal: 'engine.rpm', time: new Date(Date.now() - 600_000).toISOString(), value: 999 }],
    });
    demo.bus.publish({
      type: 'readings',
      tenantId: TENANT,
      vehicleId: VEHICLE,
      readings: [{ signal: 'engine.coolant_temp', time: new Date().toISOString(), value: 95 }],
    });
    await expect.poll(() => text(page, 'value-engine.coolant_temp').textContent()).toBe('95');
    expect(await text(page, 'value-engine.rpm').textContent()).toBe('3210');

    // The chart was drawn: some pixel of the canvas is not transparent.
    // A string, because this file is compiled for Node without DOM types.
    const painted = await page.evaluate(`(() => {
      const canvas = document.querySelector('[data-testid="chart"]');
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      return data.some((v, i) => i % 4 === 3 && v > 0);
    })()`);
    expect(painted).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows alerts, presence and trouble codes, and follows them live', async () => {
    const { page, errors } = await openPage(`${demo.url}/dashboard.html?vehicle=${VEHICLE}`);
    await page.setViewportSize({ width: 1280, height: 1100 });
    const alerts = page.getByTestId('alert');
    await expect.poll(() => alerts.count()).toBe(1);
    const stored = alerts.first();
    expect(await stored.getAttribute('data-severity')).toBe('warning');
    expect(await stored.locator('[data-role="severity"]').textContent()).toBe('Warning');
    expect(await stored.locator('[data-role="title"]').textContent()).toBe('Engine running lean at idle');
    expect(await stored.locator('[data-role="explanation"]').textContent()).toContain(
      'Check intake hoses and gaskets for a vacuum leak.',
    );
    // Signals by their catalogue names, time as "1 hour ago".
    await expect
      .poll(() => stored.locator('[data-role="signals"] li').allTextContents())
      .toEqual(['Long term fuel trim (bank 1)', 'Short term fuel trim (bank 1)']);
    expect(await stored.locator('time').textContent()).toBe('1 hour ago');

    const presence = page.getByTestId('presence');
    await expect.poll(() => presence.getAttribute('data-online')).toBe('false');
    expect(await presence.textContent()).toContain('Offline');
    expect(await presence.textContent()).toContain('last seen 10 minutes ago');

    const dtc = page.getByTestId('dtc');
    await expect.poll(() => dtc.count()).toBe(1);
    expect(await dtc.first().locator('[data-role="code"]').textContent()).toBe('P0171');
    if (hasDtcDescriptions)
      expect(await dtc.first().locator('[data-role="description"]').textContent()).toBe('System Too Lean Bank 1');
    await expect.poll(() => text(page, 'connection').textContent()).toBe('live');

    // Live: an alert from ingest, the gateway coming back, for this vehicle only.
    const at = new Date().toISOString();
    const alert = {
      kind: 'cooling',
      severity: 'critical' as const,
      title: 'Engine overheating',
      explanation:
        'Coolant reached 116 °C while driving; stop and let the engine cool, then check the coolant level and the fan.',
      signals: ['engine.coolant_temp'],
      at,
    };
    demo.bus.publish({
      type: 'alert',
      tenantId: TENANT,
      vehicleId: OTHER,
      alert: { ...alert, id: '9001', title: 'Not this car' },
    });
    demo.bus.publish({ type: 'alert', tenantId: TENANT, vehicleId: VEHICLE, alert: { ...alert, id: '9002' } });
    demo.bus.publish({ type: 'presence', tenantId: TENANT, vehicleId: VEHICLE, deviceId: 'pi-red', online: true, at });
    await expect.poll(() => alerts.count()).toBe(2);
    const live = alerts.first();
    expect(await live.getAttribute('data-severity')).toBe('critical');
    expect(await live.locator('[data-role="title"]').textContent()).toBe('Engine overheating');
    expect(await live.locator('[data-role="explanation"]').textContent()).toContain(
      'check the coolant level and the fan',
    );
    await expect.poll(() => presence.getAttribute('data-online')).toBe('true');
    expect(await presence.textContent()).toContain('Online');
    // The same alert again (a reconnect refetch races the event) is shown once.
    demo.bus.publish({ type: 'alert', tenantId: TENANT, vehicleId: VEHICLE, alert: { ...alert, id: '9002' } });
    await page.screenshot({ path: '/tmp/dashboard.png', fullPage: true });
    expect(await alerts.count()).toBe(2);
    expect(await page.getByText('Not this car').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("groups a profile vehicle's own signals under its OBDb profile, and adds one that starts arriving", async () => {
    // The other car (a 2019 Camry) has stored two Toyota-Camry vehicle-specific signals.
    const { page, errors } = await openPage(`${demo.url}/dashboard.html?vehicle=${OTHER}`);
    const group = page.locator('[data-testid="vehicle-signal-group"][data-profile="Toyota-Camry"]');
    await expect.poll(() => group.locator('h2').textContent()).toBe('Vehicle-specific — Toyota-Camry');
    await expect.poll(() => text(page, 'value-vehicle.camry_12v_v').textContent()).toBe('12.4');
    const voltsRow = group.locator('tr[data-signal="vehicle.camry_12v_v"]');
    // Name and unit are OBDb's data, shown as the API gives them.
    expect(await voltsRow.locator('th').textContent()).toBe('Battery voltage');
    expect(await voltsRow.locator('.unit').textContent()).toBe('V');
    // A two-state signal reads as words from the catalogue, not as 1.
    await expect.poll(() => text(page, 'value-vehicle.camry_at_lock_up_state').textContent()).toBe('on');
    expect(await page.getByTestId('vehicle-signals').isVisible()).toBe(true);

    // Live: a new value of a listed signal, then a signal the car never sent before (stored by ingest,
    // then announced): the page asks for the car's signal list again and adds the row.
    const time = new Date().toISOString();
    demo.bus.publish({
      type: 'readings',
      tenantId: TENANT,
      vehicleId: OTHER,
      readings: [{ signal: 'vehicle.camry_12v_v', time, value: 14.05 }],
    });
    await expect.poll(() => text(page, 'value-vehicle.camry_12v_v').textContent()).toBe('14.05');
    expect(await text(page, 'value-vehicle.camry_eot').count()).toBe(0);
    const eot = signalByKey('vehicle.camry_eot')!;
    await demo.db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES ($1, $2, $3, $4, 97)`,
      [time, TENANT, OTHER, eot.id],
    );
    demo.bus.publish({
      type: 'readings',
      tenantId: TENANT,
      vehicleId: OTHER,
      readings: [{ signal: 'vehicle.camry_eot', time, value: 97 }],
    });
    await expect.poll(() => text(page, 'value-vehicle.camry_eot').textContent()).toBe('97');
    expect(await group.locator('tr[data-signal="vehicle.camry_eot"] th').textContent()).toBe('Engine oil temperature');
    expect(await group.locator('tr[data-signal="vehicle.camry_eot"] .unit').textContent()).toBe('°C');
    expect(await page.locator('[data-testid="vehicle-signal-group"]').count()).toBe(1);

    // The demo roadster has no profile signals: no group.
    const roadster = await openPage(`${demo.url}/dashboard.html?vehicle=${VEHICLE}`);
    await expect.poll(() => text(roadster.page, 'value-engine.rpm').textContent()).toBe('2150');
    expect(await roadster.page.getByTestId('vehicle-signals').isHidden()).toBe(true);
    expect(errors).toEqual([]);
    expect(roadster.errors).toEqual([]);
    await roadster.page.close();
    await page.close();
  });

  it('shows offline when the server goes away', async () => {
    const { page } = await openPage(`${demo.url}/dashboard.html?vehicle=${VEHICLE}`);
    await expect.poll(() => text(page, 'connection').textContent()).toBe('live');
    demo.api.io.disconnectSockets(true);
    await expect.poll(() => text(page, 'connection').getAttribute('data-state')).not.toBe('live');
    await page.close();
  });

  it('reports an unknown vehicle instead of hanging', async () => {
    const { page } = await openPage(`${demo.url}/dashboard.html?vehicle=99999999-9999-4999-8999-999999999999`);
    await expect.poll(() => text(page, 'error').textContent()).toContain('does not exist');
    await page.close();
  });

  it('lists vehicles with links to their dashboards', async () => {
    const { page, errors } = await openPage(`${demo.url}/`);
    const links = page.locator('[data-testid="vehicles"] a');
    await expect.poll(() => links.count()).toBe(2);
    expect(await links.first().getAttribute('href')).toBe(`/dashboard.html?vehicle=${OTHER}`);
    expect(await page.locator(`a[data-vehicle-id="${VEHICLE}"]`).textContent()).toContain('2018 Mazda MX-5');
    expect(errors).toEqual([]);
    await page.close();
  });
});

/** Waits until the dashboard shows everything the demo vehicle has: values, alert, trouble code, live. */
async function dashboardLoaded(page: Page): Promise<void> {
  await expect.poll(() => page.getByTestId('alert').count()).toBe(1);
  await expect.poll(() => page.getByTestId('dtc').count()).toBe(1);
  await expect.poll(() => page.locator('.tile[data-value]').count()).toBe(4);
  await expect.poll(() => page.getByTestId('connection').getAttribute('data-state')).toBe('live');
}

describe('pages in other languages', () => {
  it('shows only catalogue texts on every page in the en-XA pseudo-locale', async () => {
    const list = await openPage(`${demo.url}/?lang=en-XA`);
    await expect.poll(() => list.page.locator('[data-testid="vehicles"] a').count()).toBe(2);
    expect(await list.page.getAttribute('html', 'lang')).toBe('en-XA');
    expect(await list.page.evaluate(UNLOCALISED_TEXTS)).toEqual([]);
    // Data stays as it is; our words around it are pseudo-localised.
    expect(await list.page.locator(`a[data-vehicle-id="${VEHICLE}"]`).textContent()).toContain('2018 Mazda MX-5');
    expect(await list.page.getByTestId('status').textContent()).toBe('[2 ṽééĥîîçļééš]');
    // The forced language follows the links, so a tester stays in it.
    expect(await list.page.locator(`a[data-vehicle-id="${VEHICLE}"]`).getAttribute('href')).toBe(
      `/dashboard.html?vehicle=${VEHICLE}&lang=en-XA`,
    );
    expect(list.errors).toEqual([]);
    await list.page.close();

    const dash = await openPage(`${demo.url}/dashboard.html?vehicle=${VEHICLE}&lang=en-XA`);
    await dashboardLoaded(dash.page);
    expect(await dash.page.evaluate(UNLOCALISED_TEXTS)).toEqual([]);
    expect(await dash.page.getByTestId('connection').textContent()).toBe('[ļîîṽéé]');
    expect(await dash.page.getByTestId('alert').locator('time').textContent()).toBe('[1 ĥööûûŕ ååĝöö]');
    expect(dash.errors).toEqual([]);
    await dash.page.close();
  });

  it('words the vehicle-specific group in the page language and leaves the OBDb data as it is', async () => {
    const { page, errors } = await openPage(`${demo.url}/dashboard.html?vehicle=${OTHER}&lang=en-XA`);
    const group = page.locator('[data-testid="vehicle-signal-group"]');
    await expect.poll(() => text(page, 'value-vehicle.camry_12v_v').count()).toBe(1);
    await expect.poll(() => text(page, 'value-vehicle.camry_at_lock_up_state').textContent()).toBe('[ööñ]');
    expect(await group.locator('h2').textContent()).toMatch(/^\[.*Toyota-Camry.*\]$/);
    expect(await page.evaluate(UNLOCALISED_TEXTS)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('finds English left in a page (the check above can fail)', async () => {
    const { page } = await openPage(`${demo.url}/dashboard.html?vehicle=${VEHICLE}`);
    await dashboardLoaded(page);
    const english = (await page.evaluate(UNLOCALISED_TEXTS)) as string[];
    expect(english).toContain('h2: Trouble codes');
    expect(english).toContain('aria-label: Live values');
    await page.close();
  });

  it('lays the dashboard out right-to-left for a right-to-left locale', async () => {
    const { page, errors } = await openPage(`${demo.url}/dashboard.html?vehicle=${VEHICLE}&lang=ar-XB`);
    await dashboardLoaded(page);
    expect(await page.getAttribute('html', 'dir')).toBe('rtl');
    expect(await page.getAttribute('html', 'lang')).toBe('ar-XB');
    // The alert's severity stripe sits on the right, where an Arabic reader starts the line.
    const stripe = await page.evaluate(`(() => {
      const style = getComputedStyle(document.querySelector('[data-testid="alert"]'));
      return [style.borderRightWidth, style.borderLeftWidth];
    })()`);
    expect(stripe).toEqual(['4px', '1px']);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('page stability', () => {
  for (const screen of [
    { name: 'phone', viewport: { width: 412, height: 823 }, deviceScaleFactor: 1.75, isMobile: true },
    { name: 'desktop', viewport: { width: 1350, height: 940 }, deviceScaleFactor: 1, isMobile: false },
  ]) {
    it(`keeps the dashboard still while its data arrives and updates live (${screen.name})`, async () => {
      const { name: _name, ...options } = screen;
      const page = await browser.newPage(options);
      await page.addInitScript(`
        window.__shifts = [];
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) {
            if (e.hadRecentInput) continue;
            const nodes = e.sources.map((s) => s.node ? s.node.nodeName + '.' + (s.node.className || '') + ' "' + (s.node.textContent || '').trim().slice(0, 30) + '"' : '?');
            window.__shifts.push({ value: e.value, moved: nodes.join(', ') });
          }
        }).observe({ type: 'layout-shift', buffered: true });
      `);
      const stopDriving = driveDemoVehicle(demo.bus);
      try {
        await page.goto(`${demo.url}/dashboard.html?vehicle=${VEHICLE}`);
        await dashboardLoaded(page);
        // Several live updates: values change width, relative times tick every second.
        await page.waitForTimeout(4000);
      } finally {
        stopDriving();
      }
      // Nothing a user is reading may move. Sub-pixel reflows of replaced text score ~0.00001 each;
      // a centred value or badge moving as its text changes scored ~0.0005 a second before the fix.
      const shifts = (await page.evaluate('window.__shifts')) as { value: number; moved: string }[];
      const total = shifts.reduce((sum, s) => sum + s.value, 0);
      expect(total, `layout shifts: ${JSON.stringify(shifts.filter((s) => s.value > 0.00005))}`).toBeLessThan(0.001);
      await page.close();
    });
  }
});
