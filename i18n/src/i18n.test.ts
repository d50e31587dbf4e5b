import { describe, expect, it } from 'vitest';
import {
  catalogueLocales,
  checkCatalogue,
  createTranslator,
  negotiateLocale,
  parseAcceptLanguage,
  pseudoLocales,
  sourceCatalogue,
  textDirection,
  usedMessageKeys,
} from './index.js';

describe('locale negotiation', () => {
  it('orders Accept-Language by weight, then position', () => {
    expect(parseAcceptLanguage('fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5')).toEqual(['fr-CH', 'fr', 'en', 'de']);
    expect(parseAcceptLanguage('de;q=0.5, ar, en;q=0')).toEqual(['ar', 'de']);
    expect(parseAcceptLanguage(undefined)).toEqual([]);
  });

  it('picks an exact catalogue, else the base language, else the fallback', () => {
    const available = ['en', 'ar', 'en-XA'];
    expect(negotiateLocale(['ar-EG', 'en'], available, 'en')).toBe('ar');
    expect(negotiateLocale(['de', 'EN-gb'], available, 'en')).toBe('en');
    expect(negotiateLocale(['en-xa'], available, 'en')).toBe('en-XA');
    expect(negotiateLocale(['de', 'not a tag!'], available, 'en')).toBe('en');
  });

  it('finds right-to-left locales from locale data', () => {
    expect(['ar', 'ar-EG', 'fa', 'he', 'ur', 'ar-XB'].map(textDirection)).toEqual([
      'rtl',
      'rtl',
      'rtl',
      'rtl',
      'rtl',
      'rtl',
    ]);
    expect(['en', 'de-CH', 'en-XA', 'zh-Hant', 'garbage!'].map(textDirection)).toEqual([
      'ltr',
      'ltr',
      'ltr',
      'ltr',
      'ltr',
    ]);
  });
});

describe('translator', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');

  it('pluralises and formats numbers per locale', () => {
    const en = createTranslator('en');
    expect(en.t('vehicles.count', { count: 1 })).toBe('1 vehicle');
    expect(en.t('vehicles.count', { count: 1234 })).toBe('1,234 vehicles');
    expect(en.ago(now - 3_600_000, now)).toBe('1 hour ago');
    expect(en.ago(now - 600_000, now)).toBe('10 minutes ago');
    expect(en.ago(now + 2000, now)).toBe('just now');
    // German groups with dots and uses a decimal comma even with the English catalogue's words.
    expect(createTranslator('de').number(1234.5)).toBe('1.234,5');
  });

  it('uses a translation, and falls back to the source for missing or broken messages', () => {
    // Arabic has six plural categories; "two" must be reachable.
    // ar-EG: CLDR's plain `ar` now defaults to Latin digits, Egypt uses Arabic-Indic ones.
    const ar = createTranslator('ar-EG', {
      'vehicles.count':
        '{count, plural, zero {لا مركبات} one {مركبة واحدة} two {مركبتان} few {# مركبات} many {# مركبة} other {# مركبة}}',
      'vehicles.heading': 'broken {',
    });
    expect(ar.dir).toBe('rtl');
    expect(ar.t('vehicles.count', { count: 2 })).toBe('مركبتان');
    expect(ar.t('vehicles.count', { count: 3 })).toBe('٣ مركبات');
    expect(ar.t('vehicles.heading')).toBe('Vehicles');
    expect(ar.t('dashboard.back')).toBe('All vehicles');
    expect(ar.text('no.such.key')).toBe('no.such.key');
  });

  it('pseudo-localises literal text only, keeping arguments, plurals and numbers', () => {
    const xa = createTranslator('en-XA');
    expect(xa.t('vehicles.heading')).toBe('[Ṽééĥîîçļééš]');
    expect(xa.t('vehicles.count', { count: 3 })).toBe('[3 ṽééĥîîçļééš]');
    expect(xa.t('dashboard.vehicleDocumentTitle', { vehicle: 'Red roadster' })).toBe('[Red roadster — Çļûûţçĥ]');
    const xb = createTranslator('ar-XB');
    expect(xb.dir).toBe('rtl');
    expect(xb.t('vehicles.heading')).toBe('[\u202eVehicles\u202c]');
  });
});

describe('catalogue check', () => {
  it('passes every shipped catalogue', () => {
    expect(catalogueLocales).toContain('en');
    expect(checkCatalogue(sourceCatalogue, sourceCatalogue, 'en')).toEqual([]);
    expect(pseudoLocales).toEqual(['en-XA', 'ar-XB']);
  });

  it('reports unparsable messages, unknown keys and arguments the code never passes', () => {
    const problems = checkCatalogue(
      {
        'vehicles.heading': 'Fahrzeuge {',
        'vehicles.count': '{n, plural, one {# Fahrzeug} other {# Fahrzeuge}}',
        'made.up': 'x',
      },
      sourceCatalogue,
      'de',
    );
    expect(problems).toEqual([
      expect.stringMatching(/^de: vehicles\.heading does not parse/),
      'de: vehicles.count uses {n}, which the code never passes',
      'de: made.up is not in the source catalogue',
    ]);
  });

  it('finds the keys markup and code use', () => {
    const html = '<h1 data-i18n="vehicles.heading">Vehicles</h1><section data-i18n-aria-label="dashboard.tiles.label">';
    const code = 'el.textContent = i18n.t(\'vehicles.count\', { count }); tr.t("dashboard.back")';
    expect(usedMessageKeys(html + code).sort()).toEqual([
      'dashboard.back',
      'dashboard.tiles.label',
      'vehicles.count',
      'vehicles.heading',
    ]);
  });
});
