import type { Translator } from '@clutch/i18n';
import { apiRequest, ApiProblem, getJson, type UserSession } from './api.js';
import { startPageLocale } from './locale.js';
import { clearProblem, showProblem } from './problem-view.js';
import { signOut, startSessionNav } from './session-nav.js';

/**
 * The signed-in user's devices (`GET /api/sessions`): where and when each signed in and was last
 * active, this one marked. Signing out one (`DELETE /api/sessions/:id`) or every other one
 * (`POST /api/sessions/logout-all` with `exceptCurrent`) stops its tokens at once.
 */

const el = <T extends HTMLElement>(selector: string): T => document.querySelector<T>(selector)!;

/** What to call a session: the name the user gave, the browser and system the API read, or "unknown". */
function deviceLabel(s: UserSession, i18n: Translator): { text: string; from: 'user' | 'api' | 'us' } {
  if (s.deviceName) return { text: s.deviceName, from: 'user' };
  if (s.device) return { text: s.device, from: 'api' };
  return { text: i18n.t('sessions.unknownDevice'), from: 'us' };
}

function fact(term: string, value: HTMLElement): HTMLDivElement {
  const row = document.createElement('div');
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.append(value);
  row.append(dt, dd);
  return row;
}

function timeOf(iso: string, text: string): HTMLTimeElement {
  const t = document.createElement('time');
  t.dateTime = iso;
  t.textContent = text;
  return t;
}

function sessionItem(
  s: UserSession,
  i18n: Translator,
  onRevoke: (s: UserSession, label: string) => void,
): HTMLLIElement {
  const li = document.createElement('li');
  li.className = 'session';
  li.dataset.testid = 'session';
  li.dataset.sessionId = s.id;
  li.dataset.current = String(s.current);

  const head = document.createElement('div');
  head.className = 'session-head';
  const label = deviceLabel(s, i18n);
  const name = document.createElement('strong');
  name.className = 'session-device';
  name.dataset.role = 'device';
  name.textContent = label.text;
  if (label.from === 'user') name.translate = false;
  if (label.from === 'api') name.dataset.from = 'api';
  const client = document.createElement('span');
  client.className = 'muted';
  client.textContent = i18n.t('sessions.client', { client: s.client });
  head.append(name, client);
  if (s.current) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.dataset.testid = 'current-badge';
    badge.textContent = i18n.t('sessions.current');
    head.append(badge);
  }

  const facts = document.createElement('dl');
  facts.className = 'session-facts';
  const ip = document.createElement('span');
  if (s.ip) {
    ip.textContent = s.ip;
    ip.translate = false;
  } else ip.textContent = i18n.t('sessions.unknownIp');
  facts.append(
    fact(
      i18n.t('sessions.signedIn'),
      timeOf(s.createdAt, i18n.dateTime(s.createdAt, { dateStyle: 'medium', timeStyle: 'short' })),
    ),
    fact(i18n.t('sessions.lastActive'), timeOf(s.lastSeenAt, i18n.ago(s.lastSeenAt))),
    fact(i18n.t('sessions.ip'), ip),
  );

  const revoke = document.createElement('button');
  revoke.type = 'button';
  revoke.className = 'secondary';
  revoke.dataset.action = 'revoke';
  revoke.textContent = i18n.t('sessions.revoke');
  revoke.setAttribute('aria-label', i18n.t('sessions.revokeLabel', { device: label.text }));
  revoke.addEventListener('click', () => {
    revoke.disabled = true;
    onRevoke(s, label.text);
  });

  li.append(head, facts, revoke);
  return li;
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  const status = el<HTMLElement>('[data-testid="status"]');
  const list = el<HTMLUListElement>('[data-testid="sessions"]');
  const notice = el<HTMLElement>('[data-testid="notice"]');
  const error = el<HTMLElement>('[data-testid="error"]');
  const others = el<HTMLButtonElement>('[data-testid="sign-out-others"]');

  const say = (text: string): void => {
    notice.textContent = text;
    notice.hidden = false;
  };

  const load = async (): Promise<void> => {
    const sessions: UserSession[] = [];
    // Every page (`next` followed; one page unless someone has more than 200 devices), bounded.
    let cursor: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const page: { sessions: UserSession[]; next: string | null } = await getJson(
        cursor === null ? '/api/sessions?limit=200' : `/api/sessions?limit=200&cursor=${encodeURIComponent(cursor)}`,
      );
      sessions.push(...page.sessions);
      cursor = page.next;
      if (cursor === null) break;
    }
    // This device first, then the others as the API orders them (newest sign-in first).
    const ordered = [...sessions.filter((s) => s.current), ...sessions.filter((s) => !s.current)];
    list.replaceChildren(...ordered.map((s) => sessionItem(s, i18n, revoke)));
    status.textContent = i18n.t('sessions.count', { count: sessions.length });
    others.hidden = !sessions.some((s) => !s.current);
  };

  const fail = (err: unknown): void => showProblem(error, err, i18n);

  const revoke = (s: UserSession, label: string): void => {
    clearProblem(error);
    if (s.current) {
      void signOut();
      return;
    }
    apiRequest('DELETE', `/api/sessions/${encodeURIComponent(s.id)}`)
      .then(() => say(i18n.t('sessions.revoked', { device: label })))
      .then(load)
      .catch(fail);
  };

  others.addEventListener('click', () => {
    clearProblem(error);
    others.disabled = true;
    apiRequest<{ revoked: number }>('POST', '/api/sessions/logout-all', { exceptCurrent: true })
      .then(({ revoked }) => say(i18n.t('sessions.signOutOthersDone', { count: revoked })))
      .then(load)
      .catch(fail)
      .finally(() => {
        others.disabled = false;
      });
  });

  // Who is asking and the list at once; a signed-out visitor is sent to sign in by the nav.
  const [state, failure] = await Promise.all([
    startSessionNav(i18n, { requireSession: true }),
    load().then(
      () => null,
      (err: unknown) => err,
    ),
  ]);
  if (state.me && !state.me.user) {
    // The open demo's anonymous administrator (or a key holder) has no sessions of their own.
    list.replaceChildren();
    status.textContent = i18n.t('sessions.notSignedIn');
    return;
  }
  // A 401: signed out, and the nav is already on its way to the sign-in page.
  if (failure && !(failure instanceof ApiProblem && failure.status === 401)) {
    status.textContent = i18n.t('sessions.loadFailed');
    fail(failure);
  }
}

void main();
