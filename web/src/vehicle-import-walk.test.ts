import { fileURLToPath } from 'node:url';
import { defineTelemetryImportWorker, startApiServer, type ApiServer } from '@clutch/api';
import { createInProcessBus, signalCatalogue } from '@clutch/contracts';
import { migrate, openPglite, syncSignals, type Database } from '@clutch/db';
import { importVehicleLog } from '@clutch/ingest';
import { createJobQueue, type JobQueue } from '@clutch/jobs';
import { launchChromium } from '@clutch/test-support';
import type { Browser } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPages } from './build.js';
import { webRoot } from './index.js';

// Issue 19 §4 on the vehicle page: an owner picks a Car Scanner export (a hand-written sample,
// ml/src/import/fixtures), the page uploads it, the job imports it (ingest's import, as the
// platform's worker runs it) and the page shows what was imported.
const CAR = '4b3a2c1d-0e9f-4876-a543-210fedcba987';
const LOG = fileURLToPath(new URL('../../ml/src/import/fixtures/2024-05-12 21-36-00.csv', import.meta.url));

let db: Database;
let queue: JobQueue;
let api: ApiServer;
let browser: Browser;

beforeAll(async () => {
  await buildPages();
  db = await openPglite();
  await migrate(db);
  await syncSignals(db, signalCatalogue);
  await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')`);
  await db.query(`INSERT INTO vehicles (id, tenant_id, name) VALUES ($1, 'acme', 'Blue wagon')`, [CAR]);
  queue = createJobQueue({ db, url: undefined, pollingIntervalSeconds: 0.5 });
  await queue.start();
  await defineTelemetryImportWorker(queue, {
    db,
    importHistory: (input) => importVehicleLog(db, { ...input, model: null, modelVersion: 'health-checks' }),
  });
  // Open mode, as the demo: the visitor is an administrator.
  api = await startApiServer({
    db,
    bus: createInProcessBus(),
    health: async () => ({}),
    logger: pino({ level: 'silent' }),
    webRoot,
    port: 0,
    jobs: queue,
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await queue?.stop({ graceful: false, timeoutMs: 1000 });
  await db?.close();
});

describe('importing a log on the vehicle page', () => {
  it('uploads a Car Scanner export, follows the import and shows what it stored', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('response', (res) => {
      if (res.status() >= 400) errors.push(`${res.status()} ${res.url()}`);
    });
    await page.goto(`${api.url}/dashboard.html?vehicle=${CAR}`);
    await expect.poll(() => page.getByTestId('vehicle-name').textContent()).toBe('Blue wagon');

    await page.getByTestId('import-submit').click();
    await expect.poll(() => page.getByTestId('import-status').textContent()).toBe('Choose a log file first.');

    await page.getByTestId('import-file').setInputFiles(LOG);
    await page.getByTestId('import-submit').click();
    const status = page.getByTestId('import-status');
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 20_000 }).toBe('succeeded');
    expect(await status.textContent()).toBe('Imported.');
    const summary = await page.getByTestId('import-summary').locator('li').allTextContents();
    expect(summary[0]).toBe('Format: car-scanner');
    expect(summary[1]).toBe('63 rows read, 1 skipped');
    expect(summary[2]).toMatch(/^From May 12, 2024/);
    expect(summary[3]).toMatch(/^\d+ readings of 6 signals: \d+ stored, 0 already there$/);
    expect(summary[4]).toBe('2 columns not imported (not OBD readings or not known)');
    expect(summary.at(-1)).toMatch(/^Still calibrating: 0\.0 of \d+ h of driving learned$/);

    const stored = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM samples WHERE vehicle_id = $1`, [CAR]);
    expect(stored.rows[0]!.n).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says why a file that is no log cannot be imported', async () => {
    const page = await browser.newPage();
    await page.goto(`${api.url}/dashboard.html?vehicle=${CAR}`);
    await page.getByTestId('import-file').setInputFiles({
      name: 'bank.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('Date,Amount,Payee\n2024-01-01,12.50,Bakery\n'),
    });
    await page.getByTestId('import-submit').click();
    const status = page.getByTestId('import-status');
    await expect.poll(() => status.getAttribute('data-state')).toBe('failed');
    expect(await status.textContent()).toMatch(/^The log could not be imported: The file's header is none of /);
    await page.close();
  });
});
