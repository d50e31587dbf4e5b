import type { Translator } from '@clutch/i18n';
import { liveSocket, onEveryConnect } from './live-socket.js';
import { keepLang, setText } from './locale.js';
import { loadInbox, markAllRead, markRead, type InboxItem } from './notifications-api.js';

/**
 * The bell in every signed-in page's top bar (session-nav.ts): the unread count, a dropdown with the
 * latest notifications (mark one or all read, open its link) and the link to the settings page. New
 * notifications arrive live as the `notification` Socket.io event (the server sends it to the user's
 * own room); a reconnect re-reads the count, since events missed while offline are not replayed.
 */

/** How many unread notifications the badge counts exactly; past it shows "99+". */
const COUNT_LIMIT = 99;
const LIST_LIMIT = 20;

const BELL_ICON =
  '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z"/></svg>';

function create<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  testid?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  if (testid) e.dataset.testid = testid;
  return e;
}

export class NotificationBell {
  readonly root = create('div', 'bell', 'bell');
  private readonly button = create('button', 'bell-button', 'bell-button');
  private readonly badge = create('span', 'bell-badge', 'bell-count');
  private readonly panel = create('div', 'bell-panel', 'bell-panel');
  private readonly list = create('ul', 'bell-list', 'bell-list');
  private readonly empty = create('p', 'muted bell-empty', 'bell-empty');
  private readonly status = create('p', 'muted bell-status', 'bell-status');
  private readonly markAll = create('button', 'link-button', 'bell-mark-all');
  private readonly unread = new Set<string>();
  /** The unread page the count came from had more than COUNT_LIMIT. */
  private more = false;
  private items: InboxItem[] = [];

