import { catalogueLocales } from '@clutch/i18n';
import { apiRequest } from './api.js';
import { startPageLocale } from './locale.js';
import { clearProblem, showProblem } from './problem-view.js';
import { startSessionNav } from './session-nav.js';

/**
 * Sign-up for car owners: `POST /api/auth/register`, then "check your mail" (the verification link opens
 * the sign-in page). The API answers the same whether or not the address already has an account, so
 * this page cannot tell either; it only shows why a password was refused (the API's detail).
 */
async function main(): Promise<void> {
  const i18n = await startPageLocale();
  void startSessionNav(i18n);
  const form = document.querySelector<HTMLFormElement>('[data-form="signup"]');
  const error = form?.querySelector<HTMLElement>('[data-role="error"]');
  const password = form?.querySelector<HTMLInputElement>('input[name="password"]');
  if (!form || !error || !password) return;
  const value = (name: string): string => (form.elements.namedItem(name) as HTMLInputElement).value;

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const button = form.querySelector<HTMLButtonElement>('button[type="submit"]')!;
    clearProblem(error);
    password.removeAttribute('aria-invalid');
    password.setAttribute('aria-describedby', 'signup-rules');
    button.disabled = true;
    const email = value('email').trim();
    apiRequest('POST', '/api/auth/register', {
      displayName: value('displayName').trim(),
      email,
      password: password.value,
      // Mail comes in the page's language when we have it (a pseudo-locale is for testers, not mail).
      ...(catalogueLocales.includes(i18n.locale) ? { locale: i18n.locale } : {}),
    })
      .then(() => {
        for (const section of document.querySelectorAll<HTMLElement>('[data-view]'))
          section.hidden = section.dataset.view !== 'check-mail';
        const line = document.querySelector<HTMLElement>('[data-testid="check-mail"]')!;
        line.textContent = i18n.t('signup.checkMail.text', { email });
      })
      .catch((err: unknown) => {
        showProblem(error, err, i18n);
        if (error.dataset.code === 'PASSWORD_REJECTED') {
          password.setAttribute('aria-invalid', 'true');
          password.setAttribute('aria-describedby', 'signup-rules signup-error');
          password.focus();
        }
      })
      .finally(() => {
        button.disabled = false;
      });
  });
}

void main();
