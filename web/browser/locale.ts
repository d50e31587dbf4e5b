import {
  catalogueLocales,
  createTranslator,
  negotiateLocale,
  pseudoLocales,
  sourceLocale,
  type Catalogue,
  type Translator,
} from '@clutch/i18n';

/**
 * The page's language: `?lang=` first (a link or a tester can force one, pseudo-locales included),
 * then the browser's languages (what it sends as Accept-Language), then English. The source catalogue
 * is bundled; any other is fetched from /js/i18n/<locale>.json, so English pages cost no extra request.
 */
const AVAILABLE = [...catalogueLocales, ...pseudoLocales];

function forcedLocale(): string | null {
  return new URLSearchParams(location.search).get('lang');
}

async function fetchCatalogue(locale: string): Promise<Catalogue> {
  try {
    const res = await fetch(`/js/i18n/${encodeURIComponent(locale)}.json`);
    return res.ok ? ((await res.json()) as Catalogue) : {};
  } catch {
    return {}; // the source texts are better than no page
  }
}

/** Keeps a forced `?lang=` on links to our own pages, so a tester stays in the pseudo-locale. */
export function keepLang(href: string): string {
  const lang = forcedLocale();
  if (!lang || !href.startsWith('/')) return href;
  const url = new URL(href, location.origin);
  url.searchParams.set('lang', lang);
  return `${url.pathname}${url.search}`;
}

/**
 * Replaces the text of every element with a `data-i18n` key (its message) and each `data-i18n-aria-label` /
 * `data-i18n-title` attribute with the catalogue's message. The markup keeps the English text so the
 * page reads right before the script runs (and a test keeps the two equal).
 */
export function translatePage(root: ParentNode, i18n: Translator): void {
  for (const el of root.querySelectorAll<HTMLElement>('[data-i18n]')) el.textContent = i18n.text(el.dataset.i18n ?? '');
  for (const attr of ['aria-label', 'title']) {
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`))
      el.setAttribute(attr, i18n.text(el.getAttribute(`data-i18n-${attr}`) ?? ''));
  }
}

/** Negotiates the locale, sets `<html lang dir>`, translates the static markup and returns the translator. */
export async function startPageLocale(): Promise<Translator> {
  const forced = forcedLocale();
  const locale = negotiateLocale([...(forced ? [forced] : []), ...navigator.languages], AVAILABLE, sourceLocale);
  const catalogue = catalogueLocales.includes(locale) && locale !== sourceLocale ? await fetchCatalogue(locale) : {};
  const i18n = createTranslator(locale, catalogue);
  document.documentElement.lang = i18n.locale;
  document.documentElement.dir = i18n.dir;
  translatePage(document, i18n);
  for (const a of document.querySelectorAll<HTMLAnchorElement>('a[href^="/"]'))
    a.setAttribute('href', keepLang(a.getAttribute('href') ?? '/'));
  return i18n;
}

/** Sets text only when it changed: the once-a-second refresh must not relayout an unchanged page. */
export function setText(el: Element | null | undefined, text: string): void {
  if (el && el.textContent !== text) el.textContent = text;
}
