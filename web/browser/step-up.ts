import type { Translator } from '@clutch/i18n';
import { ApiProblem, apiRequest } from './api.js';
import { keepLang } from './locale.js';

/** The second factors a step-up can be answered with on a page, without leaving it. */
type CodeMethod = 'totp' | 'email' | 'sms' | 'backup_code';
const CODE_METHODS: readonly CodeMethod[] = ['totp', 'email', 'sms', 'backup_code'];

/** The methods a `MFA_STEP_UP_REQUIRED` problem offers that a code answers (passkeys go through /mfa.html). */
function codeMethodsOf(problem: ApiProblem): CodeMethod[] {
  const offered = Array.isArray(problem.extensions.methods) ? (problem.extensions.methods as unknown[]) : [];
  return CODE_METHODS.filter((m) => offered.includes(m));
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Asks for a second-factor code in a modal dialog and checks it on this session
 * (`POST /api/auth/mfa/verify`). Resolves true once the session passed, false when the person
 * cancelled. Wrong codes stay in the dialog with the API's answer (its limits apply).
 */
function askSecondFactor(i18n: Translator, methods: CodeMethod[]): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = el('dialog');
    dialog.className = 'step-up-dialog';
    dialog.dataset.testid = 'step-up-dialog';
    const form = el('form');
    form.method = 'dialog';
    const heading = el('h2', i18n.t('stepUp.heading'));
    const intro = el('p', i18n.t('stepUp.intro'));
    const message = el('p');
    message.setAttribute('role', 'status');
    message.dataset.testid = 'step-up-message';
    form.append(heading, intro);

    if (methods.length === 0) {
      // No factor a code answers: the person sets one up (or uses a passkey) on the MFA page.
      const link = el('a', i18n.t('stepUp.setUp'));
      link.href = keepLang('/mfa.html');
      const close = el('button', i18n.t('stepUp.cancel'));
      close.type = 'button';
      close.addEventListener('click', () => dialog.close());
      form.append(el('p', i18n.t('stepUp.noCodeMethod')), link, close);
    } else {
      const select = el('select');
      select.dataset.testid = 'step-up-method';
      for (const method of methods) {
        const option = el('option', i18n.t('mfa.method', { method }));
        option.value = method;
        select.append(option);
      }
      const methodLabel = el('label', i18n.t('stepUp.method'));
      methodLabel.append(select);
      const send = el('button', i18n.t('stepUp.sendCode'));
      send.type = 'button';
      send.dataset.testid = 'step-up-send';
      const input = el('input');
      input.autocomplete = 'one-time-code';
      input.required = true;
      input.maxLength = 40;
      input.translate = false;
      input.dataset.testid = 'step-up-code';
      const codeLabel = el('label', i18n.t('stepUp.code'));
      codeLabel.append(input);
      const submit = el('button', i18n.t('stepUp.verify'));
      submit.type = 'submit';
      submit.dataset.testid = 'step-up-verify';
      const cancel = el('button', i18n.t('stepUp.cancel'));
      cancel.type = 'button';
      cancel.dataset.testid = 'step-up-cancel';
      cancel.addEventListener('click', () => dialog.close());
      const showSend = (): void => {
        send.hidden = !(select.value === 'email' || select.value === 'sms');
        input.inputMode = select.value === 'backup_code' ? 'text' : 'numeric';
      };
      select.addEventListener('change', showSend);
      showSend();
      send.addEventListener('click', () => {
        send.disabled = true;
        apiRequest('POST', '/api/auth/mfa/challenge', { method: select.value })
          .then(() => (message.textContent = i18n.t('stepUp.codeSent')))
          .catch((err: unknown) => (message.textContent = err instanceof Error ? err.message : ''))
          .finally(() => (send.disabled = false));
      });
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        submit.disabled = true;
        apiRequest('POST', '/api/auth/mfa/verify', { method: select.value, code: input.value.trim() })
          .then(() => {
            dialog.dataset.passed = 'true';
            dialog.close();
          })
          .catch((err: unknown) => {
            message.textContent = err instanceof Error && err.message ? err.message : i18n.t('stepUp.failed');
            input.select();
          })
          .finally(() => (submit.disabled = false));
      });
      form.append(methodLabel, send, codeLabel, message, submit, cancel);
    }
    dialog.append(form);
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.dataset.passed === 'true');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/**
 * Runs a sensitive action; when the API answers `403 MFA_STEP_UP_REQUIRED` (role changes, large
 * estimate approvals, API keys, ...), asks for a second-factor code in place and runs it once more.
 * The person never leaves the page and loses nothing they typed. Other errors pass through.
 */
export async function withStepUp<T>(i18n: Translator, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    if (!(err instanceof ApiProblem) || err.code !== 'MFA_STEP_UP_REQUIRED') throw err;
    if (!(await askSecondFactor(i18n, codeMethodsOf(err)))) throw err;
    return action();
  }
}
