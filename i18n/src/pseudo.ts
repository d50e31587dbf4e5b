import IntlMessageFormat from 'intl-messageformat';

/**
 * Pseudo-locales: generated from the source catalogue, never translated by anyone. A page rendered in
 * one shows at a glance (and to a test) every text that does not come from the catalogue.
 * en-XA: accented, longer (+~35 %, like German) and bracketed. ar-XB: bracketed and mirrored right-to-left.
 */
export const pseudoLocales: readonly string[] = ['en-XA', 'ar-XB'];

export function isPseudoLocale(locale: string): boolean {
  return pseudoLocales.some((p) => p.toLowerCase() === locale.toLowerCase());
}

type Ast = ReturnType<IntlMessageFormat['getAst']>;
type Element = Ast[number];

const ACCENTED: Record<string, string> = Object.fromEntries(
  [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((c, i) => [
    c,
    [...'åƀçðéƒĝĥîĵķļɱñöþǫŕšţûṽŵẋýžÅƁÇÐÉƑĜĤÎĴĶĻṀÑÖÞǪŔŠŢÛṼŴẊÝŽ'][i]!,
  ]),
);
const VOWELS = new Set([...'aeiouAEIOU']);
const RLO = '\u202e';
const PDF = '\u202c';

function accent(text: string): string {
  // Doubling vowels lengthens text like a real translation would, so clipped labels show up in English builds.
  return [...text].map((c) => (VOWELS.has(c) ? ACCENTED[c]! + ACCENTED[c]! : (ACCENTED[c] ?? c))).join('');
}

function mirror(text: string): string {
  return text.trim() === '' ? text : `${RLO}${text}${PDF}`;
}

function transform(elements: Ast, literal: (text: string) => string): Ast {
  return elements.map((el): Element => {
    if (el.type === 0) return { ...el, value: literal(el.value) };
    if ('options' in el) {
      const options = Object.fromEntries(
        Object.entries(el.options).map(([k, o]) => [k, { ...o, value: transform(o.value, literal) }]),
      );
      return { ...el, options } as Element;
    }
    if ('children' in el) return { ...el, children: transform(el.children, literal) } as Element;
    return el;
  });
}

/** The pseudo-localised AST of a source message: only literal text changes, arguments and plurals stay. */
export function pseudoLocalise(ast: Ast, locale: string): Ast {
  const literal = locale.toLowerCase() === 'ar-xb' ? mirror : accent;
  return [{ type: 0, value: '[' }, ...transform(ast, literal), { type: 0, value: ']' }] as Ast;
}
