/**
 * Writing direction from the locale's likely script (CLDR data behind Intl.Locale#maximize), so a new
 * right-to-left locale needs no list of languages here: `ar`, `fa`, `he`, `ur`, `ar-XB` all resolve.
 */
const RTL_SCRIPTS = new Set(['Arab', 'Hebr', 'Thaa', 'Syrc', 'Nkoo', 'Adlm', 'Rohg', 'Mand', 'Samr']);

export function textDirection(locale: string): 'ltr' | 'rtl' {
  try {
    const script = new Intl.Locale(locale).maximize().script;
    return script !== undefined && RTL_SCRIPTS.has(script) ? 'rtl' : 'ltr';
  } catch {
    return 'ltr';
  }
}
