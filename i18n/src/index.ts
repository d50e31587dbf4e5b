export {
  catalogueLocales,
  catalogueUrl,
  sourceCatalogue,
  sourceLocale,
  type Catalogue,
  type MessageKey,
} from './catalogues.js';
export { checkCatalogue, messageArguments, usedMessageKeys } from './check.js';
export { textDirection } from './direction.js';
export { negotiateLocale, parseAcceptLanguage } from './negotiate.js';
export { isPseudoLocale, pseudoLocales, pseudoLocalise } from './pseudo.js';
export { createTranslator, type MessageValues, type Translator } from './translator.js';
export { formatMoney } from './money.js';
