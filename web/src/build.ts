/**
 * Builds the pages' scripts: one esbuild bundle per page in public/js, so a page costs a single script
 * request (no module waterfall) and can use npm packages (intl-messageformat) without a server-side step.
 * Catalogues other than the source one are copied to public/js/i18n (build output, like the bundles) and
 * fetched only by pages in that language.
 * Run as `npm run build -w web` (root `npm run build` does it after tsc).
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { catalogueLocales, sourceLocale } from '@clutch/i18n';
import { build } from 'esbuild';
import { webRoot } from './index.js';

const webDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = path.resolve(webDir, '..');
export const PAGE_ENTRIES = [
  'vehicles',
  'dashboard',
  'roles',
  'mfa',
  'signin',
  'signup',
  'sessions',
  'audit',
  // The marketplace (docs/marketplace.md).
  'shops',
  'shop',
  'repair-order',
  'jobs',
  'calendar',
  'estimate-editor',
  'parts-orders',
  // Money (docs/payments.md).
  'wallet',
  'payouts',
  'admin-payments',
  // Communication (docs/notifications.md): the notification settings.
  'notifications',
] as const;

export async function buildPages(): Promise<void> {
  const out = path.join(webRoot, 'js');
  // Old per-module files from before the bundle would be served stale: start from an empty folder.
  rmSync(out, { recursive: true, force: true });
  await build({
    entryPoints: PAGE_ENTRIES.map((name) => path.join(webDir, 'browser', `${name}.ts`)),
    bundle: true,
    format: 'esm',
    minify: true,
    sourcemap: 'linked',
    // Evergreen browsers of the last ~2 years: keeps class fields and top-level await native.
    target: ['chrome115', 'firefox115', 'safari16.4'],
    outdir: out,
    logLevel: 'warning',
    // The workspace package by its TypeScript source: no `tsc -b i18n` needed before a page build.
    alias: { '@clutch/i18n': path.join(repoRoot, 'i18n', 'src', 'index.ts') },
  });
  // Leaflet's stylesheet for the shop map, next to the bundle that needs it (images are not used: the
  // map draws circle markers).
  mkdirSync(path.join(out, 'leaflet'), { recursive: true });
  copyFileSync(
    path.join(repoRoot, 'node_modules', 'leaflet', 'dist', 'leaflet.css'),
    path.join(out, 'leaflet', 'leaflet.css'),
  );
  const catalogues = path.join(out, 'i18n');
  mkdirSync(catalogues, { recursive: true });
  for (const locale of catalogueLocales.filter((l) => l !== sourceLocale)) {
    copyFileSync(path.join(repoRoot, 'i18n', 'messages', `${locale}.json`), path.join(catalogues, `${locale}.json`));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await buildPages();
