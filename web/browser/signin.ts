import type { Translator } from '@clutch/i18n';
import { startAuthentication, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { apiRequest } from './api.js';
import { startPageLocale } from './locale.js';
import { clearProblem, PageProblem, showProblem } from './problem-view.js';
import { afterSignIn, startSessionNav } from './session-nav.js';

/**
 * The sign-in page and the pages the account mails link to (docs/identity.md, api/src/accounts/mail.ts):
 * `?verify=<token>` confirms the address, `?reset=<token>` chooses a new password, `?invitation=<token>`
 * finishes an invited account, `?forgot=1` asks for a reset link. A password sign-in of an account with
 * a second factor continues with the MFA step (`POST /api/auth/mfa/verify` with the signed challenge).
 */

type MfaMethod = 'totp' | 'webauthn' | 'email' | 'sms' | 'backup_code';

/** `POST /api/auth/login` with a second factor due (the other answer starts a session by cookie). */
interface MfaRequired {
  mfaRequired: true;
  challenge: string;
  methods: MfaMethod[];
}

type View = 'signin' | 'mfa' | 'forgot' | 'reset' | 'invitation';

const $ = <T extends Element>(root: ParentNode, selector: string): T => {
  const el = root.querySelector<T>(selector);
  if (!el) throw new Error(`missing ${selector}`);
  return el;
};

function showView(view: View): HTMLElement {
  let shown: HTMLElement | undefined;
  for (const section of document.querySelectorAll<HTMLElement>('[data-view]')) {
    section.hidden = section.dataset.view !== view;
    if (!section.hidden) shown = section;
  }
  return shown!;
}

/** Takes a mail link's token out of the address bar and history once it was read (it is a secret). */
function forgetToken(): void {
  const url = new URL(location.href);
  for (const param of ['verify', 'reset', 'invitation', 'forgot']) url.searchParams.delete(param);
  history.replaceState(null, '', url.pathname + url.search);
}

function notice(section: HTMLElement, text: string): void {
  const el = section.querySelector<HTMLElement>('[data-testid="notice"], [data-role="sent"]');
  if (!el) return;
  el.textContent = text;
  el.hidden = false;
}

/**
 * Runs a form's request with the button disabled and the error line cleared, and shows a refusal in
 * the error line (the title in the page's language, the API's detail as it words it).
 */
async function submitting(form: HTMLElement, i18n: Translator, work: () => Promise<void>): Promise<void> {
  const error = $<HTMLElement>(form, '[data-role="error"]');
  const buttons = [...form.querySelectorAll<HTMLButtonElement>('button')];
  clearProblem(error);
  for (const b of buttons) b.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    await work();
  } catch (err) {
    showProblem(error, err, i18n);
  } finally {
    for (const b of buttons) b.disabled = false;
    form.removeAttribute('aria-busy');
  }
}

