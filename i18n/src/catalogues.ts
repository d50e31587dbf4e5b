import en from '../messages/en.json' with { type: 'json' };

/** A catalogue: message key -> ICU MessageFormat text. */
export type Catalogue = Readonly<Record<string, string>>;

/** Keys of the source catalogue; `t()` accepts only these, so a typo is a compile error. */
export type MessageKey = keyof typeof en;

/** The language every message is written in first, and what any missing translation falls back to. */
export const sourceLocale = 'en';
export const sourceCatalogue: Readonly<Record<MessageKey, string>> = en;

/** Locales with a catalogue in i18n/messages (add the file, then its tag here). */
export const catalogueLocales: readonly string[] = ['en'];

/**
 * The file of a catalogue locale, for servers that read catalogues from disk (the API's problem titles);
 * pages fetch theirs instead. The build copies messages/ next to dist/src/ as it sits next to src/, so one
 * relative URL serves sources and build alike.
 */
export function catalogueUrl(locale: string): URL {
  // Only known tags: a negotiated locale must never turn into a path of our choosing.
  if (!catalogueLocales.includes(locale)) throw new Error(`no catalogue for locale ${JSON.stringify(locale)}`);
  return new URL(`../messages/${locale}.json`, import.meta.url);
}
