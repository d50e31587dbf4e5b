import type { Translator } from '@clutch/i18n';
import { ApiProblem } from './api.js';

/** A refusal the page itself words (already in the page's language), e.g. a cancelled passkey check. */
export class PageProblem extends Error {}

/**
 * Shows what went wrong in an error element: the problem's title in the page's language (our catalogue's
 * `problem.<CODE>.title`, or the API's title when the catalogue does not know the code) and the API's
 * `detail`, which the API words (`data-from="api"`), e.g. why a password was refused. Anything that is
 * not a problem answer gets our own sentence: a PageProblem's, else "the server could not be reached".
 */
export function showProblem(el: HTMLElement, err: unknown, i18n: Translator): void {
  const title = document.createElement('strong');
  const parts: Node[] = [title];
  if (err instanceof ApiProblem) {
    const key = `problem.${err.code}.title`;
    const ours = i18n.text(key);
    if (ours !== key) title.textContent = ours;
    else if (err.title) {
      title.textContent = err.title;
      title.dataset.from = 'api';
    } else title.textContent = i18n.t('error.httpStatus', { status: err.status });
    if (err.message && err.message !== err.title) {
      const detail = document.createElement('span');
      detail.dataset.from = 'api';
      detail.dataset.role = 'detail';
      detail.textContent = err.message;
      parts.push(document.createTextNode(' '), detail);
    }
    el.dataset.code = err.code;
  } else if (err instanceof PageProblem) {
    title.textContent = err.message;
    delete el.dataset.code;
  } else {
    // fetch() rejects only when no answer came at all.
    title.textContent = i18n.t('auth.error.network');
    delete el.dataset.code;
  }
  el.replaceChildren(...parts);
  el.hidden = false;
}

/** Clears and hides an error element. */
export function clearProblem(el: HTMLElement): void {
  el.replaceChildren();
  el.hidden = true;
  delete el.dataset.code;
}
