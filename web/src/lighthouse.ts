/**
 * `npm run lighthouse`: scores every page with Lighthouse 12 in Debian's Chromium, mobile and desktop,
 * against the demo API with a vehicle sending live readings, and exits non-zero when any performance or
 * accessibility score is under the bar. Options: --runs N (median of N, default 1), --min S (default 90),
 * --preset mobile|desktop (default both), --out DIR (write each report as JSON), --no-build.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse, { desktopConfig, type Flags, type Result } from 'lighthouse';
import { buildPages } from './build.js';
import { DEMO_VEHICLE, driveDemoVehicle, startDemoServer } from './demo.js';
import { webRoot } from './index.js';

const CATEGORIES = ['performance', 'accessibility'] as const;
const PAGES = [
  { name: 'vehicle list', path: '/' },
  { name: 'dashboard', path: `/dashboard.html?vehicle=${DEMO_VEHICLE}` },
  { name: 'sign in', path: '/signin.html' },
  { name: 'sign up', path: '/signup.html' },
  // The open demo's anonymous visitor: the page as it loads, without a session to list.
  { name: 'sessions', path: '/sessions.html' },
  // The open demo's anonymous administrator: the audit trail's first page.
  { name: 'audit', path: '/audit.html' },
  // The marketplace, payments and administration pages as the same visitor first sees them.
  { name: 'shops', path: '/shops.html' },
  { name: 'shop', path: '/shop.html' },
  { name: 'calendar', path: '/calendar.html' },
  { name: 'jobs', path: '/jobs.html' },
  { name: 'repair order', path: '/repair-order.html' },
  { name: 'estimate editor', path: '/estimate-editor.html' },
  { name: 'parts orders', path: '/parts-orders.html' },
  { name: 'wallet', path: '/wallet.html' },
  { name: 'payouts', path: '/payouts.html' },
  { name: 'admin payments', path: '/admin-payments.html' },
  { name: 'notifications', path: '/notifications.html' },
  { name: 'mfa', path: '/mfa.html' },
  { name: 'roles', path: '/roles.html' },
];
const CHROME_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

interface Score {
  page: string;
  preset: string;
  scores: Record<(typeof CATEGORIES)[number], number>;
  /** Audits that cost points, worst first: what to fix next. */
  losses: string[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function losses(lhr: Result): string[] {
  const weights = new Map<string, number>();
  for (const id of CATEGORIES)
    for (const ref of lhr.categories[id]?.auditRefs ?? [])
      weights.set(ref.id, Math.max(weights.get(ref.id) ?? 0, ref.weight));
  return Object.values(lhr.audits)
    .filter((a) => a.score !== null && a.score < 0.9 && (weights.get(a.id) ?? 0) > 0)
    .sort((a, b) => (weights.get(b.id) ?? 0) * (1 - (b.score ?? 0)) - (weights.get(a.id) ?? 0) * (1 - (a.score ?? 0)))
    .map((a) => `${a.id} ${Math.round((a.score ?? 0) * 100)}${a.displayValue ? ` (${a.displayValue})` : ''}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '1' },
      min: { type: 'string', default: '90' },
      preset: { type: 'string' },
      out: { type: 'string' },
      'no-build': { type: 'boolean', default: false },
    },
  });
  const runs = Math.max(1, Number(values.runs));
  const min = Number(values.min);
  const presets = values.preset ? [values.preset] : ['mobile', 'desktop'];
  if (!values['no-build']) await buildPages();

  const demo = await startDemoServer(webRoot);
  const stopDriving = driveDemoVehicle(demo.bus);
  const chrome = await chromeLauncher.launch({ chromePath: '/usr/bin/chromium', chromeFlags: CHROME_FLAGS });
  const results: Score[] = [];
  try {
    for (const preset of presets) {
      for (const page of PAGES) {
        const perRun: Result[] = [];
        for (let run = 0; run < runs; run++) {
          const flags: Flags = {
            port: chrome.port,
            output: 'json',
            logLevel: 'error',
            onlyCategories: [...CATEGORIES],
          };
          const config =
            preset === 'desktop'
              ? { ...desktopConfig, settings: { ...desktopConfig.settings, onlyCategories: [...CATEGORIES] } }
              : undefined;
          const answer = await lighthouse(`${demo.url}${page.path}`, flags, config);
          if (!answer) throw new Error(`Lighthouse returned nothing for ${page.name}`);
          perRun.push(answer.lhr);
          if (values.out) {
            mkdirSync(values.out, { recursive: true });
            writeFileSync(
              path.join(values.out, `${page.name.replace(/\W+/g, '-')}-${preset}-${run + 1}.json`),
              JSON.stringify(answer.lhr, null, 1),
            );
          }
        }
        const scores = Object.fromEntries(
          CATEGORIES.map((c) => [c, median(perRun.map((r) => Math.round((r.categories[c]?.score ?? 0) * 100)))]),
        ) as Score['scores'];
        // Losses from the run with the median performance score: the typical run, not the unlucky one.
        const typical =
          perRun.find((r) => Math.round((r.categories.performance?.score ?? 0) * 100) === scores.performance) ??
          perRun[0]!;
        const row: Score = { page: page.name, preset, scores, losses: losses(typical) };
        results.push(row);
        console.log(
          `${row.page.padEnd(13)} ${preset.padEnd(8)} performance ${String(scores.performance).padStart(3)}  accessibility ${String(scores.accessibility).padStart(3)}`,
        );
        if (row.losses.length > 0) console.log(`  losing points on: ${row.losses.join(', ')}`);
      }
    }
  } finally {
    stopDriving();
    await chrome.kill();
    await demo.close();
  }
  const failing = results.filter((r) => CATEGORIES.some((c) => r.scores[c] < min));
  if (failing.length > 0) {
    console.error(
      `${failing.length} of ${results.length} page scores under ${min}: ${failing.map((f) => `${f.page} (${f.preset})`).join(', ')}`,
    );
    process.exitCode = 1;
  } else console.log(`all ${results.length} page checks at ${min} or above`);
}

await main();