const field = (form: HTMLFormElement, name: string): string =>
  (form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? '';

/** The second step of a sign-in: one of the offered factors, then the session starts. */
function startMfa(i18n: Translator, required: MfaRequired): void {
  const section = showView('mfa');
  const list = $<HTMLElement>(section, '[data-testid="mfa-methods"]');
  const codeForm = $<HTMLFormElement>(section, '[data-form="mfa-code"]');
  const passkeyForm = $<HTMLElement>(section, '[data-form="mfa-passkey"]');
  const input = $<HTMLInputElement>(codeForm, 'input[name="code"]');
  const label = $<HTMLLabelElement>(codeForm, '[data-role="code-label"]');
  const send = $<HTMLButtonElement>(codeForm, '[data-action="send-code"]');
  const sent = $<HTMLElement>(codeForm, '[data-role="sent"]');
  let method: MfaMethod = required.methods[0] ?? 'totp';

  const choose = (next: MfaMethod): void => {
    method = next;
    const passkey = method === 'webauthn';
    codeForm.hidden = passkey;
    passkeyForm.hidden = !passkey;
    for (const form of [codeForm, passkeyForm]) clearProblem($<HTMLElement>(form, '[data-role="error"]'));
    label.textContent = i18n.t('signin.mfa.codeLabel', { method });
    send.hidden = method !== 'email' && method !== 'sms';
    sent.hidden = true;
    input.value = '';
    // Six digits from an app, a mail or a text; backup codes are longer and have letters.
    if (method === 'backup_code') {
      input.inputMode = 'text';
      input.removeAttribute('pattern');
      input.maxLength = 40;
      input.autocomplete = 'off';
    } else {
      input.inputMode = 'numeric';
      input.pattern = '[0-9]{6}';
      input.maxLength = 6;
      input.autocomplete = 'one-time-code';
    }
  };

  list.replaceChildren(
    ...required.methods.map((m, i) => {
      const option = document.createElement('label');
      option.className = 'method';
      const radio = document.createElement('input');
      radio.type = 'radio';
      radio.name = 'mfa-method';
      radio.value = m;
      radio.checked = i === 0;
      radio.addEventListener('change', () => choose(m));
      option.append(radio, ' ', i18n.t('signin.mfa.method', { method: m }));
      return option;
    }),
  );
  choose(method);

  const finish = (): void => location.assign(afterSignIn());

  send.onclick = () =>
    void submitting(codeForm, i18n, async () => {
      const answer = await apiRequest<{ sentTo: string }>('POST', '/api/auth/mfa/challenge', {
        method,
        challenge: required.challenge,
      });
      sent.textContent = i18n.t('signin.mfa.sent', { to: answer.sentTo });
      sent.hidden = false;
      input.focus();
    });

  codeForm.onsubmit = (event) => {
    event.preventDefault();
    void submitting(codeForm, i18n, async () => {
      await apiRequest('POST', '/api/auth/mfa/verify', {
        method,
        code: input.value.trim(),
        challenge: required.challenge,
      });
      finish();
    });
  };

  $<HTMLButtonElement>(passkeyForm, '[data-action="passkey"]').onclick = () =>
    void submitting(passkeyForm, i18n, async () => {
      const { options } = await apiRequest<{ options: PublicKeyCredentialRequestOptionsJSON }>(
        'POST',
        '/api/auth/mfa/challenge',
        { method: 'webauthn', challenge: required.challenge },
      );
      let response;
      try {
        response = await startAuthentication({ optionsJSON: options });
      } catch {
        // The person cancelled, or no authenticator knows this account: our words, not the browser's.
        throw new PageProblem(i18n.t('signin.mfa.passkeyFailed'));
      }
      await apiRequest('POST', '/api/auth/mfa/verify', {
        method: 'webauthn',
        response,
        challenge: required.challenge,
      });
      finish();
    });

  $<HTMLButtonElement>(section, '[data-action="restart"]').onclick = () => {
    showView('signin');
    $<HTMLInputElement>(document, '#signin-password').focus();
  };
  (method === 'webauthn' ? $<HTMLButtonElement>(passkeyForm, 'button') : input).focus();
}

function wireSignIn(i18n: Translator): void {
  const form = $<HTMLFormElement>(document, '[data-form="signin"]');
  form.onsubmit = (event) => {
    event.preventDefault();
    void submitting(form, i18n, async () => {
      const answer = await apiRequest<MfaRequired | { mfaRequired?: undefined }>('POST', '/api/auth/login', {
        email: field(form, 'email'),
        password: field(form, 'password'),
      });
      if (answer.mfaRequired) startMfa(i18n, answer);
      else location.assign(afterSignIn());
    });
  };
}

function wireForgot(i18n: Translator): void {
  const section = $<HTMLElement>(document, '[data-view="forgot"]');
  const form = $<HTMLFormElement>(section, 'form');
  form.onsubmit = (event) => {
    event.preventDefault();
    void submitting(form, i18n, async () => {
      const email = field(form, 'email');
      await apiRequest('POST', '/api/auth/password/forgot', { email });
      form.hidden = true;
      notice(section, i18n.t('signin.forgot.sent', { email }));
    });
  };
  $<HTMLAnchorElement>(document, '[data-action="forgot"]').onclick = (event) => {
    event.preventDefault();
    const typed = field($<HTMLFormElement>(document, '[data-form="signin"]'), 'email');
    showView('forgot');
    const input = $<HTMLInputElement>(form, 'input[name="email"]');
    if (typed) input.value = typed;
    input.focus();
  };
}

function wireReset(i18n: Translator, token: string): void {
  const form = $<HTMLFormElement>(showView('reset'), 'form');
  form.onsubmit = (event) => {
    event.preventDefault();
    void submitting(form, i18n, async () => {
      await apiRequest('POST', '/api/auth/password/reset', { token, password: field(form, 'password') });
      forgetToken();
      notice(showView('signin'), i18n.t('signin.reset.done'));
      $<HTMLInputElement>(document, '#signin-email').focus();
    });
  };
}

function wireInvitation(i18n: Translator, token: string): void {
  const form = $<HTMLFormElement>(showView('invitation'), 'form');
  form.onsubmit = (event) => {
    event.preventDefault();
    void submitting(form, i18n, async () => {
      const displayName = field(form, 'displayName').trim();
      await apiRequest('POST', '/api/auth/invitations/accept', {
        token,
        password: field(form, 'password'),
        ...(displayName ? { displayName } : {}),
      });
      forgetToken();
      location.assign(afterSignIn());
    });
  };
}

/** The verification link: confirmed at once, then the sign-in form with the outcome above it. */
async function verifyEmail(i18n: Translator, token: string): Promise<void> {
  const section = showView('signin');
  const line = $<HTMLElement>(section, '[data-testid="notice"]');
  notice(section, i18n.t('signin.verifying'));
  try {
    await apiRequest('POST', '/api/auth/verify-email', { token });
    line.className = 'notice';
    line.textContent = i18n.t('signin.verified');
  } catch (err) {
    line.className = 'error';
    showProblem(line, err, i18n);
  }
  forgetToken();
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  void startSessionNav(i18n, { offerSignIn: false });
  wireSignIn(i18n);
  wireForgot(i18n);
  const params = new URLSearchParams(location.search);
  const reset = params.get('reset');
  const invitation = params.get('invitation');
  const verify = params.get('verify');
  if (reset) wireReset(i18n, reset);
  else if (invitation) wireInvitation(i18n, invitation);
  else if (params.has('forgot')) $<HTMLAnchorElement>(document, '[data-action="forgot"]').click();
  else if (verify) await verifyEmail(i18n, verify);
  else if (params.has('signedOut')) notice(showView('signin'), i18n.t('signin.signedOut'));
}

void main();
