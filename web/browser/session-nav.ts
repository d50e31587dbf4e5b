import type { MessageKey, Translator } from '@clutch/i18n';
import { apiRequest, ApiProblem, getJson, type Me } from './api.js';
import { keepLang } from './locale.js';
import { NotificationBell } from './notification-bell.js';

/** What a page learns about its visitor from `GET /api/me`. */
export interface SessionState {
  /** Null: signed out where the API requires a session, or the API could not say. */
  me: Me | null;
  openMode: boolean;
}

export interface SessionNavOptions {
  /**
   * The page shows a signed-in person's own data: a signed-out visitor is sent to sign in. (In the open
   * demo nobody is signed out: a visitor without a session is the anonymous administrator.)
   */
  requireSession?: boolean;
  /** Offer a "Sign in" link to a visitor without a session (not on the sign-in page itself). */
  offerSignIn?: boolean;
}

/** The sign-in page, coming back to this page afterwards. */
export function signInUrl(): string {
  return keepLang(`/signin.html?next=${encodeURIComponent(location.pathname + location.search)}`);
}

/**
 * Where to go after signing in: the `next` of the sign-in link when it is a page of this site (never
 * another origin: an open redirect would make our sign-in page a phishing tool), else the vehicle list.
 */
export function afterSignIn(): string {
  const next = new URLSearchParams(location.search).get('next');
  if (next && next.startsWith('/') && !next.startsWith('//')) {
    const url = new URL(next, location.origin);
    if (url.origin === location.origin) return url.pathname + url.search;
  }
  return keepLang('/');
}

/** Ends this browser's session and goes to the sign-in page. */
export async function signOut(): Promise<void> {
  await apiRequest('POST', '/api/auth/logout').catch(() => undefined);
  location.assign(keepLang('/signin.html?signedOut=1'));
}

/**
 * The open demo's banner: fixed at the bottom of the window, so it covers nothing for good (the body
 * makes room) and moves nothing that is already on the page when it appears.
 */
function showOpenModeBanner(i18n: Translator): void {
  if (document.querySelector('[data-testid="open-mode-banner"]')) return;
  const banner = document.createElement('aside');
  banner.className = 'open-mode-banner';
  banner.dataset.testid = 'open-mode-banner';
  const title = document.createElement('strong');
  title.textContent = i18n.t('banner.openMode.title');
  banner.append(title, ' ', i18n.t('banner.openMode.text'));
  document.body.classList.add('has-open-mode-banner');
  document.body.append(banner);
}

/**
 * The pages a signed-in person reaches from the top bar: each shown when they hold its permission
 * (`*` is an administrator's), or always when it needs none. A page the API would refuse is not offered.
 */
export const NAV_LINKS: readonly { href: string; label: MessageKey; testid: string; permission?: string }[] = [
  // The marketplace (docs/marketplace.md): shops near the car for everyone, the job board for shop staff.
  { href: '/shops.html', label: 'nav.shops', testid: 'nav-shops' },
  { href: '/jobs.html', label: 'nav.jobs', testid: 'nav-jobs', permission: 'repair-orders:write' },
  // Parts orders between repair centers and parts shops (docs/marketplace.md), for their staff.
  {
    href: '/parts-orders.html',
    label: 'nav.partsOrders',
    testid: 'nav-parts-orders',
    permission: 'parts-orders:write',
  },
  // Money (docs/payments.md): the wallet, a shop's earnings, the platform staff's payments page
  // (fraud:read is held by support and platform admins only, not by shops).
  { href: '/wallet.html', label: 'nav.wallet', testid: 'nav-wallet', permission: 'wallet:read' },
  { href: '/payouts.html', label: 'nav.payouts', testid: 'nav-payouts', permission: 'commissions:read' },
  { href: '/admin-payments.html', label: 'nav.adminPayments', testid: 'nav-admin-payments', permission: 'fraud:read' },
  { href: '/mfa.html', label: 'nav.mfa', testid: 'nav-mfa' },
  { href: '/roles.html', label: 'nav.roles', testid: 'nav-roles', permission: 'roles:read' },
  { href: '/audit.html', label: 'nav.audit', testid: 'nav-audit', permission: 'security-reports:read' },
];

function navLinks(me: Me, i18n: Translator): HTMLElement[] {
  const held = new Set(me.permissions);
  return NAV_LINKS.filter((l) => l.permission === undefined || held.has('*') || held.has(l.permission)).map((l) => {
    const link = document.createElement('a');
    link.className = 'nav-link';
    link.href = keepLang(l.href);
    link.dataset.testid = l.testid;
    link.textContent = i18n.t(l.label);
    if (location.pathname === l.href) link.setAttribute('aria-current', 'page');
    return link;
  });
}

function renderNav(nav: HTMLElement, state: SessionState, i18n: Translator, options: SessionNavOptions): void {
  const user = state.me?.user;
  if (user) {
    const name = document.createElement('a');
    name.className = 'nav-user';
    name.href = keepLang('/sessions.html');
    name.title = i18n.t('nav.sessionsTitle');
    name.dataset.testid = 'nav-user';
    name.translate = false; // a person's name is data
    name.textContent = user.displayName;
    const out = document.createElement('button');
    out.type = 'button';
    out.className = 'nav-button';
    out.dataset.testid = 'sign-out';
    out.textContent = i18n.t('nav.signOut');
    out.addEventListener('click', () => {
      out.disabled = true;
      void signOut();
    });
    // The bell: a signed-in person's own inbox (API keys and the open demo's visitor have none).
    const bell = new NotificationBell(i18n);
    nav.replaceChildren(...navLinks(state.me!, i18n), bell.root, name, out);
    void bell.start();
  } else if (options.offerSignIn !== false && state.me !== null) {
    // The open demo's anonymous visitor (or a key holder): signing in shows the platform as a person.
    const link = document.createElement('a');
    link.className = 'nav-button';
    link.href = signInUrl();
    link.dataset.testid = 'nav-sign-in';
    link.textContent = i18n.t('nav.signIn');
    nav.replaceChildren(link);
  } else nav.replaceChildren();
}

/**
 * Asks the API who is looking at the page and shows it in the top bar (the notification bell, the
 * user's name, linking to their devices, and "Sign out"), the open-demo banner when the API runs open, and sends a signed-out
 * visitor of a page that needs a session to the sign-in page. The nav element gets
 * `data-state="ready"` when done (tests wait for it).
 */
export async function startSessionNav(i18n: Translator, options: SessionNavOptions = {}): Promise<SessionState> {
  const nav = document.querySelector<HTMLElement>('[data-testid="session-nav"]');
  let state: SessionState = { me: null, openMode: false };
  try {
    // A 401 here, after api.ts tried to refresh the session, means: no session, and the API requires
    // one (in open mode a visitor without credentials is never refused).
    const me = await getJson<Me>('/api/me');
    state = { me, openMode: me.openMode };
  } catch (err) {
    if (err instanceof ApiProblem && err.status === 401 && options.requireSession) {
      location.assign(signInUrl());
      return state;
    }
  }
  if (state.openMode) showOpenModeBanner(i18n);
  if (nav) {
    renderNav(nav, state, i18n, options);
    nav.dataset.state = 'ready';
  }
  return state;
}
