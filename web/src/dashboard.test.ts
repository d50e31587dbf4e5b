import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiServer, type ApiServer } from '@clutch/api';
import { createInProcessBus, signalByKey, signalCatalogue } from '@clutch/contracts';
import { migrate, openPglite, syncSignals, type Database } from '@clutch/db';
import { pino } from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webRoot } from './index.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const browserSrc = path.join(repoRoot, 'web', 'browser');
const VEHICLE = '3f2e1d0c-9b8a-4765-8432-10fedcba9876';
const OTHER = '7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d';
const TENANT = 'acme';
/** Descriptions of trouble codes come from this data set when it is present. */
const hasDtcDescriptions = existsSync(path.join(repoRoot, '..', 'shared', 'datasets', 'dtc-codes-wal33d'));

let db: Database;
let api: ApiServer;
let browser: Browser;
const bus = createInProcessBus();

/** The pages load compiled scripts; compile them when missing or older than their sources. */
function ensureBrowserBuild(): void {
  const sources = readdirSync(browserSrc).filter((f) => f.endsWith('.ts'));
  const stale = sources.some((f) => {
    const out = path.join(webRoot, 'js', f.replace(/\.ts$/, '.js'));
    return !existsSync(out) || statSync(out).mtimeMs < statSync(path.join(browserSrc, f)).mtimeMs;
  });
  // --force: the build info can claim "up to date" after someone deleted the output folder.
  if (stale) execFileSync('npx', ['tsc', '-b', 'web/browser', '--force'], { cwd: repoRoot, stdio: 'inherit' });
}

async function seed(now: number): Promise<void> {
  const id = (key: string): number => signalByKey(key)!.id;
  await db.query(`INSERT INTO tenants (id, name) VALUES ($1, 'Acme')`, [TENANT]);
  await db.query(
    `INSERT INTO vehicles (id, tenant_id, name, make, model, model_year) VALUES
       ($1, $3, 'Red roadster', 'Mazda', 'MX-5', 2018), ($2, $3, 'Other car', NULL, NULL, NULL)`,
    [VEHICLE, OTHER, TENANT],
  );
  const rows: [number, string, number, number][] = [
    [now - 90_000, VEHICLE, id('engine.rpm'), 1800],
    [now - 60_000, VEHICLE, id('engine.rpm'), 1950],
    [now - 20_000, VEHICLE, id('engine.rpm'), 2150],
    [now - 20_000, VEHICLE, id('vehicle.speed'), 57],
    [now - 20_000, VEHICLE, id('engine.coolant_temp'), 91],
    // No battery.voltage: the tile must fall back to the ECU's reading.
    [now - 20_000, VEHICLE, id('ecu.control_module_voltage'), 13.9],
    [now - 5_000, OTHER, id('engine.rpm'), 4444],
  ];
  await db.query(
    `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
     SELECT t, $1, v, s, x FROM unnest($2::timestamptz[], $3::uuid[], $4::smallint[], $5::float8[]) AS u(t, v, s, x)`,
    [TENANT, rows.map((r) => new Date(r[0])), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])],
  );
  // The gateway dropped off ten minutes ago; one alert from ingest's scoring and a lean-mixture code.
  await db.query(`INSERT INTO devices (tenant_id, id, vehicle_id, last_seen_at, online, presence_changed_at) VALUES ($1, 'pi-red', $2, $3, false, $3)`, [
    TENANT, VEHICLE, new Date(now - 600_000),
  ]);
  await db.query(
    `INSERT INTO alerts (time, tenant_id, vehicle_id, kind, severity, title, explanation, signals, details, model_version) VALUES
       ($1, $2, $3, 'fuel_trim', 'warning', 'Engine running lean at idle',
        'Long-term fuel trim is +18 % at idle and falls under load: the engine is drawing air the sensor does not measure. Check intake hoses and gaskets for a vacuum leak.',
        '{fuel.trim.long_term_b1,fuel.trim.short_term_b1}', '{}', 'rules-only')`,
    [new Date(now - 3600_000), TENANT, VEHICLE],
  );
  await db.query(`INSERT INTO dtc_events (time, tenant_id, vehicle_id, code, kind, ecu) VALUES ($1, $2, $3, 'P0171', 'stored', '7E8')`, [new Date(now - 1800_000), TENANT, VEHICLE]);
}

