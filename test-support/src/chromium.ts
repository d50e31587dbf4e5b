import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, headless, with the flags this sandbox needs: no sandbox as root, and no
 * background networking (the machine has no network beyond the package registries).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}
