import type { Translator } from '@clutch/i18n';
import { setText } from './locale.js';

/**
 * The online/offline dot and "last seen" text. The vehicle is online while any of its devices is;
 * the API's answer seeds the state, live `presence` events (one per device) update it.
 */
export class PresenceBadge {
  private readonly devices = new Map<string, boolean>();
  private online = false;
  private lastSeenAt: string | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly i18n: Translator,
  ) {}

  set(online: boolean, lastSeenAt: string | null): void {
    this.online = online;
    if (lastSeenAt && (!this.lastSeenAt || Date.parse(lastSeenAt) > Date.parse(this.lastSeenAt)))
      this.lastSeenAt = lastSeenAt;
    this.render();
  }

  /** A device connected or went away at `at`. */
  update(deviceId: string, online: boolean, at: string): void {
    this.devices.set(deviceId, online);
    this.set([...this.devices.values()].some(Boolean), at);
  }

  /** Re-renders the relative "last seen" time; called every second. */
  tick(): void {
    this.render();
  }

  private render(): void {
    const { i18n } = this;
    this.root.dataset.online = String(this.online);
    setText(
      this.root.querySelector('[data-role="state"]'),
      i18n.t(this.online ? 'dashboard.presence.online' : 'dashboard.presence.offline'),
    );
    const ago = this.lastSeenAt ? i18n.ago(this.lastSeenAt) : null;
    let seen = '';
    if (this.online) seen = ago ? i18n.t('dashboard.presence.connected', { ago }) : '';
    else seen = ago ? i18n.t('dashboard.presence.lastSeen', { ago }) : i18n.t('dashboard.presence.neverSeen');
    setText(this.root.querySelector('[data-role="seen"]'), seen);
    if (this.lastSeenAt) this.root.title = i18n.dateTime(this.lastSeenAt, { dateStyle: 'medium', timeStyle: 'short' });
  }
}
