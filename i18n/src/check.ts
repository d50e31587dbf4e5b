import IntlMessageFormat from 'intl-messageformat';
import type { Catalogue } from './catalogues.js';

type Element = ReturnType<IntlMessageFormat['getAst']>[number];

/** Argument and tag names a message uses ({count}, {state, select, ...}, <b>...</b>). */
export function messageArguments(message: string): Set<string> {
  const names = new Set<string>();
  const visit = (elements: readonly Element[]): void => {
    for (const el of elements) {
      if (el.type !== 0 && el.type !== 7 && 'value' in el && typeof el.value === 'string') names.add(el.value);
      if ('options' in el) for (const option of Object.values(el.options)) visit(option.value);
      if ('children' in el) visit(el.children);
    }
  };
  visit(new IntlMessageFormat(message, 'en').getAst());
  return names;
}

/**
 * What is wrong with a catalogue, as sentences a translator can act on (empty when all is well):
 * messages that do not parse, keys the source does not have, arguments the source message does not pass.
 */
export function checkCatalogue(catalogue: Catalogue, source: Catalogue, locale: string): string[] {
  const problems: string[] = [];
  for (const [key, message] of Object.entries(catalogue)) {
    let args: Set<string>;
    try {
      args = messageArguments(message);
    } catch (err) {
      problems.push(`${locale}: ${key} does not parse: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    if (catalogue === source) continue;
    const sourceMessage = source[key];
    if (sourceMessage === undefined) {
      problems.push(`${locale}: ${key} is not in the source catalogue`);
      continue;
    }
    const expected = messageArguments(sourceMessage);
    for (const name of args)
      if (!expected.has(name)) problems.push(`${locale}: ${key} uses {${name}}, which the code never passes`);
  }
  return problems;
}

/**
 * Message keys a source file uses: `t('key'` calls and `data-i18n*="key"` attributes. Keys built at run
 * time are invisible here, which is why the code passes whole keys, never concatenated ones.
 */
export function usedMessageKeys(sourceText: string): string[] {
  const keys = new Set<string>();
  for (const m of sourceText.matchAll(/\bt\(\s*['"]([\w.-]+)['"]/g)) keys.add(m[1]!);
  for (const m of sourceText.matchAll(/\bdata-i18n(?:-[\w-]+)?="([\w.-]+)"/g)) keys.add(m[1]!);
  return [...keys];
}
