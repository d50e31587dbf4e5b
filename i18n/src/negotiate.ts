/**
 * Picks the catalogue to answer in. Requests come from an Accept-Language header (server side),
 * `navigator.languages` (pages) or an explicit `?lang=`; each is tried in order of preference.
 */

/** Language tags of an Accept-Language header, most wanted first; `*`, q=0 and malformed entries dropped. */
export function parseAcceptLanguage(header: string | undefined | null): string[] {
  if (!header) return [];
  const entries = header.split(',').flatMap((part, index) => {
    const [tag = '', ...params] = part.trim().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (tag === '' || tag === '*' || !(weight > 0)) return [];
    return [{ tag, weight, index }];
  });
  // Stable by position for equal weights: the header's order is the tie-breaker.
  return entries.sort((a, b) => b.weight - a.weight || a.index - b.index).map((e) => e.tag);
}

function canonical(tag: string): string | undefined {
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined; // not a BCP 47 tag: a typo in ?lang= or a hostile header
  }
}

/**
 * The first requested locale we have a catalogue for: an exact match, else the requested language's
 * base catalogue (en-GB -> en, ar-EG -> ar). Never a sibling region (en-GB never gets en-XA).
 */
export function negotiateLocale(requested: readonly string[], available: readonly string[], fallback: string): string {
  const byLower = new Map(available.map((a) => [a.toLowerCase(), a]));
  for (const raw of requested) {
    const tag = canonical(raw);
    if (!tag) continue;
    const exact = byLower.get(tag.toLowerCase());
    if (exact) return exact;
    const base = byLower.get(new Intl.Locale(tag).language.toLowerCase());
    if (base) return base;
  }
  return fallback;
}
