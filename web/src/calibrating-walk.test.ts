import { createVehicleNormal } from '@clutch/ml';
import { launchChromium } from '@clutch/test-support';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPages } from './build.js';
import { DEMO_VEHICLE as FRESH, OTHER_VEHICLE as KNOWN, startDemoServer, type DemoServer } from './demo.js';
import { webRoot } from './index.js';

// Issue 19, Done-when: the dashboard shows "calibrating" for a new car. A car's normal is what ingest's
// scoring stores in `vehicle_normals` (ingest/src/normals/repository.ts); here it is stored directly,
// as the scoring consumer would after hours of the car's driving.

let demo: DemoServer;
let browser: Browser;

beforeAll(async () => {
  await buildPages();
  demo = await startDemoServer(webRoot);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

async function openDashboard(vehicle: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('response', (res) => {
    if (res.status() >= 400) errors.push(`${res.status()} ${res.url()}`);
  });
  await page.goto(`${demo.url}/dashboard.html?vehicle=${vehicle}`);
  return { page, errors };
}

/** What the API says the calibration period is (ml's CALIBRATION_HOURS and _TRIPS), so the test follows it. */
async function period(): Promise<{ hoursNeeded: number; tripsNeeded: number }> {
  const res = await fetch(`${demo.url}/api/vehicles/${FRESH}/health`);
  const body = (await res.json()) as { calibration: { hoursNeeded: number; tripsNeeded: number } };
  return body.calibration;
}

async function storeNormal(vehicle: string, hours: number, trips: number): Promise<void> {
  const state = { ...createVehicleNormal(), runningMs: hours * 3_600_000, trips };
  await demo.db.query(
    `INSERT INTO vehicle_normals (vehicle_id, tenant_id, state, status, running_hours, trips)
     SELECT id, tenant_id, $2, 'calibrating', $3, $4 FROM vehicles WHERE id = $1
     ON CONFLICT (vehicle_id) DO UPDATE SET state = EXCLUDED.state, running_hours = EXCLUDED.running_hours, trips = EXCLUDED.trips`,
    [vehicle, JSON.stringify(state), hours, trips],
  );
}

describe('calibrating on the dashboard', () => {
  it('shows a new car as calibrating on its health panel, with how much of its normal is learned, and calibrated once it is', async () => {
    const { hoursNeeded, tripsNeeded } = await period();
    const note = (page: Page) => page.getByTestId('calibration');

    // Never scored: nothing stored, calibrating from 0 h.
    const fresh = await openDashboard(FRESH);
    await expect.poll(() => note(fresh.page).getAttribute('data-status')).toBe('calibrating');
    expect(await note(fresh.page).isVisible()).toBe(true);
    expect(await note(fresh.page).textContent()).toBe(
      `Calibrating — learning this car's normal (0.0 of ${hoursNeeded} h, 0 of ${tripsNeeded} trips).`,
    );
    expect(await note(fresh.page).getAttribute('title')).toBe(
      'Until then only the checks that hold for every car raise alerts.',
    );
    // The stored alert is still listed: calibrating does not hide what the universal checks raised.
    await expect.poll(() => fresh.page.getByTestId('alert').count()).toBe(1);
    expect(fresh.errors).toEqual([]);
    await fresh.page.close();

    // Part-way: 1.25 h and two trips learned.
    await storeNormal(FRESH, 1.25, 2);
    const partway = await openDashboard(FRESH);
    await expect
      .poll(() => note(partway.page).textContent())
      .toContain(`(1.2 of ${hoursNeeded} h, 2 of ${tripsNeeded} trips)`);
    expect(partway.errors).toEqual([]);
    await partway.page.close();

    // Calibrated (the period's hours and trips behind it).
    await storeNormal(KNOWN, hoursNeeded + 0.5, tripsNeeded + 1);
    const known = await openDashboard(KNOWN);
    await expect.poll(() => note(known.page).getAttribute('data-status')).toBe('calibrated');
    expect(await note(known.page).textContent()).toBe('Calibrated: the checks compare this car with its own normal.');
    expect(known.errors).toEqual([]);
    await known.page.close();
  });
});
