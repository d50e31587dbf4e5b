import type { Translator } from '@clutch/i18n';
import {
  browserSupportsWebAuthn,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
} from '@simplewebauthn/browser';
import { startPageLocale } from './locale.js';
import { startSessionNav } from './session-nav.js';

/**
 * The MFA setup page (web/public/mfa.html): the signed-in user's second factors, setting up an
 * authenticator app (QR code + first code) and passkeys, and the backup codes, shown once. The
 * session is the browser's cookies; writes echo the CSRF cookie in X-CSRF-Token (docs/identity.md).
 */

const byTestId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.querySelector<T>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`mfa.html lacks ${id}`);
  return el;
};

// The answers of the MFA routes this page reads (api/src/mfa/routes.ts; the OpenAPI document has them).
type MfaMethod = 'totp' | 'webauthn' | 'email' | 'sms' | 'backup_code';

interface MfaStatus {
  methods: MfaMethod[];
  passkeys: { id: string; name: string }[];
  backupCodesRemaining: number;
}

interface TotpSetup {
  secret: string;
  uri: string;
  qrSvg: string;
}

interface MfaVerified {
  completed: 'setup' | 'step-up';
  backupCodes?: string[];
}

interface Answer<T> {
  status: number;
  body: T & { detail?: string; title?: string; code?: string };
}

function csrfToken(): string | undefined {
  const match = /(?:^|;\s*)clutch_csrf=([^;]+)/.exec(document.cookie);
  return match ? decodeURIComponent(match[1]!) : undefined;
}

async function api<T>(method: string, path: string, body?: unknown): Promise<Answer<T>> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  else if (method !== 'GET') headers['X-Requested-With'] = 'clutch-web';
  const csrf = csrfToken();
  if (csrf && method !== 'GET') headers['X-CSRF-Token'] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Answer<T>['body'] };
}

class MfaPage {
  constructor(private readonly i18n: Translator) {}

  private say(text: string, kind: 'info' | 'error' = 'info'): void {
    const message = byTestId('message');
    message.textContent = text;
    message.dataset.kind = kind;
  }

  private failed(answer: Answer<unknown>): void {
    this.say(
      this.i18n.t('mfa.error', { detail: answer.body.detail ?? answer.body.title ?? String(answer.status) }),
      'error',
    );
  }

  async load(): Promise<void> {
    const answer = await api<MfaStatus>('GET', '/api/auth/mfa');
    byTestId('loading').hidden = true;
    if (answer.status === 401) {
      byTestId('signed-out').hidden = false;
      return;
    }
    if (answer.status !== 200) return this.failed(answer);
    byTestId('signed-in').hidden = false;
    this.render(answer.body);
  }

  private render(status: MfaStatus): void {
    const list = byTestId('methods');
    list.replaceChildren(
      ...(status.methods.length === 0
        ? [Object.assign(document.createElement('li'), { textContent: this.i18n.t('mfa.none') })]
        : status.methods.map((method) => {
            const li = document.createElement('li');
            li.dataset.method = method;
            li.textContent = this.i18n.t('mfa.method', { method });
            return li;
          })),
    );
    const hasTotp = status.methods.includes('totp');
    byTestId('totp-active').hidden = !hasTotp;
    byTestId('totp-offer').hidden = hasTotp;
    if (hasTotp) byTestId('totp-setup').hidden = true;
    byTestId('passkeys').replaceChildren(
      ...status.passkeys.map((p) => Object.assign(document.createElement('li'), { textContent: p.name })),
    );
    byTestId('backup-remaining').textContent = status.methods.length
      ? this.i18n.t('mfa.backup.remaining', { count: status.backupCodesRemaining })
      : '';
    byTestId('backup-renew').hidden = !status.methods.some((m) => m !== 'backup_code');
  }

  private showBackupCodes(codes: readonly string[] | undefined): void {
    if (!codes || codes.length === 0) return;
    byTestId('backup-codes').replaceChildren(
      ...codes.map((c) => Object.assign(document.createElement('li'), { textContent: c })),
    );
    byTestId('backup').hidden = false;
  }

  private async completed(answer: Answer<MfaVerified>, method: MfaMethod): Promise<void> {
    if (answer.status !== 200) return this.failed(answer);
    this.say(this.i18n.t('mfa.done', { method: this.i18n.t('mfa.method', { method }) }));
    this.showBackupCodes(answer.body.backupCodes);
    const status = await api<MfaStatus>('GET', '/api/auth/mfa');
    if (status.status === 200) this.render(status.body);
  }

  async startTotp(): Promise<void> {
    const answer = await api<TotpSetup>('POST', '/api/auth/mfa/setup', { method: 'totp' });
    if (answer.status !== 200) return this.failed(answer);
    const qr = byTestId<HTMLImageElement>('totp-qr');
    // As an image, not inline markup: nothing in the SVG can run in the page.
    qr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(answer.body.qrSvg)}`;
    qr.alt = this.i18n.t('mfa.totp.qrAlt');
    byTestId('totp-secret').textContent = answer.body.secret;
    byTestId('totp-setup').hidden = false;
    byTestId<HTMLInputElement>('totp-code').focus();
  }

  async confirmTotp(code: string): Promise<void> {
    const answer = await api<MfaVerified>('POST', '/api/auth/mfa/verify', { method: 'totp', code: code.trim() });
    await this.completed(answer, 'totp');
    if (answer.status === 200) byTestId<HTMLInputElement>('totp-code').value = '';
  }

  async addPasskey(): Promise<void> {
    if (!browserSupportsWebAuthn()) return this.say(this.i18n.t('mfa.passkey.unsupported'), 'error');
    const setup = await api<{ options: PublicKeyCredentialCreationOptionsJSON }>('POST', '/api/auth/mfa/setup', {
      method: 'webauthn',
    });
    if (setup.status !== 200) return this.failed(setup);
    let response;
    try {
      response = await startRegistration({ optionsJSON: setup.body.options });
    } catch {
      return this.say(this.i18n.t('mfa.passkey.cancelled'), 'error');
    }
    const answer = await api<MfaVerified>('POST', '/api/auth/mfa/verify', {
      method: 'webauthn',
      response,
      name: this.i18n.t('mfa.passkey.defaultName'),
    });
    await this.completed(answer, 'webauthn');
  }

  async newBackupCodes(): Promise<void> {
    const answer = await api<{ codes: string[] }>('GET', '/api/auth/mfa/backup-codes');
    if (answer.status !== 200) return this.failed(answer);
    this.showBackupCodes(answer.body.codes);
    const status = await api<MfaStatus>('GET', '/api/auth/mfa');
    if (status.status === 200) this.render(status.body);
  }
}

const i18n = await startPageLocale();
void startSessionNav(i18n, { offerSignIn: false });
const page = new MfaPage(i18n);
byTestId('totp-start').addEventListener('click', () => void page.startTotp());
byTestId<HTMLFormElement>('totp-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void page.confirmTotp(byTestId<HTMLInputElement>('totp-code').value);
});
byTestId('passkey-add').addEventListener('click', () => void page.addPasskey());
byTestId('backup-new').addEventListener('click', () => void page.newBackupCodes());
await page.load();