  constructor(private readonly i18n: Translator) {
    const { button, panel } = this;
    const panelId = 'bell-panel';
    button.type = 'button';
    button.innerHTML = BELL_ICON;
    button.setAttribute('aria-expanded', 'false');
    button.setAttribute('aria-controls', panelId);
    this.badge.translate = false;
    this.badge.hidden = true;
    button.append(this.badge);
    button.addEventListener('click', () => this.toggle());

    panel.id = panelId;
    panel.hidden = true;
    panel.setAttribute('role', 'region');
    panel.setAttribute('aria-label', i18n.t('bell.heading'));
    const head = create('div', 'bell-head');
    const heading = create('h2', 'bell-heading');
    heading.textContent = i18n.t('bell.heading');
    this.markAll.type = 'button';
    this.markAll.textContent = i18n.t('bell.markAllRead');
    this.markAll.addEventListener('click', () => void this.readAll());
    head.append(heading, this.markAll);
    this.empty.textContent = i18n.t('bell.empty');
    this.empty.hidden = true;
    this.status.hidden = true;
    this.list.setAttribute('aria-live', 'polite');
    const settings = create('a', 'bell-settings', 'bell-settings');
    settings.href = keepLang('/notifications.html');
    settings.textContent = i18n.t('bell.settings');
    panel.append(head, this.status, this.empty, this.list, settings);
    // Escape closes it wherever the focus is (a button that just disabled itself leaves it on the page).
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && !panel.hidden) this.close(true);
    });
    document.addEventListener('click', (ev) => {
      if (!panel.hidden && !this.root.contains(ev.target as Node)) this.close(false);
    });
    this.root.append(button, panel);
    this.renderCount();
  }

  /** Reads the unread count and follows new notifications live. */
  async start(): Promise<void> {
    await this.refreshCount().catch(() => undefined);
    this.root.dataset.state = 'ready';
    try {
      const socket = await liveSocket();
      socket.on('notification', (msg) => {
        const item = (msg as { notification?: InboxItem }).notification;
        if (item && typeof item.id === 'string') this.arrived(item);
      });
      let first = true;
      onEveryConnect(socket, () => {
        // The first connect follows the count just read; later ones may have missed events.
        if (!first) void this.refreshCount().catch(() => undefined);
        first = false;
        this.root.dataset.live = 'true';
      });
      socket.on('disconnect', () => {
        this.root.dataset.live = 'false';
      });
    } catch {
      // No live updates (the socket script could not load): the count still shows what was unread.
    }
  }

  private async refreshCount(): Promise<void> {
    const page = await loadInbox(true, COUNT_LIMIT);
    this.unread.clear();
    for (const item of page.items) if (item.readAt === null) this.unread.add(item.id);
    this.more = page.next !== null;
    this.renderCount();
    if (!this.panel.hidden) await this.loadList();
  }

  private arrived(item: InboxItem): void {
    if (this.items.some((i) => i.id === item.id)) return;
    if (item.readAt === null) this.unread.add(item.id);
    this.items.unshift(item);
    this.items.length = Math.min(this.items.length, LIST_LIMIT);
    this.renderCount();
    if (!this.panel.hidden) this.renderList();
  }

  private renderCount(): void {
    const { i18n } = this;
    const count = this.unread.size;
    const many = this.more || count > COUNT_LIMIT;
    this.button.dataset.count = String(count);
    this.button.setAttribute('aria-label', i18n.t('bell.label', { count: many ? COUNT_LIMIT : count }));
    this.badge.hidden = count === 0;
    // A hidden badge holds no text: screen scrapers and the pseudo-locale scans see no stray "0".
    setText(
      this.badge,
      count === 0 ? '' : many ? i18n.t('bell.badgeMany', { count: COUNT_LIMIT }) : i18n.number(count),
    );
    this.markAll.disabled = count === 0;
  }

  private toggle(): void {
    if (this.panel.hidden) void this.open();
    else this.close(false);
  }

  private async open(): Promise<void> {
    this.panel.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    await this.loadList();
  }

  private close(focusButton: boolean): void {
    this.panel.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
    if (focusButton) this.button.focus();
  }

  private async loadList(): Promise<void> {
    const { i18n } = this;
    if (this.items.length === 0) {
      this.status.hidden = false;
      setText(this.status, i18n.t('bell.loading'));
    }
    try {
      const page = await loadInbox(false, LIST_LIMIT);
      this.items = page.items;
      this.status.hidden = true;
      this.renderList();
    } catch {
      this.status.hidden = false;
      setText(this.status, i18n.t('bell.loadFailed'));
    }
  }

  private renderList(): void {
    this.empty.hidden = this.items.length > 0;
    this.list.replaceChildren(...this.items.map((item) => this.itemView(item)));
    this.panel.dataset.state = 'ready';
  }

  private itemView(item: InboxItem): HTMLLIElement {
    const { i18n } = this;
    const unread = item.readAt === null && this.unread.has(item.id);
    const li = create('li', 'bell-item', 'inbox-item');
    li.dataset.id = item.id;
    li.dataset.category = item.category;
    li.dataset.read = String(!unread);
    // Title and body are rendered by the API from the catalogue in the user's language.
    const title = create(item.url ? 'a' : 'strong', 'bell-item-title', 'inbox-title') as HTMLElement;
    title.dataset.from = 'api';
    title.textContent = item.title;
    if (item.url && title instanceof HTMLAnchorElement) {
      title.href = safeUrl(item.url);
      title.addEventListener('click', (ev) => {
        if (!unread) return;
        ev.preventDefault();
        const go = (): void => location.assign(title.href);
        markRead(item.id).then(go, go);
      });
    }
    const body = create('p', 'bell-item-body');
    body.dataset.from = 'api';
    body.textContent = item.body;
    const time = create('time', 'muted bell-item-time');
    time.dateTime = item.createdAt;
    time.translate = false;
    time.textContent = i18n.ago(item.createdAt);
    li.append(title, body, time);
    if (unread) {
      const marker = create('span', 'bell-sr-only');
      marker.textContent = i18n.t('bell.unread');
      const read = create('button', 'link-button', 'inbox-mark-read');
      read.type = 'button';
      read.textContent = i18n.t('bell.markRead');
      read.addEventListener('click', () => {
        read.disabled = true;
        markRead(item.id).then(
          () => {
            this.unread.delete(item.id);
            item.readAt = new Date().toISOString();
            this.renderCount();
            this.renderList();
          },
          () => {
            read.disabled = false;
          },
        );
      });
      li.prepend(marker);
      li.append(read);
    }
    return li;
  }

  private async readAll(): Promise<void> {
    this.markAll.disabled = true;
    try {
      await markAllRead();
      const now = new Date().toISOString();
      for (const item of this.items) item.readAt ??= now;
      this.unread.clear();
      this.more = false;
      this.renderCount();
      this.renderList();
    } catch {
      this.markAll.disabled = false;
    }
  }
}

/** A notification's link: a path on this site (never another origin, whatever the stored URL says). */
function safeUrl(url: string): string {
  try {
    const parsed = new URL(url, location.origin);
    if (parsed.origin !== location.origin) return keepLang('/');
    return keepLang(parsed.pathname + parsed.search + parsed.hash);
  } catch {
    return keepLang('/');
  }
}
