import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '@clutch/test-support';
import { afterAll, describe, expect, it } from 'vitest';

// What a newcomer does: `npm start`, open the printed dashboard, watch values change, press Ctrl-C.
// Runs the built entry point (npm test builds first) exactly as `npm start` does, on free ports.
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'clutch-start-'));
let child: ChildProcess | undefined;

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('prints the dashboard URL, shows changing values in a browser, and stops cleanly on Ctrl-C', async () => {
    const proc = spawn(
      process.execPath,
      [
        MAIN,
        '--vehicles',
        '2',
        '--port',
        '0',
        '--mqtt-port',
        '0',
        '--mqtt-ws-port',
        '0',
        '--data-dir',
        dataDir,
        '--row-ms',
        '250',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = proc;
    let stdout = '';
    proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
    await expect
      .poll(() => /Dashboard: (http:\/\/localhost:\d+\/\S+)/.exec(stdout)?.[1], { timeout: 60_000, interval: 100 })
      .toBeTruthy();
    const dashboard = /Dashboard: (http:\/\/localhost:\d+\/\S+)/.exec(stdout)![1]!;
    expect(stdout.match(/^Dashboard: /gm)).toHaveLength(1);

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(dashboard);
      const rpm = page.getByTestId('value-engine.rpm');
      await expect.poll(async () => (await rpm.textContent())?.trim() ?? '', { timeout: 30_000 }).toMatch(/\d/);
      const first = (await rpm.textContent())?.trim();
      const speed = page.getByTestId('value-vehicle.speed');
      const firstSpeed = (await speed.textContent())?.trim();
      // A recorded drive changes within seconds; either gauge moving proves the live path.
      await expect
        .poll(
          async () => (await rpm.textContent())?.trim() !== first || (await speed.textContent())?.trim() !== firstSpeed,
          { timeout: 30_000, interval: 250 },
        )
        .toBe(true);
      await expect
        .poll(async () => (await page.getByTestId('connection').textContent())?.toLowerCase(), { timeout: 10_000 })
        .toContain('live');
    } finally {
      await browser.close();
    }

    proc.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toContain('stopped cleanly');
  }, 120_000);
});
