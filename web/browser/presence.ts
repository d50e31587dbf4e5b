import { timeAgo } from './api.js';

/**
 * The online/offline dot and "last seen" text. The vehicle is online while any of its devices is;
 * the API's answer seeds the state, live `presence` events (one per device) update it.
 */
export class PresenceBadge {
  private readonly devices = new Map<string, boolean>();
  private online = false;
  private lastSeenAt: string | null = null;

  constructor(private readonly root: HTMLElement) {}

  set(online: boolean, lastSeenAt: string | null): void {
    this.online = online;
    if (lastSeenAt && (!this.lastSeenAt || Date.parse(lastSeenAt) > Date.parse(this.lastSeenAt))) this.lastSeenAt = lastSeenAt;
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
    this.root.dataset.online = String(this.online);
    const state = this.root.querySelector('[data-role="state"]');
    const seen = this.root.querySelector('[data-role="seen"]');
    if (state) state.textContent = this.online ? 'Online' : 'Offline';
    if (seen) {
      const when = this.lastSeenAt ? timeAgo(this.lastSeenAt) : null;
      seen.textContent = this.online ? (when ? `· connected ${when}` : '') : when ? `· last seen ${when}` : '· never seen';
      if (this.lastSeenAt) this.root.title = new Date(this.lastSeenAt).toLocaleString();
    }
  }
}