beforeAll(async () => {
  ensureBrowserBuild();
  db = await openPglite();
  await migrate(db);
  await syncSignals(db, signalCatalogue);
  await seed(Date.now());
  api = await startApiServer({ db, bus, health: async () => ({}), logger: pino({ level: 'silent' }), webRoot, port: 0 });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
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
  page.on('response', (res) => {
    if (res.status() >= 400) errors.push(`${res.status()} ${res.url()}`);
  });
  await page.goto(url);
  return { page, errors };
}

const text = (page: Page, testId: string) => page.getByTestId(testId);

describe('owner dashboard', () => {
  it('shows stored values, goes live, and follows bus readings for its vehicle only', async () => {
    const { page, errors } = await openPage(`${api.url}/dashboard.html?vehicle=${VEHICLE}`);
    await expect.poll(() => text(page, 'value-engine.rpm').textContent()).toBe('2150');
    await expect.poll(() => text(page, 'value-vehicle.speed').textContent()).toBe('57');
    await expect.poll(() => text(page, 'value-engine.coolant_temp').textContent()).toBe('91');
    await expect.poll(() => text(page, 'value-battery.voltage').textContent()).toBe('13.9');
    await expect.poll(() => text(page, 'vehicle-name').textContent()).toBe('Red roadster');
    await expect.poll(() => text(page, 'connection').textContent()).toBe('live');
    expect(await page.locator('.tile[data-signal="engine.rpm"]').count()).toBe(1);

    const time = new Date().toISOString();
    bus.publish({ type: 'readings', tenantId: TENANT, vehicleId: OTHER, readings: [{ signal: 'engine.rpm', time, value: 6000 }] });
    bus.publish({
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
    bus.publish({ type: 'readings', tenantId: TENANT, vehicleId: VEHICLE, readings: [{ signal: 'engine.rpm', time: new Date(Date.now() - 600_000).toISOString(), value: 999 }] });
    bus.publish({ type: 'readings', tenantId: TENANT, vehicleId: VEHICLE, readings: [{ signal: 'engine.coolant_temp', time: new Date().toISOString(), value: 95 }] });
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
    const { page, errors } = await openPage(`${api.url}/dashboard.html?vehicle=${VEHICLE}`);
    await page.setViewportSize({ width: 1280, height: 1100 });
    const alerts = page.getByTestId('alert');
    await expect.poll(() => alerts.count()).toBe(1);
    const stored = alerts.first();
    expect(await stored.getAttribute('data-severity')).toBe('warning');
    expect(await stored.locator('[data-role="severity"]').textContent()).toBe('Warning');
    expect(await stored.locator('[data-role="title"]').textContent()).toBe('Engine running lean at idle');
    expect(await stored.locator('[data-role="explanation"]').textContent()).toContain('Check intake hoses and gaskets for a vacuum leak.');
    // Signals by their catalogue names, time as "1 hour ago".
    await expect.poll(() => stored.locator('[data-role="signals"] li').allTextContents()).toEqual(['Long term fuel trim (bank 1)', 'Short term fuel trim (bank 1)']);
    expect(await stored.locator('time').textContent()).toBe('1 hour ago');

    const presence = page.getByTestId('presence');
    await expect.poll(() => presence.getAttribute('data-online')).toBe('false');
    expect(await presence.textContent()).toContain('Offline');
    expect(await presence.textContent()).toContain('last seen 10 minutes ago');

    const dtc = page.getByTestId('dtc');
    await expect.poll(() => dtc.count()).toBe(1);
    expect(await dtc.first().locator('[data-role="code"]').textContent()).toBe('P0171');
    if (hasDtcDescriptions) expect(await dtc.first().locator('[data-role="description"]').textContent()).toBe('System Too Lean Bank 1');
    await expect.poll(() => text(page, 'connection').textContent()).toBe('live');

    // Live: an alert from ingest, the gateway coming back, for this vehicle only.
    const at = new Date().toISOString();
    const alert = { kind: 'cooling', severity: 'critical' as const, title: 'Engine overheating', explanation: 'Coolant reached 116 °C while driving; stop and let the engine cool, then check the coolant level and the fan.', signals: ['engine.coolant_temp'], at };
    bus.publish({ type: 'alert', tenantId: TENANT, vehicleId: OTHER, alert: { ...alert, id: '9001', title: 'Not this car' } });
    bus.publish({ type: 'alert', tenantId: TENANT, vehicleId: VEHICLE, alert: { ...alert, id: '9002' } });
    bus.publish({ type: 'presence', tenantId: TENANT, vehicleId: VEHICLE, deviceId: 'pi-red', online: true, at });
    await expect.poll(() => alerts.count()).toBe(2);
    const live = alerts.first();
    expect(await live.getAttribute('data-severity')).toBe('critical');
    expect(await live.locator('[data-role="title"]').textContent()).toBe('Engine overheating');
    expect(await live.locator('[data-role="explanation"]').textContent()).toContain('check the coolant level and the fan');
    await expect.poll(() => presence.getAttribute('data-online')).toBe('true');
    expect(await presence.textContent()).toContain('Online');
    // The same alert again (a reconnect refetch races the event) is shown once.
    bus.publish({ type: 'alert', tenantId: TENANT, vehicleId: VEHICLE, alert: { ...alert, id: '9002' } });
    await page.screenshot({ path: '/tmp/dashboard.png', fullPage: true });
    expect(await alerts.count()).toBe(2);
    expect(await page.getByText('Not this car').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows offline when the server goes away', async () => {
    const { page } = await openPage(`${api.url}/dashboard.html?vehicle=${VEHICLE}`);
    await expect.poll(() => text(page, 'connection').textContent()).toBe('live');
    api.io.disconnectSockets(true);
    await expect.poll(() => text(page, 'connection').getAttribute('data-state')).not.toBe('live');
    await page.close();
  });

  it('reports an unknown vehicle instead of hanging', async () => {
    const { page } = await openPage(`${api.url}/dashboard.html?vehicle=99999999-9999-4999-8999-999999999999`);
    await expect.poll(() => text(page, 'error').textContent()).toContain('does not exist');
    await page.close();
  });

  it('lists vehicles with links to their dashboards', async () => {
    const { page, errors } = await openPage(`${api.url}/`);
    const links = page.locator('[data-testid="vehicles"] a');
    await expect.poll(() => links.count()).toBe(2);
    expect(await links.first().getAttribute('href')).toBe(`/dashboard.html?vehicle=${OTHER}`);
    expect(await page.locator(`a[data-vehicle-id="${VEHICLE}"]`).textContent()).toContain('2018 Mazda MX-5');
    expect(errors).toEqual([]);
    await page.close();
  });
});
