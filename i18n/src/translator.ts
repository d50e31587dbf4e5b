import IntlMessageFormat from 'intl-messageformat';
import { sourceCatalogue, sourceLocale, type Catalogue, type MessageKey } from './catalogues.js';
import { textDirection } from './direction.js';
import { isPseudoLocale, pseudoLocalise } from './pseudo.js';

export type MessageValues = Record<string, string | number | Date | null | undefined>;

export interface Translator {
  /** The locale texts and formats are in (a catalogue locale or a pseudo-locale). */
  readonly locale: string;
  readonly dir: 'ltr' | 'rtl';
  /** A message from the catalogue, falling back to the source text when the locale lacks or breaks it. */
  t(key: MessageKey, values?: MessageValues): string;
  /** Same as `t` for keys only known at run time (page markup); an unknown key comes back as itself. */
  text(key: string, values?: MessageValues): string;
  number(value: number, options?: Intl.NumberFormatOptions): string;
  dateTime(value: Date | number | string, options?: Intl.DateTimeFormatOptions): string;
  /** "5 minutes ago", from the catalogue (time.ago.*) so every language can word and pluralise it. */
  ago(value: Date | number | string, now?: number): string;
}

/**
 * A translator for one locale. `catalogue` is that locale's messages; pseudo-locales and the source
 * locale need none. Messages are parsed on first use and kept.
 */
export function createTranslator(locale: string, catalogue: Catalogue = {}): Translator {
  const pseudo = isPseudoLocale(locale);
  const compiled = new Map<string, IntlMessageFormat[]>();
  const numbers = new Map<string, Intl.NumberFormat>();

  /** The formats to try for a key, best first: the locale's message, then the source one. */
  function formatsFor(key: string): IntlMessageFormat[] {
    let list = compiled.get(key);
    if (list) return list;
    list = [];
    const source = (sourceCatalogue as Catalogue)[key];
    const own = pseudo ? undefined : catalogue[key];
    try {
      if (own !== undefined) list.push(new IntlMessageFormat(own, locale));
    } catch {
      // A broken translation must not break the page; the catalogue check reports it before release.
    }
    if (source !== undefined) {
      const base = new IntlMessageFormat(source, pseudo ? locale : sourceLocale);
      list.push(pseudo ? new IntlMessageFormat(pseudoLocalise(base.getAst(), locale), locale) : base);
    }
    compiled.set(key, list);
    return list;
  }

  function text(key: string, values?: MessageValues): string {
    for (const format of formatsFor(key)) {
      try {
        return String(format.format(values as Record<string, string | number | Date>));
      } catch {
        // a missing or mistyped value in a translation: try the source message
      }
    }
    return key;
  }

  function number(value: number, options: Intl.NumberFormatOptions = {}): string {
    const id = JSON.stringify(options);
    let format = numbers.get(id);
    if (!format) numbers.set(id, (format = new Intl.NumberFormat(locale, options)));
    return format.format(value);
  }

  function ago(value: Date | number | string, now = Date.now()): string {
    const at = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
    // Device clocks run a little ahead: a reading "from the future" is simply new.
    const seconds = Math.max(0, Math.round((now - at) / 1000));
    if (seconds < 60) return text('time.ago.seconds', { count: seconds });
    if (seconds < 3600) return text('time.ago.minutes', { count: Math.round(seconds / 60) });
    if (seconds < 86400) return text('time.ago.hours', { count: Math.round(seconds / 3600) });
    return text('time.ago.days', { count: Math.round(seconds / 86400) });
  }

  return {
    locale,
    dir: textDirection(locale),
    t: (key, values) => text(key, values),
    text,
    number,
    dateTime: (value, options) =>
      new Intl.DateTimeFormat(locale, options).format(typeof value === 'string' ? new Date(value) : value),
    ago,
  };
}
