import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  catalogueLocales,
  checkCatalogue,
  createTranslator,
  sourceCatalogue,
  usedMessageKeys,
  type Catalogue,
} from '@clutch/i18n';
import { describe, expect, it } from 'vitest';

const webDir = fileURLToPath(new URL('..', import.meta.url));
const messagesDir = path.join(webDir, '..', 'i18n', 'messages');
const files = (dir: string, ext: string): string[] =>
  readdirSync(path.join(webDir, dir))
    .filter((f) => f.endsWith(ext))
    .map((f) => path.join(webDir, dir, f));
const pages = files('public', '.html');
const scripts = files('browser', '.ts');

describe('message catalogues', () => {
  it('has every key the pages and their scripts use', () => {
    const missing = [...pages, ...scripts].flatMap((file) =>
      usedMessageKeys(readFileSync(file, 'utf8'))
        .filter((key) => !(key in sourceCatalogue))
        .map((key) => `${path.relative(webDir, file)}: ${key}`),
    );
    expect(missing).toEqual([]);
    // The scan itself must find something, or this test would pass on an empty match.
    expect(usedMessageKeys(readFileSync(path.join(webDir, 'public', 'dashboard.html'), 'utf8')).length).toBeGreaterThan(
      20,
    );
  });

  it('parses every message of every locale, with the arguments the code passes', () => {
    const problems = catalogueLocales.flatMap((locale) => {
      const catalogue = JSON.parse(readFileSync(path.join(messagesDir, `${locale}.json`), 'utf8')) as Catalogue;
      return checkCatalogue(catalogue, sourceCatalogue, locale);
    });
    expect(problems).toEqual([]);
  });

  it('keeps the English fallback text in the markup equal to the catalogue', () => {
    // What a user sees before the script runs (and what a no-JS crawler reads) must not drift from en.json.
    const en = createTranslator('en');
    const drift: string[] = [];
    for (const file of pages) {
      const html = readFileSync(file, 'utf8');
      for (const m of html.matchAll(/<(\w+)\b[^>]*\bdata-i18n="([\w.-]+)"[^>]*>([^<]*)<\/\1>/g)) {
        if (m[3] !== en.text(m[2]!))
          drift.push(`${path.basename(file)} ${m[2]}: "${m[3]}" but en.json says "${en.text(m[2]!)}"`);
      }
      for (const m of html.matchAll(/\baria-label="([^"]*)"\s+data-i18n-aria-label="([\w.-]+)"/g)) {
        if (m[1] !== en.text(m[2]!))
          drift.push(`${path.basename(file)} ${m[2]}: aria-label "${m[1]}" but en.json says "${en.text(m[2]!)}"`);
      }
    }
    expect(drift).toEqual([]);
  });
});
